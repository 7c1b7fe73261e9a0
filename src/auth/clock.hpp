#pragma once
// The clock the auth module reasons in. Monotonic: nonce ages must not jump when the wall
// clock is stepped, and nonces never outlive the daemon that minted them (per-run secret).
#include <chrono>

namespace sipproxy::auth {

using Clock = std::chrono::steady_clock;
using Time = Clock::time_point;

}  // namespace sipproxy::auth
