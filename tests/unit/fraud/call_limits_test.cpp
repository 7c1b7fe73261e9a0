// The [[fraud]] counters with an injected clock: thresholds trip exactly, windows slide,
// concurrent counts come back to zero, idle entries are freed.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "fraud/call_limits.hpp"

using namespace sipproxy;
using namespace std::chrono_literals;
using fraud::CallLimits;
using fraud::Limit;

namespace {

const fraud::Clock::time_point t0 = fraud::Clock::time_point{} + 1000h;

config::FraudRule rule(std::string user, std::string route = "", bool total = false) {
    config::FraudRule r;
    r.user = std::move(user);
    r.route = std::move(route);
    r.total = total;
    return r;
}

std::string call(int n) {
    return "call-" + std::to_string(n) + "\ntag";
}

}  // namespace

TEST_CASE("sliding count: an event counts for 59 to 60 s in a minute of 1 s buckets") {
    fraud::SlidingCount<60, 1> m;
    CHECK(m.count(t0) == 0);
    m.add(t0);
    m.add(t0 + 500ms);
    m.add(t0 + 30s);
    CHECK(m.count(t0 + 30s) == 3);
    CHECK(m.count(t0 + 59s) == 3);
    CHECK(m.count(t0 + 60s) == 1);  // the first two are a minute old
    CHECK(m.count(t0 + 89s) == 1);
    CHECK(m.count(t0 + 90s) == 0);
    m.add(t0 + 10h);  // long after: the old buckets are gone
    CHECK(m.count(t0 + 10h) == 1);
    fraud::SlidingCount<96, 900> d;
    for (int i = 0; i < 24; ++i) d.add(t0 + std::chrono::hours(i));
    CHECK(d.count(t0 + 23h) == 24);
    CHECK(d.count(t0 + 24h) == 23);
    CHECK(d.count(t0 + 46h + 45min) == 1);  // the last one, 23 h 45 min old
    CHECK(d.count(t0 + 47h) == 0);
    CHECK(d.count(t0 + 48h) == 0);
}

TEST_CASE("calls_per_minute: critical N admits N calls and refuses call N+1; warning at W") {
    auto r = rule("*");
    r.calls_per_minute = {3, 5};
    const std::vector rules{r};
    CallLimits limits;
    for (int i = 1; i <= 5; ++i) {
        auto v = limits.admit(rules, "alice", "", call(i), t0 + std::chrono::seconds(i));
        CHECK_FALSE(v.refused);
        if (i < 3) {
            CHECK(v.warnings.empty());
        } else {
            REQUIRE(v.warnings.size() == 1);
            CHECK(v.warnings[0].limit == Limit::CallsPerMinute);
            CHECK(v.warnings[0].value == static_cast<unsigned>(i));
            CHECK(v.warnings[0].threshold == 3);
            CHECK(v.warnings[0].scope == fraud::Scope{"alice", "", false});
        }
        limits.release(call(i), t0 + std::chrono::seconds(i));
    }
    auto v = limits.admit(rules, "alice", "", call(6), t0 + 10s);
    REQUIRE(v.refused);
    CHECK(v.refused->limit == Limit::CallsPerMinute);
    CHECK(v.refused->value == 6);
    CHECK(v.refused->threshold == 5);
    CHECK(limits.held() == 0);  // a refused call is not held
    // Another user has a count of its own.
    CHECK_FALSE(limits.admit(rules, "bob", "", call(7), t0 + 10s).refused);
    // Refused calls are not counted: a minute after the first call, one slot is free.
    CHECK(limits.admit(rules, "alice", "", call(8), t0 + 60s).refused);
    CHECK_FALSE(limits.admit(rules, "alice", "", call(9), t0 + 61s).refused);
    CHECK(limits.admit(rules, "alice", "", call(10), t0 + 61s).refused);
}

TEST_CASE("concurrent_calls: the limit holds until a call is released; zero after all end") {
    auto r = rule("*");
    r.concurrent_calls = {0, 2};
    const std::vector rules{r};
    CallLimits limits;
    CHECK_FALSE(limits.admit(rules, "alice", "", call(1), t0).refused);
    CHECK_FALSE(limits.admit(rules, "alice", "", call(2), t0).refused);
    auto v = limits.admit(rules, "alice", "", call(3), t0);
    REQUIRE(v.refused);
    CHECK(v.refused->limit == Limit::ConcurrentCalls);
    CHECK(v.refused->value == 3);
    CHECK(limits.held() == 2);
    limits.release(call(1), t0 + 1s);
    limits.release(call(1), t0 + 1s);  // a second final event for it changes nothing
    limits.release(call(3), t0 + 1s);  // never admitted: nothing to give back
    auto rows = limits.list(rules, "alice", t0 + 1s);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].value == 1);
    CHECK_FALSE(limits.admit(rules, "alice", "", call(4), t0 + 1s).refused);
    CHECK(limits.admit(rules, "alice", "", call(5), t0 + 1s).refused);
    limits.release(call(2), t0 + 2s);
    limits.release(call(4), t0 + 2s);
    CHECK(limits.held() == 0);
    rows = limits.list(rules, "alice", t0 + 2s);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].value == 0);
    CHECK(rows[0].critical == 2);
}

TEST_CASE("a Call-ID reused while its call is up: both counts go back at its end") {
    auto r = rule("*");
    r.concurrent_calls = {0, 5};
    const std::vector rules{r};
    CallLimits limits;
    CHECK_FALSE(limits.admit(rules, "alice", "", call(1), t0).refused);
    CHECK_FALSE(limits.admit(rules, "alice", "", call(1), t0).refused);
    CHECK(limits.list(rules, "alice", t0)[0].value == 2);
    CHECK(limits.held() == 1);
    limits.release(call(1), t0);
    CHECK(limits.list(rules, "alice", t0)[0].value == 0);
}

TEST_CASE("route limits per user and in total; a named user's rule replaces the \"*\" one") {
    auto every = rule("*", "intl");
    every.calls_per_day = {0, 2};
    auto boss = rule("boss", "intl");
    boss.calls_per_day = {0, 4};
    auto total = rule("*", "intl", true);
    total.calls_per_minute = {0, 5};
    const std::vector rules{every, boss, total};
    CallLimits limits;
    int n = 0;
    auto admit = [&](const char* user, const char* route, fraud::Clock::time_point t) {
        auto v = limits.admit(rules, user, route, call(++n), t);
        limits.release(call(n), t);
        return v;
    };
    // Calls off the route are not counted by route rules.
    for (int i = 0; i < 5; ++i) CHECK_FALSE(admit("alice", "", t0).refused);
    CHECK_FALSE(admit("alice", "intl", t0).refused);
    CHECK_FALSE(admit("alice", "intl", t0).refused);
    auto v = admit("alice", "intl", t0);
    REQUIRE(v.refused);
    CHECK(v.refused->scope == fraud::Scope{"alice", "intl", false});
    CHECK(v.refused->limit == Limit::CallsPerDay);
    for (int i = 0; i < 3; ++i) CHECK_FALSE(admit("boss", "intl", t0).refused);
    // The route's total: 5 per minute for everybody (2 alice + 3 boss).
    v = admit("boss", "intl", t0 + 1s);
    REQUIRE(v.refused);
    CHECK(v.refused->scope == fraud::Scope{"", "intl", true});
    CHECK(v.refused->limit == Limit::CallsPerMinute);
    CHECK(v.refused->value == 6);
    // A minute later the total has room, and the boss has one call of the day left.
    CHECK_FALSE(admit("boss", "intl", t0 + 60s).refused);
    v = admit("boss", "intl", t0 + 61s);
    REQUIRE(v.refused);
    CHECK(v.refused->scope.user == "boss");
    // The day window: alice may call the route again 24 h later.
    CHECK(admit("alice", "intl", t0 + 23h).refused);
    CHECK_FALSE(admit("alice", "intl", t0 + 24h).refused);

    // show limits: the totals, and the users with something counted (not the boss: his
    // calls were a day ago); with a user, that user's limits, zeros when idle.
    auto rows = limits.list(rules, std::nullopt, t0 + 24h);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].scope == fraud::Scope{"", "intl", true});
    CHECK(rows[0].limit == Limit::CallsPerMinute);
    CHECK(rows[0].value == 1);
    CHECK(rows[0].critical == 5);
    CHECK(rows[1].scope == fraud::Scope{"alice", "intl", false});
    CHECK(rows[1].limit == Limit::CallsPerDay);
    CHECK(rows[1].value == 1);
    rows = limits.list(rules, "boss", t0 + 24h);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].scope == fraud::Scope{"boss", "intl", false});
    CHECK(rows[0].value == 0);
    CHECK(rows[0].critical == 4);
    CHECK(limits.list(rules, "carol", t0).size() == 1);  // the "*" rule's limit
}

TEST_CASE("idle entries are freed; users without a rule are never counted") {
    auto r = rule("alice");
    r.concurrent_calls = {0, 3};
    r.calls_per_minute = {0, 100};
    const std::vector rules{r};
    CallLimits limits;
    CHECK_FALSE(limits.admit(rules, "bob", "", call(1), t0).refused);
    CHECK(limits.entries() == 0);
    CHECK(limits.held() == 0);
    CHECK_FALSE(limits.admit(rules, "alice", "", call(2), t0).refused);
    CHECK(limits.entries() == 1);
    limits.release(call(2), t0);
    CHECK(limits.entries() == 1);  // its call of the last day still counts
    CHECK(limits.list(rules, std::nullopt, t0 + 1s).size() == 2);
    // A day later the entry is idle: the next release or sweep frees it.
    CHECK(limits.list(rules, std::nullopt, t0 + 25h).empty());
    CHECK_FALSE(limits.admit(rules, "alice", "", call(3), t0 + 25h).refused);
    limits.release(call(3), t0 + 25h);
    CHECK(limits.entries() == 1);
    for (int i = 0; i < 50; ++i) {
        const auto user = "user" + std::to_string(i);
        auto rr = rules;
        rr[0].user = user;
        limits.admit(rr, user, "", call(100 + i), t0 + 25h);
        limits.release(call(100 + i), t0 + 25h);
    }
    CHECK(limits.entries() == 51);
    // New calls sweep their shards (at most once a minute each): idle entries go.
    for (int i = 0; i < 64; ++i) {
        auto rr = rules;
        rr[0].user = "late" + std::to_string(i);
        limits.admit(rr, rr[0].user, "", call(200 + i), t0 + 50h);
        limits.release(call(200 + i), t0 + 50h);
    }
    CHECK(limits.entries() < 51 + 64);
    limits.sweep(t0 + 75h);
    CHECK(limits.entries() == 0);
}

TEST_CASE("workers racing for the last calls under a limit: exactly the limit is admitted") {
    auto r = rule("*");
    r.concurrent_calls = {0, 100};
    auto total = rule("*", "", true);
    total.calls_per_minute = {0, 150};
    const std::vector rules{r, total};
    CallLimits limits;
    std::atomic<int> admitted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 100; ++i)
                if (!limits.admit(rules, "alice", "", call(t * 1000 + i), t0).refused) ++admitted;
        });
    for (auto& t : threads) t.join();
    CHECK(admitted == 100);
    CHECK(limits.held() == 100);
    for (int t = 0; t < 4; ++t)
        for (int i = 0; i < 100; ++i) limits.release(call(t * 1000 + i), t0);
    CHECK(limits.held() == 0);
    const auto rows = limits.list(rules, "alice", t0);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].value == 0);
}

TEST_CASE("a call that holds nothing (its end is never told) still meets every limit") {
    auto r = rule("*");
    r.concurrent_calls = {0, 1};
    r.calls_per_minute = {0, 3};
    const std::vector rules{r};
    CallLimits limits;
    CHECK_FALSE(limits.admit(rules, "alice", "", call(1), t0, false).refused);
    CHECK(limits.held() == 0);
    CHECK_FALSE(limits.admit(rules, "alice", "", call(2), t0).refused);  // holds the one slot
    auto v = limits.admit(rules, "alice", "", call(3), t0, false);
    REQUIRE(v.refused);
    CHECK(v.refused->limit == Limit::ConcurrentCalls);
    limits.release(call(2), t0);
    CHECK_FALSE(limits.admit(rules, "alice", "", call(4), t0, false).refused);
    v = limits.admit(rules, "alice", "", call(5), t0, false);
    REQUIRE(v.refused);
    CHECK(v.refused->limit == Limit::CallsPerMinute);  // calls 1, 2 and 4
    const auto rows = limits.list(rules, "alice", t0);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].limit == Limit::CallsPerMinute);
    CHECK(rows[0].value == 3);
    CHECK(rows[1].value == 0);
    CHECK(limits.held() == 0);
}

TEST_CASE("cluster: admitted calls and calls in progress are shared; others' count here") {
    auto r = rule("*");
    r.calls_per_minute = {0, 3};
    r.concurrent_calls = {0, 2};
    const std::vector rules{r};
    CallLimits a, b;
    CHECK(a.take_shared(true).calls.empty());
    a.share(true);
    b.share(true);
    CHECK_FALSE(a.admit(rules, "alice", "", call(1), t0).refused);
    auto s = a.take_shared(false);
    REQUIRE(s.calls.size() == 1);
    CHECK(s.calls[0].second == 1);
    REQUIRE(s.held.size() == 1);
    CHECK(s.held[0].second == 1);
    const auto key = s.calls[0].first;
    // At B: A's call counts per minute and in progress (1 + 1 of 2).
    b.add_calls(key, 1, t0);
    b.set_held("a", key, 1, t0);
    CHECK(b.take_shared(true).calls.empty());  // nothing of B's own
    CHECK_FALSE(b.admit(rules, "alice", "", call(2), t0 + 1s).refused);
    auto v = b.admit(rules, "alice", "", call(3), t0 + 1s);
    REQUIRE(v.refused);
    CHECK(v.refused->limit == Limit::ConcurrentCalls);
    CHECK(v.refused->value == 3);
    // show limits reads the cluster's values.
    auto rows = b.list(rules, std::string_view("alice"), t0 + 1s);
    for (const auto& row : rows) {
        if (row.limit == Limit::ConcurrentCalls) CHECK(row.value == 2);
        if (row.limit == Limit::CallsPerMinute) CHECK(row.value == 2);
    }
    // A's call ends: told with 0, B admits again.
    a.release(call(1), t0 + 2s);
    s = a.take_shared(false);
    REQUIRE(s.held.size() == 1);
    CHECK(s.held[0] == std::pair<std::string, std::uint32_t>{key, 0});
    b.set_held("a", key, 0, t0 + 2s);
    CHECK_FALSE(b.admit(rules, "alice", "", call(4), t0 + 2s).refused);
    // Per minute: 1 (A) + 2 (B) = 3 of 3: the next is refused at B.
    b.release(call(2), t0 + 3s);
    b.release(call(4), t0 + 3s);
    v = b.admit(rules, "alice", "", call(5), t0 + 3s);
    REQUIRE(v.refused);
    CHECK(v.refused->limit == Limit::CallsPerMinute);
}

TEST_CASE("cluster: a node's calls in progress stop counting when it is not heard from") {
    auto r = rule("*");
    r.concurrent_calls = {0, 1};
    const std::vector rules{r};
    CallLimits a, b;
    a.share(true);
    CHECK_FALSE(a.admit(rules, "alice", "", call(1), t0).refused);
    const auto held = a.take_shared(false).held;
    REQUIRE(held.size() == 1);
    b.set_held("a", held[0].first, held[0].second, t0);
    CHECK(b.admit(rules, "alice", "", call(2), t0 + 1s).refused);
    // A's heartbeat lists every call in progress, changed or not.
    const auto beat = a.take_shared(true).held;
    REQUIRE(beat.size() == 1);
    CHECK(beat[0] == held[0]);
    CHECK(a.take_shared(false).held.empty());
    b.set_held("a", beat[0].first, beat[0].second, t0 + 2s);
    CHECK(b.admit(rules, "alice", "", call(3), t0 + 4s).refused);
    // Silent for kHeldFresh (A died): its count is gone.
    CHECK_FALSE(b.admit(rules, "alice", "", call(4), t0 + 2s + CallLimits::kHeldFresh).refused);
    b.sweep(t0 + 10s);
}

TEST_CASE("cluster: the first change noted after a batch is told at once") {
    auto r = rule("*");
    r.concurrent_calls = {0, 5};
    const std::vector rules{r};
    CallLimits limits;
    limits.share(true);
    int kicks = 0;
    limits.on_shared([&] { ++kicks; });
    limits.admit(rules, "alice", "", call(1), t0);
    limits.admit(rules, "alice", "", call(2), t0);
    CHECK(kicks == 1);
    limits.take_shared(false);
    limits.release(call(1), t0);
    CHECK(kicks == 2);
}
