#pragma once
// What a reload changes, as data: one Change per key (the reload's JSON answer, issue #17)
// with its text for people (the log and `sipproxyctl reload`), which is what diff()
// returns. Secrets are never carried, only that they changed.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"

namespace sipproxy::config {

// A value before or after: absent (a member added or removed), a boolean, an integer
// (durations in seconds, or ms for the *_ms keys), a string, a list of strings.
using ChangeValue =
    std::variant<std::monostate, bool, std::int64_t, std::string, std::vector<std::string>>;

struct Change {
    std::string key;  // "registrar.max_expires", "routes['pstn'].strip", "server.listen"
    ChangeValue before, after;
    std::string text;  // "registrar.max_expires: 7200 -> 3600"
};

// Every difference, in the order of diff()'s lines.
std::vector<Change> changes(const Config& before, const Config& after);

// "<hidden>": what before/after say for a secret (a password, an HA1) that changed.
inline constexpr const char* kHidden = "<hidden>";

// Of `changes`, the keys a running daemon reads only at start (restart_needed()'s table).
std::vector<std::string> restart_keys(const std::vector<Change>& changes);

}  // namespace sipproxy::config
