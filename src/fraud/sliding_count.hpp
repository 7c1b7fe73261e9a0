#pragma once
// How many events fell in the last Buckets x BucketSeconds seconds, in buckets: an event
// counts for between (Buckets - 1) and Buckets bucket lengths (a minute of 1 s buckets:
// 59 to 60 s). Fixed size, no allocation; not thread-safe (its owner locks).
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>

namespace sipproxy::fraud {

using Clock = std::chrono::steady_clock;

template <std::size_t Buckets, std::int64_t BucketSeconds>
class SlidingCount {
public:
    void add(Clock::time_point now, std::uint32_t n = 1) {
        const std::int64_t e = epoch(now);
        if (last_ == kNever || e - last_ >= static_cast<std::int64_t>(Buckets)) {
            counts_.fill(0);
            last_ = e;
        }
        // Buckets between the newest written and now hold events older than the window.
        for (; last_ < e; ++last_) counts_[slot(last_ + 1)] = 0;
        counts_[slot(last_)] += n;
    }

    std::uint32_t count(Clock::time_point now) const {
        if (last_ == kNever) return 0;
        const std::int64_t e = epoch(now);
        const std::int64_t first = e - static_cast<std::int64_t>(Buckets) + 1;
        std::uint32_t n = 0;
        for (std::int64_t k = std::max(first, last_ - static_cast<std::int64_t>(Buckets) + 1);
             k <= last_; ++k)
            n += counts_[slot(k)];
        return n;
    }

private:
    static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();
    static std::int64_t epoch(Clock::time_point t) {
        const auto s = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
        return s >= 0 ? s / BucketSeconds : (s - BucketSeconds + 1) / BucketSeconds;
    }
    static std::size_t slot(std::int64_t epoch) {
        const auto b = static_cast<std::int64_t>(Buckets);
        return static_cast<std::size_t>(((epoch % b) + b) % b);
    }

    std::array<std::uint32_t, Buckets> counts_{};
    std::int64_t last_ = kNever;  // the epoch of the newest bucket written
};

}  // namespace sipproxy::fraud
