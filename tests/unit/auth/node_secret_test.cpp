#include "auth/node_secret.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace sipproxy::auth;
namespace fs = std::filesystem;

namespace {
struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/sipproxy-secret-XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        path = tmpl;
    }
    ~TempDir() { fs::remove_all(path); }
};
}  // namespace

TEST_CASE("the node secret is created once (0600) and read back the same", "[node_secret]") {
    TempDir d;
    const auto file = d.path / "node.secret";
    auto a = load_or_create_node_secret(file);
    REQUIRE(a.has_value());
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    std::string warning;
    auto b = load_or_create_node_secret(file, &warning);
    REQUIRE(b.has_value());
    CHECK(a.value().bytes == b.value().bytes);
    CHECK(warning.empty());
    // Another file, another secret.
    auto c = load_or_create_node_secret(d.path / "other.secret");
    REQUIRE(c.has_value());
    CHECK(c.value().bytes != a.value().bytes);
}

TEST_CASE("a node secret file that is not 64 hex digits is an error naming it", "[node_secret]") {
    TempDir d;
    const auto file = d.path / "bad.secret";
    std::ofstream(file) << "not hex\n";
    auto r = load_or_create_node_secret(file);
    REQUIRE(!r.has_value());
    CHECK(r.error().find(file.string()) != std::string::npos);
    auto missing_dir = load_or_create_node_secret(d.path / "no" / "such" / "dir");
    CHECK(!missing_dir.has_value());
}

TEST_CASE("a shared secret file gives the same secret; loose permissions warn", "[node_secret]") {
    TempDir d;
    const auto file = d.path / "shared.secret";
    std::ofstream(file) << std::string(64, 'a') << "\n";
    ::chmod(file.c_str(), 0644);
    std::string warning;
    auto r = load_or_create_node_secret(file, &warning);
    REQUIRE(r.has_value());
    for (auto b : r.value().bytes) CHECK(b == 0xaa);
    CHECK(warning.find("0600") != std::string::npos);
}
