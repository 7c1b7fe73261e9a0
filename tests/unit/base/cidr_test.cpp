#include "base/cidr.hpp"

#include <catch2/catch.hpp>

using sipproxy::Cidr;
using sipproxy::IpBytes;
using sipproxy::IpFamily;

namespace {
Cidr cidr(std::string_view text) {
    auto c = Cidr::parse(text);
    INFO(text);
    REQUIRE(c.has_value());
    return *c;
}
std::string parse_error(std::string_view text) {
    auto c = Cidr::parse(text);
    REQUIRE_FALSE(c.has_value());
    return c.error();
}
}  // namespace

TEST_CASE("Cidr parses IPv4 networks and host routes") {
    auto c = cidr("10.0.0.0/8");
    CHECK(c.family == IpFamily::v4);
    CHECK(c.prefix == 8);
    CHECK(c.to_string() == "10.0.0.0/8");
    CHECK(cidr("192.0.2.7").to_string() == "192.0.2.7/32");
    CHECK(cidr("0.0.0.0/0").to_string() == "0.0.0.0/0");
    CHECK(cidr("192.0.2.0/24") == cidr("192.0.2.0/24"));
    CHECK_FALSE(cidr("192.0.2.0/24") == cidr("192.0.2.0/25"));
}

TEST_CASE("Cidr parses IPv6 networks and host routes") {
    auto c = cidr("2001:db8::/32");
    CHECK(c.family == IpFamily::v6);
    CHECK(c.prefix == 32);
    CHECK(c.to_string() == "2001:db8::/32");
    CHECK(cidr("::1").to_string() == "::1/128");
    CHECK(cidr("::1/128").to_string() == "::1/128");
    CHECK(cidr("::/0").to_string() == "::/0");
}

TEST_CASE("Cidr stores IPv4-mapped IPv6 networks as IPv4") {
    auto c = cidr("::ffff:10.0.0.0/104");
    CHECK(c.family == IpFamily::v4);
    CHECK(c.to_string() == "10.0.0.0/8");
    CHECK(c.contains("10.1.2.3"));
    CHECK(c.contains("::ffff:10.1.2.3"));
}

TEST_CASE("Cidr rejects malformed text with a reason") {
    CHECK(parse_error("10.0.0.0/33") == "bad CIDR '10.0.0.0/33': prefix length must be 0..32");
    CHECK(parse_error("::/129") == "bad CIDR '::/129': prefix length must be 0..128");
    CHECK(parse_error("10.0.0.1/8") ==
          "bad CIDR '10.0.0.1/8': host bits are set (did you mean 10.0.0.0/8?)");
    CHECK(parse_error("2001:db8::1/32") ==
          "bad CIDR '2001:db8::1/32': host bits are set (did you mean 2001:db8::/32?)");
    for (const char* text :
         {"", "/8", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/8/8", "10.0.0/8", "example.com",
          "10.0.0.0 /8", " 10.0.0.0/8", "10.0.0.0/-1", "10.0.0.0/+8", "fe80::1%eth0", "[::1]",
          "256.0.0.0/8", "10.0.0.0/0008"}) {
        INFO(text);
        CHECK_FALSE(Cidr::parse(text).has_value());
    }
    CHECK(parse_error("example.com").find("expected an IPv4 or IPv6 address") != std::string::npos);
}

TEST_CASE("Cidr::contains matches IPv4 addresses given as text") {
    auto c = cidr("192.168.0.0/16");
    CHECK(c.contains("192.168.0.0"));
    CHECK(c.contains("192.168.255.255"));
    CHECK_FALSE(c.contains("192.169.0.1"));
    CHECK_FALSE(c.contains("10.0.0.1"));
    CHECK_FALSE(c.contains("not an address"));
    CHECK_FALSE(c.contains(""));
    CHECK_FALSE(c.contains("::1"));
    CHECK(sipproxy::contains(c, "192.168.1.1"));

    auto odd = cidr("10.0.0.0/9");  // prefix not on a byte boundary
    CHECK(odd.contains("10.127.255.255"));
    CHECK_FALSE(odd.contains("10.128.0.0"));

    CHECK(cidr("0.0.0.0/0").contains("203.0.113.9"));
    CHECK_FALSE(cidr("0.0.0.0/0").contains("2001:db8::1"));
    CHECK(cidr("203.0.113.9").contains("203.0.113.9"));
    CHECK_FALSE(cidr("203.0.113.9").contains("203.0.113.8"));
}

TEST_CASE("Cidr::contains matches IPv6 addresses and IPv4-mapped ones") {
    auto c = cidr("2001:db8::/32");
    CHECK(c.contains("2001:db8::1"));
    CHECK(c.contains("2001:db8:ffff::1"));
    CHECK_FALSE(c.contains("2001:db9::1"));
    CHECK_FALSE(c.contains("10.0.0.1"));
    CHECK(cidr("::1").contains("::1"));
    CHECK_FALSE(cidr("::1").contains("::2"));
    CHECK(cidr("::/0").contains("fe80::1"));

    auto v4 = cidr("10.0.0.0/8");
    CHECK(v4.contains("::ffff:10.9.8.7"));
    CHECK_FALSE(v4.contains("::ffff:11.9.8.7"));
    CHECK_FALSE(v4.contains("::10.9.8.7"));  // IPv4-compatible, not mapped
    // an IPv6 network that is not IPv4-mapped does not see IPv4 traffic
    CHECK_FALSE(cidr("::/0").contains("10.0.0.1"));
}

TEST_CASE("Cidr::contains takes raw bytes") {
    auto c = cidr("10.0.0.0/8");
    IpBytes v4{10, 1, 2, 3};
    CHECK(c.contains(v4, IpFamily::v4));
    CHECK(sipproxy::contains(c, v4, IpFamily::v4));
    IpBytes other{11, 1, 2, 3};
    CHECK_FALSE(c.contains(other, IpFamily::v4));

    IpBytes mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
    CHECK(c.contains(mapped, IpFamily::v6));

    IpBytes loop6{};
    loop6[15] = 1;
    CHECK(cidr("::1/128").contains(loop6, IpFamily::v6));
    CHECK_FALSE(cidr("::1/128").contains(loop6, IpFamily::v4));
}

TEST_CASE("contains_any checks a list of networks") {
    std::vector<Cidr> nets{cidr("10.0.0.0/8"), cidr("2001:db8::/32")};
    CHECK(sipproxy::contains_any(nets, "10.0.0.1"));
    CHECK(sipproxy::contains_any(nets, "2001:db8::5"));
    CHECK_FALSE(sipproxy::contains_any(nets, "192.0.2.1"));
    CHECK_FALSE(sipproxy::contains_any({}, "10.0.0.1"));
    CHECK_FALSE(sipproxy::contains_any(nets, "garbage"));
}

TEST_CASE("parse_ip reads literal addresses only") {
    IpBytes b;
    IpFamily f;
    CHECK(sipproxy::parse_ip("127.0.0.1", b, f));
    CHECK(f == IpFamily::v4);
    CHECK(b[0] == 127);
    CHECK(sipproxy::parse_ip("::1", b, f));
    CHECK(f == IpFamily::v6);
    CHECK_FALSE(sipproxy::parse_ip("[::1]", b, f));
    CHECK_FALSE(sipproxy::parse_ip("localhost", b, f));
    CHECK_FALSE(sipproxy::parse_ip(std::string(100, '1'), b, f));
}
