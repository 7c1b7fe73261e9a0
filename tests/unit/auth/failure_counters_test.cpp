#include "auth/failure_counters.hpp"

#include <catch2/catch.hpp>
#include <thread>

using namespace sipproxy::auth;
using namespace std::chrono_literals;

namespace {
const Time t0 = Time(100s);
}

TEST_CASE("failures are counted per source and per user", "[counters]") {
    FailureCounters c;
    c.record("192.0.2.1", "alice", t0);
    c.record("192.0.2.1", "bob", t0 + 1s);
    c.record("192.0.2.2", "alice", t0 + 2s);
    c.record("192.0.2.1", "", t0 + 3s);
    CHECK(c.failures_from("192.0.2.1") == 3);
    CHECK(c.failures_from("192.0.2.2") == 1);
    CHECK(c.failures_from("192.0.2.3") == 0);
    CHECK(c.failures_for_user("alice") == 2);
    CHECK(c.failures_for_user("bob") == 1);
    CHECK(c.failures_for_user("") == 0);

    auto s = c.snapshot();
    CHECK(s.total == 4);
    CHECK(s.evicted == 0);
    REQUIRE(s.by_source.size() == 2);
    CHECK(s.by_source[0].key == "192.0.2.1");
    CHECK(s.by_source[0].failures == 3);
    CHECK(s.by_source[0].last == t0 + 3s);
    REQUIRE(s.by_user.size() == 2);
    CHECK(s.by_user[0].key == "alice");
    CHECK(s.by_user[1].key == "bob");

    auto top1 = c.snapshot(1);
    CHECK(top1.by_source.size() == 1);
    CHECK(top1.by_user.size() == 1);
}

TEST_CASE("the maps stay bounded, evicting the least recently failed", "[counters]") {
    FailureCounters c(8, 1);
    c.record("keep", "", t0);
    for (int i = 0; i < 1000; ++i) {
        c.record("10.0.0." + std::to_string(i), "user" + std::to_string(i), t0);
        c.record("keep", "", t0);  // stays most recent
    }
    auto s = c.snapshot(100);
    CHECK(s.by_source.size() == 8);
    CHECK(s.by_user.size() == 8);
    CHECK(c.failures_from("keep") == 1001);
    CHECK(c.failures_from("10.0.0.0") == 0);
    CHECK(s.evicted > 0);
    CHECK(s.total == 2001);
}

TEST_CASE("long keys are cut", "[counters]") {
    FailureCounters c;
    std::string huge(10000, 'u');
    c.record("", huge, t0);
    c.record("", huge + "different-tail", t0);
    CHECK(c.failures_for_user(huge) == 2);
    auto s = c.snapshot();
    REQUIRE(s.by_user.size() == 1);
    CHECK(s.by_user[0].key.size() == FailureCounters::max_key_length);
}

TEST_CASE("concurrent recording loses nothing", "[counters]") {
    FailureCounters c;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 1000; ++i)
                c.record("203.0.113." + std::to_string(i % 10), "u" + std::to_string(t), t0);
        });
    for (auto& th : threads) th.join();
    CHECK(c.snapshot().total == 4000);
    CHECK(c.failures_from("203.0.113.0") == 400);
    CHECK(c.failures_for_user("u3") == 1000);
}
