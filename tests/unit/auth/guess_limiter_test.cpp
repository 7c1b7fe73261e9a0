// Password guesses counted per source: the limit within the window bans, a success
// forgets, the memory is bounded.
#include "auth/guess_limiter.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace sipproxy::auth;
using namespace std::chrono_literals;

TEST_CASE("guess limiter: the limit within the window, once") {
    GuessLimiter g;
    g.configure(3, 600s, 3600s);
    CHECK(g.ban_time() == 3600s);
    const Time t0 = Time(1000000s);
    CHECK(g.failure("192.0.2.1", t0) == 0);
    CHECK(g.failure("192.0.2.1", t0 + 1s) == 0);
    CHECK(g.failure("192.0.2.2", t0 + 2s) == 0);  // another source: its own count
    CHECK(g.failure("192.0.2.1", t0 + 3s) == 3);  // ban now
    CHECK(g.failure("192.0.2.1", t0 + 4s) == 0);  // counted afresh after the ban
}

TEST_CASE("guess limiter: an old window is forgotten, a success forgets") {
    GuessLimiter g;
    g.configure(3, 60s);
    const Time t0 = Time(1000000s);
    g.failure("a", t0);
    g.failure("a", t0 + 1s);
    CHECK(g.failure("a", t0 + 61s) == 0);  // a new window: 1
    g.failure("a", t0 + 62s);
    g.success("a");
    CHECK(g.failure("a", t0 + 63s) == 0);
    CHECK(g.failure("a", t0 + 64s) == 0);
    CHECK(g.failure("a", t0 + 65s) == 3);
    g.configure(0, 60s);  // off
    for (int i = 0; i < 10; ++i) CHECK(g.failure("b", t0) == 0);
}

TEST_CASE("guess limiter: a spoofed-source flood stays within the cap") {
    GuessLimiter g(100);
    g.configure(3, 600s);
    const Time t0 = Time(1000000s);
    for (int i = 0; i < 10000; ++i) g.failure("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), t0 + std::chrono::seconds(i));
    CHECK(g.tracked() <= 100);
    // A real guesser still gets caught.
    g.failure("192.0.2.9", t0 + 20000s);
    g.failure("192.0.2.9", t0 + 20001s);
    CHECK(g.failure("192.0.2.9", t0 + 20002s) == 3);
}
