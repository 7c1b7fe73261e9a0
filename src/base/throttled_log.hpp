#pragma once
// Log lines that stand for many: at most one per key per interval, with the count of what
// it reports. A peer that sends thousands of forged requests, or a script that retries a
// refused call 100 times a second, costs one line every 10 s, not one per message.
// Bounded: at most `max_keys` keys are remembered (past that, keys whose interval is over
// are forgotten, or all of them: a few extra lines, bounded memory). Thread-safe.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/string_hash.hpp"

namespace sipproxy {

class ThrottledLog {
public:
    using Clock = std::chrono::steady_clock;

    explicit ThrottledLog(std::chrono::seconds interval = std::chrono::seconds(10),
                          std::size_t max_keys = 4096)
        : interval_(interval), max_keys_(max_keys) {}

    // Counts one event of `key`. When a line is due: the number of events it reports (this
    // one included; 1 for a key seen for the first time); otherwise nullopt.
    std::optional<std::uint64_t> note(std::string_view key, Clock::time_point now);

private:
    struct Entry {
        Clock::time_point logged;
        std::uint64_t unreported = 0;
    };
    std::chrono::seconds interval_;
    std::size_t max_keys_;
    std::mutex mu_;
    std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> entries_;
};

}  // namespace sipproxy
