// DnsCache: answers until their expiry, names case-insensitive, bounded (least recently
// used goes first).
#include <catch2/catch.hpp>

#include "transport/dns_cache.hpp"

using namespace sipproxy::transport;
using Clock = DnsCache::Clock;

namespace {

Clock::time_point at(int seconds) { return Clock::time_point(std::chrono::seconds(seconds)); }

DnsAnswer address(const char* ip) {
    return std::vector<asio::ip::address>{asio::ip::make_address(ip)};
}

std::string first_address(const DnsAnswer* a) {
    REQUIRE(a);
    return std::get<std::vector<asio::ip::address>>(*a).front().to_string();
}

}  // namespace

TEST_CASE("DnsCache: an answer lives until it expires", "[dns][cache]") {
    DnsCache cache(8);
    cache.store(DnsQuestion::Addresses, "host.test", address("192.0.2.1"), at(60), at(0));
    CHECK(first_address(cache.find(DnsQuestion::Addresses, "host.test", at(59))) == "192.0.2.1");
    CHECK(first_address(cache.find(DnsQuestion::Addresses, "HOST.Test.", at(1))) == "192.0.2.1");
    CHECK(cache.find(DnsQuestion::Srv, "host.test", at(1)) == nullptr);  // another question
    CHECK(cache.find(DnsQuestion::Addresses, "host.test", at(60)) == nullptr);
    CHECK(cache.size() == 0);  // the expired answer is gone
}

TEST_CASE("DnsCache: a newer answer replaces the older one", "[dns][cache]") {
    DnsCache cache(8);
    cache.store(DnsQuestion::Addresses, "host.test", address("192.0.2.1"), at(60), at(0));
    cache.store(DnsQuestion::Addresses, "host.test", address("192.0.2.2"), at(10), at(5));
    CHECK(cache.size() == 1);
    CHECK(first_address(cache.find(DnsQuestion::Addresses, "host.test", at(9))) == "192.0.2.2");
    CHECK(cache.find(DnsQuestion::Addresses, "host.test", at(10)) == nullptr);
}

TEST_CASE("DnsCache: full, the least recently used answer goes", "[dns][cache]") {
    DnsCache cache(2);
    cache.store(DnsQuestion::Addresses, "a.test", address("192.0.2.1"), at(60), at(0));
    cache.store(DnsQuestion::Addresses, "b.test", address("192.0.2.2"), at(60), at(0));
    REQUIRE(cache.find(DnsQuestion::Addresses, "a.test", at(1)));  // a is used again
    cache.store(DnsQuestion::Addresses, "c.test", address("192.0.2.3"), at(60), at(1));
    CHECK(cache.size() == 2);
    CHECK(cache.find(DnsQuestion::Addresses, "b.test", at(1)) == nullptr);
    CHECK(first_address(cache.find(DnsQuestion::Addresses, "a.test", at(1))) == "192.0.2.1");
    CHECK(first_address(cache.find(DnsQuestion::Addresses, "c.test", at(1))) == "192.0.2.3");
}

TEST_CASE("DnsCache: nothing is kept without capacity or lifetime", "[dns][cache]") {
    DnsCache none(0);
    none.store(DnsQuestion::Addresses, "a.test", address("192.0.2.1"), at(60), at(0));
    CHECK(none.size() == 0);
    DnsCache cache(2);
    cache.store(DnsQuestion::Addresses, "a.test", address("192.0.2.1"), at(5), at(5));
    CHECK(cache.size() == 0);
    // A negative answer is an empty one, and it is kept like any other.
    cache.store(DnsQuestion::Srv, "_sip._udp.none.test", std::vector<SrvTarget>{}, at(30), at(0));
    const DnsAnswer* neg = cache.find(DnsQuestion::Srv, "_sip._udp.none.test", at(1));
    REQUIRE(neg);
    CHECK(std::get<std::vector<SrvTarget>>(*neg).empty());
}
