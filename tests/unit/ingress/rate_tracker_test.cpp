#include "ingress/rate_tracker.hpp"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "base/address_key.hpp"
#include "ingress/ban_table.hpp"

using namespace sipproxy;
using namespace sipproxy::ingress;
using namespace std::chrono_literals;

namespace {
AddressKey v4(std::uint32_t a) { return AddressKey::from_v4(a); }
AddressKey ip(const char* text) {
    IpBytes b;
    IpFamily f;
    REQUIRE(parse_ip(text, b, f));
    return AddressKey::from_bytes(b, f);
}
const RateTracker::Clock::time_point t0 = RateTracker::Clock::time_point(1000000s);
}  // namespace

TEST_CASE("rate tracker: counts a source within its window") {
    RateTracker r(1024);
    for (int i = 1; i <= 10; ++i) CHECK(r.count(v4(1), t0 + i * 10ms, 2s) == std::uint32_t(i));
    CHECK(r.count(v4(2), t0 + 200ms, 2s) == 1);  // another source has its own count
}

TEST_CASE("rate tracker: the window slides") {
    RateTracker r(1024);
    // 100 requests at the start of one 2 s window ...
    for (int i = 0; i < 100; ++i) r.count(v4(1), t0, 2s);
    // ... half of the next window later, about half of them still count.
    auto n = r.count(v4(1), t0 + 3s, 2s);
    CHECK(n >= 50);
    CHECK(n <= 52);
    // Two windows of silence: forgotten.
    CHECK(r.count(v4(1), t0 + 10s, 2s) == 1);
}

TEST_CASE("rate tracker: a steady rate is estimated, not doubled at window edges") {
    RateTracker r(1024);
    std::uint32_t max = 0;
    // 100 per second for 10 s: never more than ~200 in any 2 s.
    for (int i = 0; i < 1000; ++i) max = std::max(max, r.count(v4(1), t0 + i * 10ms, 2s));
    CHECK(max >= 195);
    CHECK(max <= 202);
}

TEST_CASE("rate tracker: a million spoofed sources fit in the fixed table, a busy source keeps its count") {
    RateTracker r(65536);
    const auto capacity = r.capacity();
    std::uint32_t busy = 0;
    for (std::uint32_t i = 0; i < 1000000; ++i) {
        const auto now = t0 + std::chrono::microseconds(i);  // all within one second
        r.count(v4(0x0a000000u + i), now, 2s);
        if (i % 100 == 0) busy = r.count(v4(0xc0000201u), now, 2s);
    }
    CHECK(r.capacity() == capacity);       // no growth
    CHECK(r.evictions() > 900000);         // the spoofed ones replaced each other
    CHECK(busy == 10000);                  // the flooder among them is still counted exactly
    CHECK(r.active(t0 + 1s, 2s) == capacity);
}

TEST_CASE("rate tracker: forget starts a source afresh") {
    RateTracker r(64);
    for (int i = 0; i < 5; ++i) r.count(v4(7), t0, 2s);
    r.forget(v4(7));
    CHECK(r.count(v4(7), t0, 2s) == 1);
}

TEST_CASE("address keys: one source is an IPv4 address or an IPv6 /64") {
    CHECK(source_of(ip("192.0.2.1")) == ip("192.0.2.1"));
    CHECK(source_of(ip("192.0.2.1")) != source_of(ip("192.0.2.2")));
    CHECK(source_of(ip("2001:db8:1:2::1")) == source_of(ip("2001:db8:1:2:ffff::9")));
    CHECK(source_of(ip("2001:db8:1:2::1")) != source_of(ip("2001:db8:1:3::1")));
    CHECK(ip("::ffff:192.0.2.1") == ip("192.0.2.1"));  // IPv4-mapped is the IPv4 source
    CHECK(network_text(source_cidr(ip("2001:db8:1:2::1"))) == "2001:db8:1:2::/64");
    CHECK(network_text(source_cidr(ip("192.0.2.1"))) == "192.0.2.1");

    RateTracker r(1024);
    r.count(source_of(ip("2001:db8::1")), t0, 2s);
    CHECK(r.count(source_of(ip("2001:db8::2")), t0, 2s) == 2);
}

TEST_CASE("rate tracker: workers counting one source at once lose no request") {
    RateTracker r(1024);
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w)
        workers.emplace_back([&r] {
            for (int i = 0; i < 10000; ++i) r.count(v4(1), t0 + 1ms, 2s);
        });
    for (auto& t : workers) t.join();
    CHECK(r.count(v4(1), t0 + 1ms, 2s) == 40001);
}
