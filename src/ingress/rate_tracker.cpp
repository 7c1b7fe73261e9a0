#include "ingress/rate_tracker.hpp"

#include <bit>

namespace sipproxy::ingress {

RateTracker::RateTracker(std::size_t capacity) {
    std::size_t n = std::bit_ceil(capacity < kWays ? kWays : capacity);
    slots_.resize(n);
    set_mask_ = n / kWays - 1;
}

std::uint32_t RateTracker::count(const AddressKey& source, Clock::time_point now,
                                 std::chrono::milliseconds window) {
    const std::int64_t w = window.count() > 0 ? window.count() : 1;
    const std::int64_t t = ms(now);
    const std::int64_t index = t / w;
    const std::size_t set_index = set_of(source);
    std::lock_guard lock(stripe(set_index));
    Slot* set = &slots_[set_index * kWays];

    Slot* slot = nullptr;
    Slot* free = nullptr;
    Slot* oldest = set;
    for (std::size_t i = 0; i < kWays; ++i) {
        Slot& s = set[i];
        if (s.key == source && s.window_index >= -1) {
            slot = &s;
            break;
        }
        if (!free && idle(s, index)) free = &s;
        if (s.last_ms < oldest->last_ms) oldest = &s;
    }
    if (!slot) {
        slot = free ? free : oldest;
        if (!free) evictions_.fetch_add(1, std::memory_order_relaxed);
        *slot = Slot{source, index, t, 0, 0};
    }
    if (slot->window_index != index) {
        slot->previous = slot->window_index + 1 == index ? slot->current : 0;
        slot->current = 0;
        slot->window_index = index;
    }
    slot->last_ms = t;
    if (slot->current != UINT32_MAX) ++slot->current;
    // The previous window still covers (w - elapsed) / w of the sliding one.
    const std::int64_t elapsed = t - index * w;
    const std::uint64_t carried = static_cast<std::uint64_t>(slot->previous) *
                                  static_cast<std::uint64_t>(w - elapsed) /
                                  static_cast<std::uint64_t>(w);
    const std::uint64_t total = carried + slot->current;
    return total > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(total);
}

void RateTracker::forget(const AddressKey& source) {
    const std::size_t set_index = set_of(source);
    std::lock_guard lock(stripe(set_index));
    Slot* set = &slots_[set_index * kWays];
    for (std::size_t i = 0; i < kWays; ++i)
        if (set[i].key == source) set[i] = Slot{};
}

std::size_t RateTracker::active(Clock::time_point now, std::chrono::milliseconds window) const {
    const std::int64_t w = window.count() > 0 ? window.count() : 1;
    const std::int64_t index = ms(now) / w;
    std::size_t n = 0;
    for (std::size_t set = 0; set * kWays < slots_.size(); ++set) {
        std::lock_guard lock(stripe(set));
        for (std::size_t i = 0; i < kWays; ++i) {
            const Slot& s = slots_[set * kWays + i];
            if (s.window_index >= -1 && !idle(s, index)) ++n;
        }
    }
    return n;
}

}  // namespace sipproxy::ingress
