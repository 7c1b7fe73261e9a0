// Registrar / SqliteLocationStore at scale: N REGISTERs (one binding each, realistic field
// sizes) through Registrar::handle into a SqliteLocationStore, RSS before/after, insert rate,
// flush time, then a fresh process that opens the file and loads every binding.
//
//   registrar_bench [N] [FILE]      N defaults to 1,000,000; FILE to a temp file (removed)
//   registrar_bench --load FILE     the reload half alone (run by the first as a child)
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "registrar/registrar.hpp"
#include "registrar/sqlite_location_store.hpp"

using namespace sipproxy::registrar;
using Steady = std::chrono::steady_clock;

namespace {

double rss_mib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return -1;
}

double seconds_since(Steady::time_point start) {
    return std::chrono::duration<double>(Steady::now() - start).count();
}

int load(const std::filesystem::path& file) {
    double before = rss_mib();
    auto start = Steady::now();
    auto opened = SqliteLocationStore::open(file);
    if (!opened) {
        std::fprintf(stderr, "%s\n", opened.error().c_str());
        return 1;
    }
    double took = seconds_since(start);
    auto& store = **opened;
    std::printf("reload: %zu bindings in %.2f s (%.0f /s), RSS %.0f -> %.0f MiB\n", store.loaded(),
                took, static_cast<double>(store.loaded()) / took, before, rss_mib());

    // Lookups of random AORs, one thread.
    std::mt19937 rng(7);
    std::uniform_int_distribution<std::size_t> pick(0, store.loaded() ? store.loaded() - 1 : 0);
    const std::size_t lookups = 1'000'000;
    std::size_t hits = 0;
    char aor[64];
    auto now = Clock::now();
    start = Steady::now();
    for (std::size_t i = 0; i < lookups; ++i) {
        std::snprintf(aor, sizeof aor, "user%07zu@example.test", pick(rng));
        hits += store.lookup(aor, now).size();
    }
    took = seconds_since(start);
    std::printf("lookup: %.2f us each (%zu hits of %zu)\n", took * 1e6 / lookups, hits, lookups);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--load") return load(argv[2]);

    const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    std::filesystem::path file;
    std::filesystem::path temp_dir;
    if (argc > 2) {
        file = argv[2];
    } else {
        std::string tmpl = "/tmp/sipproxy-registrar-bench-XXXXXX";
        if (!mkdtemp(tmpl.data())) return 1;
        temp_dir = tmpl;
        file = temp_dir / "location.sqlite";
    }

    std::printf("bindings: %zu, file: %s\n", n, file.c_str());
    double rss_start = rss_mib();
    {
        auto opened = SqliteLocationStore::open(file);
        if (!opened) {
            std::fprintf(stderr, "%s\n", opened.error().c_str());
            return 1;
        }
        auto& store = **opened;
        Registrar registrar(store, RegistrarOptions{});

        RegisterRequest req;
        req.contacts.resize(1);
        req.expires = 3600;
        req.user_agent = "Yealink SIP-T46S 66.86.0.15";
        req.source.transport = "udp";
        char buf[128];
        auto start = Steady::now();
        for (std::size_t i = 0; i < n; ++i) {
            std::snprintf(buf, sizeof buf, "user%07zu@example.test", i);
            req.aor = buf;
            std::snprintf(buf, sizeof buf, "10.%zu.%zu.%zu", (i >> 16) & 255, (i >> 8) & 255,
                          i & 255);
            req.source.address = buf;
            req.source.port = static_cast<std::uint16_t>(1024 + i % 60000);
            std::snprintf(buf, sizeof buf, "sip:user%07zu@192.168.%zu.%zu:5060;transport=udp", i,
                          (i >> 8) & 255, i & 255);
            req.contacts[0].uri = buf;
            std::snprintf(buf, sizeof buf, "%08zx-5c1e-4b7a-9f3d-%012zx", i, i * 2654435761u);
            req.call_id = buf;
            req.cseq = 1;
            req.now = Clock::now();
            if (!registrar.handle(req).ok()) {
                std::fprintf(stderr, "REGISTER %zu failed\n", i);
                return 1;
            }
        }
        double insert = seconds_since(start);
        double rss_inserted = rss_mib();
        start = Steady::now();
        bool flushed = store.flush();
        double flush = seconds_since(start);
        std::printf("insert: %.2f s (%.0f REGISTER/s), RSS %.0f -> %.0f MiB (%.0f B/binding)\n",
                    insert, static_cast<double>(n) / insert, rss_start, rss_inserted,
                    (rss_inserted - rss_start) * 1048576.0 / static_cast<double>(n));
        std::printf("flush: %.2f s after the last insert (%s), RSS %.0f MiB\n", flush,
                    flushed ? "ok" : store.last_error().c_str(), rss_mib());
    }
    std::error_code ec;
    auto size_mib = [&](const std::filesystem::path& p) {
        auto size = std::filesystem::file_size(p, ec);
        return ec ? 0.0 : static_cast<double>(size) / 1048576.0;
    };
    std::printf("file: %.0f MiB (WAL left: %.0f MiB)\n", size_mib(file),
                size_mib(file.string() + "-wal"));
    std::fflush(stdout);

    // The reload in a fresh process, so that its RSS is its own.
    int status = 0;
    pid_t child = fork();
    if (child == 0) {
        execl("/proc/self/exe", argv[0], "--load", file.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    waitpid(child, &status, 0);
    if (!temp_dir.empty()) std::filesystem::remove_all(temp_dir, ec);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
