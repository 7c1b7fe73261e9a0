#pragma once
// Levelled logging, one line per event, to stderr (systemd style). Lines about a call
// carry its Call-ID so `grep` on a Call-ID tells the story of that call.
#include <fmt/core.h>

#include <string_view>

namespace sipproxy::log {

enum class Level { trace = 0, debug, info, warn, error, off };

// Returns false (and leaves the level unchanged) for an unknown name.
bool set_level(std::string_view name);
void set_level(Level level);
Level level();
inline bool enabled(Level l) { return l >= level(); }
std::string_view level_name(Level l);

// Besides stderr, each line also to syslog(3) ([server] log_syslog), without the time
// (syslog stamps its own), at the priority of its level (priority_of). `facility` is a
// name: "daemon", "user", "local0" .. "local7". Returns false (and changes nothing) for
// an unknown facility name. Calling it again (reload) reopens with the new facility.
bool set_syslog(bool enabled, std::string_view facility);
bool syslog_enabled();
// The syslog facility code of a name (LOG_LOCAL0, ...), or -1 when unknown.
int syslog_facility(std::string_view name);
// LOG_DEBUG for trace and debug, LOG_INFO, LOG_WARNING, LOG_ERR.
int syslog_priority(Level l);

// Writes one line: "<time> <level> [call-id] message". call_id may be empty.
void write(Level l, std::string_view call_id, std::string_view message);

template <class... Args>
void emit(Level l, std::string_view call_id, fmt::format_string<Args...> f, Args&&... args) {
    if (!enabled(l)) return;
    write(l, call_id, fmt::format(f, std::forward<Args>(args)...));
}

template <class... Args>
void trace(fmt::format_string<Args...> f, Args&&... a) { emit(Level::trace, {}, f, std::forward<Args>(a)...); }
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) { emit(Level::debug, {}, f, std::forward<Args>(a)...); }
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... a) { emit(Level::info, {}, f, std::forward<Args>(a)...); }
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... a) { emit(Level::warn, {}, f, std::forward<Args>(a)...); }
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... a) { emit(Level::error, {}, f, std::forward<Args>(a)...); }

// The same, about one call.
template <class... Args>
void call(Level l, std::string_view call_id, fmt::format_string<Args...> f, Args&&... a) {
    emit(l, call_id, f, std::forward<Args>(a)...);
}

}  // namespace sipproxy::log
