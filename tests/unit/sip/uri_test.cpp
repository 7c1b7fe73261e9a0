// SIP, SIPS and tel URIs (RFC 3261 19.1).
#include "sip/uri.hpp"

#include <catch2/catch.hpp>

using sip::parse_uri;
using sip::Uri;

namespace {
Uri ok(std::string_view s) {
    auto r = parse_uri(s);
    INFO(s << ": " << (r ? "" : std::string(r.error())));
    REQUIRE(r.has_value());
    return *r;
}
bool bad(std::string_view s) {
    return !parse_uri(s).has_value();
}
}  // namespace

TEST_CASE("sip URI parts", "[uri]") {
    Uri u = ok("sip:alice:secret@Example.COM:5070;transport=tcp;lr?subject=hi&priority=urgent");
    CHECK(u.scheme == Uri::Scheme::Sip);
    CHECK(u.scheme_text == "sip");
    CHECK(u.user == "alice");
    CHECK(u.password == "secret");
    CHECK(u.host == "Example.COM");
    CHECK(u.port == 5070);
    CHECK(u.params == "transport=tcp;lr");
    CHECK(u.transport_param() == "tcp");
    CHECK(u.lr());
    CHECK(u.param("TRANSPORT") == "tcp");
    CHECK_FALSE(u.param("maddr").has_value());
    CHECK(u.headers == "subject=hi&priority=urgent");
    CHECK(u.is_sip());
}

TEST_CASE("sips, tel and other schemes", "[uri]") {
    CHECK(ok("SIPS:bob@example.com").scheme == Uri::Scheme::Sips);
    Uri t = ok("tel:+1-201-555-0123;phone-context=example.com");
    CHECK(t.scheme == Uri::Scheme::Tel);
    CHECK(t.user == "+1-201-555-0123");
    CHECK(t.param("phone-context") == "example.com");
    Uri o = ok("mailto:someone@example.com");
    CHECK(o.scheme == Uri::Scheme::Other);
    CHECK(o.scheme_text == "mailto");
    CHECK(o.raw == "mailto:someone@example.com");
}

TEST_CASE("hosts: names, IPv4, IPv6 references", "[uri]") {
    CHECK(ok("sip:192.0.2.1").host == "192.0.2.1");
    CHECK(ok("sip:example.com").user.empty());
    Uri v6 = ok("sip:user@[2001:db8::1]:5061;maddr=[2001:db8::2]");
    CHECK(v6.host == "[2001:db8::1]");
    CHECK(v6.port == 5061);
    CHECK(v6.maddr() == "[2001:db8::2]");
    CHECK(ok("sip:[::1]").host == "[::1]");
    CHECK(ok("sip:[::ffff:192.0.2.1]").host == "[::ffff:192.0.2.1]");
    CHECK(ok("sip:[1:2:3:4:5:6:7:8]").host == "[1:2:3:4:5:6:7:8]");
    CHECK(ok("sip:[2001:db8:::192.0.2.1]").host == "[2001:db8:::192.0.2.1]");  // RFC 5118 4.10
    CHECK(bad("sip:[2001:db8::1"));
    CHECK(bad("sip:[1:2:3:4:5:6:7:8:9]"));
    CHECK(bad("sip:[1::2::3]"));
    CHECK(bad("sip:[12345::1]"));
    CHECK(bad("sip:[::1.2.3]"));
    CHECK(bad("sip:2001:db8::10"));  // RFC 5118 4.2
    CHECK(bad("sip:user@"));
    CHECK(bad("sip:host:0"));
    CHECK(bad("sip:host:65536"));
    CHECK(bad("sip:host:"));
}

TEST_CASE("escapes and odd user parts", "[uri]") {
    Uri u = ok("sip:%61lice%20x@example.com");
    CHECK(u.user == "%61lice%20x");
    CHECK(sip::unescape(u.user) == "alice x");
    CHECK(sip::unescape("100%") == "100%");
    CHECK(sip::unescape("%4") == "%4");
    CHECK(ok("sip:user;par=u%40example.net@example.com").user == "user;par=u%40example.net");
    CHECK(bad("sip:us%zzer@example.com"));
    CHECK(bad("sip:us%2@example.com"));
}

TEST_CASE("malformed URIs", "[uri]") {
    CHECK(bad(""));
    CHECK(bad("sip"));
    CHECK(bad("<sip:user@example.com>"));
    CHECK(bad("sip:user@example.com; lr"));
    CHECK(bad("sip:user@exa mple.com"));
    CHECK(bad("sip:user@example.com;;lr"));
    CHECK(bad("sip:user@example.com;=x"));
    CHECK(bad("sip:user@example.com;a="));
    CHECK(bad("sip:user@example.com?"));
    CHECK(bad("sip:user@exa#mple.com"));
    CHECK(bad("1sip:x"));
    CHECK(bad("tel:"));
}

TEST_CASE("host_equal compares IPv6 as addresses", "[uri]") {
    CHECK(sip::host_equal("Example.COM", "example.com"));
    CHECK_FALSE(sip::host_equal("example.com", "example.org"));
    CHECK(sip::host_equal("[2001:DB8::1]", "[2001:db8:0:0:0:0:0:1]"));
    CHECK(sip::host_equal("[2001:db8::9:255]", "2001:db8::9:255"));
    CHECK(sip::host_equal("[::ffff:192.0.2.1]", "[::ffff:c000:201]"));
    CHECK_FALSE(sip::host_equal("[2001:db8::1]", "[2001:db8::2]"));
}

TEST_CASE("uri_equal follows RFC 3261 19.1.4", "[uri]") {
    auto eq = [](std::string_view a, std::string_view b) { return sip::uri_equal(ok(a), ok(b)); };
    // The RFC's equal examples.
    CHECK(eq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
    CHECK(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
    CHECK(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5"));
    CHECK(eq("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
             "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
    CHECK(eq("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
             "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
    // The RFC's unequal examples.
    CHECK_FALSE(eq("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
    CHECK_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
    CHECK_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
    CHECK_FALSE(eq("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;newparam=6"));
    CHECK_FALSE(eq("sip:alice@atlanta.com?subject=a", "sip:alice@atlanta.com"));
    CHECK_FALSE(eq("sips:alice@atlanta.com", "sip:alice@atlanta.com"));
    CHECK(eq("sip:[2001:db8::1]", "sip:[2001:DB8:0::1]"));
}
