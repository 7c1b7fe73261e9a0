#include "base/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <utility>

#include <syslog.h>

namespace sipproxy::log {
namespace {
// The one process-wide setting: the level, changed on start and on reload.
std::atomic<Level> g_level{Level::info};
std::atomic<bool> g_syslog{false};
}  // namespace

int syslog_facility(std::string_view name) {
    static constexpr std::pair<std::string_view, int> names[] = {
        {"daemon", LOG_DAEMON}, {"user", LOG_USER},     {"local0", LOG_LOCAL0},
        {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
        {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
        {"local7", LOG_LOCAL7}};
    for (const auto& [n, code] : names)
        if (n == name) return code;
    return -1;
}

int syslog_priority(Level l) {
    switch (l) {
        case Level::trace:
        case Level::debug: return LOG_DEBUG;
        case Level::info: return LOG_INFO;
        case Level::warn: return LOG_WARNING;
        case Level::error:
        case Level::off: return LOG_ERR;
    }
    return LOG_INFO;
}

bool set_syslog(bool enabled, std::string_view facility) {
    const int code = syslog_facility(facility);
    if (code < 0) return false;
    if (enabled) {
        // LOG_NDELAY: the socket is opened now, before a sandbox could forbid it.
        ::openlog("sipproxyd", LOG_PID | LOG_NDELAY, code);
        g_syslog.store(true, std::memory_order_release);
    } else if (g_syslog.exchange(false, std::memory_order_acq_rel)) {
        ::closelog();
    }
    return true;
}

bool syslog_enabled() { return g_syslog.load(std::memory_order_acquire); }

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
    const std::size_t prefix = line.size();
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
    if (syslog_enabled()) {
        // The line without its time and newline: "info  [call-id] message" minus the level,
        // which the priority carries.
        const auto text = std::string_view(line).substr(prefix, line.size() - prefix - 1);
        ::syslog(syslog_priority(l), "%.*s", static_cast<int>(text.size()), text.data());
    }
}

}  // namespace sipproxy::log
