#pragma once
// Requests per source over a sliding window, in a table of fixed size: memory stays the
// same whether ten sources or a million spoofed ones send (a spoofed-source flood only
// evicts entries, it cannot grow the table).
//
// The window is estimated from two fixed windows (the current one, and the previous one
// weighted by how much of it still overlaps the sliding window), which is exact for a
// steady rate and needs 8 bytes of counters per source. The table is 8-way set
// associative: a source lives in one set of 8 entries chosen by its hash; a new source
// takes an idle entry of its set, else the least recently seen one. A busy source is seen
// often and stays; what gets evicted is a source that sent little, and losing its count
// only makes the limit more lenient, never bans anybody.
//
// One table for the whole daemon, shared by the workers: SO_REUSEPORT spreads one
// source's datagrams over the workers by its port, so per-worker tables would let a source
// send workers times the limit (and dividing the limit by the workers would cut a phone,
// whose one port lands on one worker, to a fraction of it). Each set is guarded by one of
// kStripes mutexes (a set is 8 neighbouring slots): two workers wait for each other only
// when they count sources of the same stripe at the same instant.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "base/address_key.hpp"

namespace sipproxy::ingress {

class RateTracker {
public:
    using Clock = std::chrono::steady_clock;

    // capacity is rounded up to a power of two, at least 8.
    explicit RateTracker(std::size_t capacity = 65536);

    // Counts one request from `source` at `now`; returns the requests of that source in
    // the sliding window of length `window` ending now, this one included.
    std::uint32_t count(const AddressKey& source, Clock::time_point now,
                        std::chrono::milliseconds window);
    // Forgets a source (it was banned: its count starts again when the ban ends).
    void forget(const AddressKey& source);

    std::size_t capacity() const { return slots_.size(); }
    // Entries that replaced another source still inside its window.
    std::uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
    // Sources with a count in their window at `now`.
    std::size_t active(Clock::time_point now, std::chrono::milliseconds window) const;

private:
    static constexpr std::size_t kWays = 8;
    static constexpr std::size_t kStripes = 64;
    struct Slot {
        AddressKey key;
        std::int64_t window_index = -2;  // which fixed window `current` counts
        std::int64_t last_ms = 0;        // last request, for eviction
        std::uint32_t current = 0;
        std::uint32_t previous = 0;
    };
    static std::int64_t ms(Clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    }
    static bool idle(const Slot& s, std::int64_t index) { return s.window_index + 1 < index; }

    std::size_t set_of(const AddressKey& source) const {
        return AddressKeyHash{}(source) & set_mask_;
    }
    std::mutex& stripe(std::size_t set) const { return stripes_[set % kStripes]; }

    std::vector<Slot> slots_;
    std::size_t set_mask_ = 0;
    std::atomic<std::uint64_t> evictions_{0};
    mutable std::array<std::mutex, kStripes> stripes_;
};

}  // namespace sipproxy::ingress
