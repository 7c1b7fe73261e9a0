#include "base/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace sipproxy::log {
namespace {
// The one process-wide setting: the level, changed on start and on reload.
std::atomic<Level> g_level{Level::info};
}  // namespace

void set_level(Level l) { g_level.store(l, std::memory_order_relaxed); }
Level level() { return g_level.load(std::memory_order_relaxed); }

bool set_level(std::string_view name) {
    for (int i = 0; i <= static_cast<int>(Level::off); ++i) {
        if (level_name(static_cast<Level>(i)) == name) {
            set_level(static_cast<Level>(i));
            return true;
        }
    }
    return false;
}

std::string_view level_name(Level l) {
    switch (l) {
        case Level::trace: return "trace";
        case Level::debug: return "debug";
        case Level::info: return "info";
        case Level::warn: return "warn";
        case Level::error: return "error";
        case Level::off: return "off";
    }
    return "?";
}

void write(Level l, std::string_view call_id, std::string_view message) {
    using namespace std::chrono;
    auto now = system_clock::now();
    std::time_t t = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[32];
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string line;
    line.reserve(64 + call_id.size() + message.size());
    line += ts;
    line += fmt::format(".{:03}Z {:5} ", ms, level_name(l));
    // Text from peers (a Call-ID, a user name, a URI) may hold control characters: one
    // log line stays one line, and a terminal or fail2ban never sees them raw.
    auto append_clean = [&line](std::string_view s) {
        for (char c : s) {
            const auto u = static_cast<unsigned char>(c);
            line += (u < 0x20 || u == 0x7f) ? '?' : c;
        }
    };
    if (!call_id.empty()) {
        line += "[";
        append_clean(call_id);
        line += "] ";
    }
    append_clean(message);
    line += '\n';
    // One fwrite per line keeps lines from different threads whole.
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace sipproxy::log
