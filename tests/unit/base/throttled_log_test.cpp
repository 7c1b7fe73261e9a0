#include <catch2/catch.hpp>

#include "base/throttled_log.hpp"

using sipproxy::ThrottledLog;
using namespace std::chrono_literals;

TEST_CASE("throttled log: one line per key per interval, with the count it stands for") {
    ThrottledLog log(10s);
    const auto t0 = ThrottledLog::Clock::time_point{} + 1h;
    CHECK(log.note("credentials|192.0.2.1", t0) == 1u);  // the first one is logged at once
    for (int i = 0; i < 99; ++i) CHECK_FALSE(log.note("credentials|192.0.2.1", t0 + 1s).has_value());
    // Another key has its own line.
    CHECK(log.note("ack|192.0.2.1", t0 + 2s) == 1u);
    CHECK_FALSE(log.note("credentials|192.0.2.1", t0 + 9s).has_value());
    // The interval is over: one line for the 100 since the last one (this one included).
    CHECK(log.note("credentials|192.0.2.1", t0 + 10s) == 101u);
    CHECK_FALSE(log.note("credentials|192.0.2.1", t0 + 11s).has_value());
    CHECK(log.note("credentials|192.0.2.1", t0 + 25s) == 2u);
}

TEST_CASE("throttled log: a flood of distinct keys is bounded; old keys are forgotten first") {
    ThrottledLog log(10s, 4);
    const auto t0 = ThrottledLog::Clock::time_point{} + 1h;
    CHECK(log.note("a", t0) == 1u);
    CHECK(log.note("b", t0 + 20s) == 1u);
    CHECK(log.note("c", t0 + 20s) == 1u);
    CHECK(log.note("d", t0 + 20s) == 1u);
    // Full: "a" (its interval over) makes room; "b" is still remembered.
    CHECK(log.note("e", t0 + 21s) == 1u);
    CHECK_FALSE(log.note("b", t0 + 22s).has_value());
    // Full again, all recent: everything is forgotten rather than grow ("a" was forgotten
    // before: a first line again).
    CHECK(log.note("a", t0 + 22s) == 1u);
    CHECK(log.note("b", t0 + 23s) == 1u);  // "b" too: a first line again
}
