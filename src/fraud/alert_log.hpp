#pragma once
// Log lines for fraud-limit alerts, at most one per scope, limit and level per interval,
// with the count it stands for: a fraudster's script retrying a refused call 100 times a
// second writes one line every 10 s, not 1,000. Bounded: at most `max_keys` remembered.
// Thread-safe.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/string_hash.hpp"
#include "fraud/sliding_count.hpp"

namespace sipproxy::fraud {

class AlertLog {
public:
    explicit AlertLog(std::chrono::seconds interval = std::chrono::seconds(10),
                      std::size_t max_keys = 4096)
        : interval_(interval), max_keys_(max_keys) {}

    // Counts one alert; when a line is due, the number of alerts it reports (this one
    // included), otherwise nullopt.
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

}  // namespace sipproxy::fraud
