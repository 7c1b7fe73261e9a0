#pragma once
// Log lines about rejected traffic, bounded: the first rejection of a source for a reason
// is logged at once, the next ones of the same interval only as a count when the interval
// ends, and at most `budget` lines per interval are written in all (a spoofed-source flood
// has a million sources: what is over the budget becomes one summary line). 400,000 bad
// datagrams from one source write two lines, not 400,000.
//   rejected: source=192.0.2.7 reason="Malformed CSeq" count=1
//   rejected: source=192.0.2.7 reason="Malformed CSeq" count=399999 interval=10s
//   rejected: 12000 more from 9000 sources not logged one by one interval=10s
// One per worker (not thread-safe).
#include <chrono>
#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "base/address_key.hpp"

namespace sipproxy::ingress {

class RejectLog {
public:
    using Clock = std::chrono::steady_clock;
    struct Options {
        std::chrono::seconds interval{10};
        std::size_t budget = 50;          // lines per interval
        std::size_t max_sources = 4096;   // counts kept per interval
    };
    RejectLog() : RejectLog(Options{}) {}
    explicit RejectLog(Options o) : options_(o) {}

    // `reason` must point to static storage (it is kept, not copied).
    void record(const AddressKey& source, std::string_view reason, Clock::time_point now);
    // Writes the counts of the interval that ended, if it did.
    void tick(Clock::time_point now);
    // Lines written since start (for tests).
    std::uint64_t lines() const { return lines_; }

private:
    struct Key {
        AddressKey source;
        const char* reason;
        std::size_t length;
        bool operator==(const Key&) const = default;
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const {
            return AddressKeyHash{}(k.source) ^ (reinterpret_cast<std::uintptr_t>(k.reason) * 31);
        }
    };
    void emit(const AddressKey& source, std::string_view reason, std::uint64_t count, bool summary);

    Options options_;
    std::unordered_map<Key, std::uint64_t, KeyHash> suppressed_;  // count since the first line
    Clock::time_point interval_start_{};
    std::size_t lines_this_interval_ = 0;
    std::uint64_t over_budget_ = 0;
    std::unordered_map<AddressKey, bool, AddressKeyHash> over_budget_sources_;
    std::uint64_t lines_ = 0;
};

}  // namespace sipproxy::ingress
