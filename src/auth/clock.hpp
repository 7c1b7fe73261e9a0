#pragma once
// The clocks the auth module reasons in.
//
// Ages of local state (nonce counts, failed attempts, throttles) are monotonic (`Time`):
// they must not jump when the wall clock is stepped. Nonces themselves carry wall-clock
// seconds (`WallTime`), because a challenge issued by one cluster node is answered at
// another node, on another host, whose monotonic clock has an unrelated origin. A `Now`
// is one reading of both.
#include <chrono>

namespace sipproxy::auth {

using Clock = std::chrono::steady_clock;
using Time = Clock::time_point;
using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;

struct Now {
    Time mono;
    WallTime wall;

    static Now read() { return {Clock::now(), WallClock::now()}; }
    // Tests: the same instant on both clocks, given on the monotonic one (wall = mono's
    // count since its epoch, an arbitrary but fixed pairing).
    static Now at(Time t) {
        return {t, WallTime(std::chrono::duration_cast<WallTime::duration>(t.time_since_epoch()))};
    }
};

inline Now operator+(Now n, Clock::duration d) {
    return {n.mono + d, n.wall + std::chrono::duration_cast<WallTime::duration>(d)};
}

}  // namespace sipproxy::auth
