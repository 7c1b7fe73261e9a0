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

TEST_CASE("guess limiter, cluster: failures are noted for sharing, others' add up to the limit") {
    GuessLimiter a, b;
    a.configure(5, 600s);
    b.configure(5, 600s);
    const Time t0 = Time(1000000s);
    CHECK(a.take_shared().empty());  // sharing off: nothing noted
    a.failure("192.0.2.1", t0);
    CHECK(a.take_shared().empty());
    a.share(true);
    b.share(true);
    CHECK(a.failure("192.0.2.1", t0 + 1s) == 0);  // 2 at A (1 before sharing)
    CHECK(a.failure("192.0.2.1", t0 + 2s) == 0);  // 3
    auto from_a = a.take_shared();
    REQUIRE(from_a.size() == 1);
    CHECK(from_a[0].source == "192.0.2.1");
    CHECK(from_a[0].failures == 2);
    CHECK_FALSE(from_a[0].reset);
    CHECK(a.take_shared().empty());  // taken
    // B saw 1 of its own, then A's 2: 3 of 5; added failures are not noted again (no echo).
    CHECK(b.failure("192.0.2.1", t0 + 2s) == 0);
    b.take_shared();
    CHECK(b.add("192.0.2.1", 2, false, t0 + 2s) == 0);
    CHECK(b.take_shared().empty());
    CHECK(b.failure("192.0.2.1", t0 + 3s) == 0);  // 4
    // One more from anywhere reaches 5: an added batch can carry it past the limit.
    CHECK(b.add("192.0.2.1", 3, false, t0 + 3s) == 7);
    CHECK(b.tracked() == 0);  // banned: counting starts anew
}

TEST_CASE("guess limiter, cluster: a success is shared as a reset before later failures") {
    GuessLimiter a, b;
    a.configure(3, 600s);
    b.configure(3, 600s);
    a.share(true);
    const Time t0 = Time(1000000s);
    b.failure("s", t0);
    b.failure("s", t0);
    a.failure("s", t0);
    a.success("s");
    a.failure("s", t0 + 1s);
    auto shared = a.take_shared();
    REQUIRE(shared.size() == 1);
    CHECK(shared[0].reset);
    CHECK(shared[0].failures == 1);
    // At B: the reset forgets B's 2, then 1: no ban; two more needed.
    CHECK(b.add("s", shared[0].failures, shared[0].reset, t0 + 1s) == 0);
    CHECK(b.failure("s", t0 + 2s) == 0);
    CHECK(b.failure("s", t0 + 2s) == 3);
}

TEST_CASE("guess limiter, cluster: a batch shares a bounded number of sources") {
    GuessLimiter g;
    g.configure(10, 600s);
    g.share(true);
    const Time t0 = Time(1000000s);
    for (int i = 0; i < 5000; ++i) g.failure("198.51." + std::to_string(i / 256) + "." + std::to_string(i % 256), t0);
    CHECK(g.take_shared().size() == GuessLimiter::kMaxShared);
    CHECK(g.tracked() == 5000);  // every one still counted here
    g.failure("192.0.2.1", t0);
    CHECK(g.take_shared().size() == 1);  // room again in the next batch
}

TEST_CASE("guess limiter, cluster: the first failure noted after a batch is told at once") {
    GuessLimiter g;
    g.configure(10, 600s);
    g.share(true);
    int kicks = 0;
    g.on_shared([&] { ++kicks; });
    const Time t0 = Time(1000000s);
    g.failure("a", t0);
    g.failure("b", t0);  // waits with "a": no second kick
    g.success("a");
    CHECK(kicks == 1);
    CHECK(g.take_shared().size() == 2);
    g.failure("a", t0);
    CHECK(kicks == 2);
}
