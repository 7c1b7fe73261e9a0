// Value helpers: AOR canonical form, qvalues, Contact URI comparison, expires_in.
#include "registrar/binding.hpp"

#include <catch2/catch.hpp>

#include "registrar/contact_uri.hpp"

using namespace sipproxy::registrar;
using namespace std::chrono_literals;

TEST_CASE("canonical_aor lower-cases the domain only", "[binding]") {
    CHECK(canonical_aor("Alice@Example.TEST") == "Alice@example.test");
    CHECK(canonical_aor("a@b@C.d") == "a@b@c.d");
    CHECK(canonical_aor("EXAMPLE.test") == "example.test");
    CHECK(canonical_aor("") == "");
}

TEST_CASE("qvalues", "[binding]") {
    CHECK(parse_qvalue("1") == 1000);
    CHECK(parse_qvalue("1.0") == 1000);
    CHECK(parse_qvalue("1.000") == 1000);
    CHECK(parse_qvalue("0") == 0);
    CHECK(parse_qvalue("0.5") == 500);
    CHECK(parse_qvalue("0.25") == 250);
    CHECK(parse_qvalue("0.125") == 125);
    CHECK(parse_qvalue("0.") == 0);
    CHECK_FALSE(parse_qvalue("1.5"));
    CHECK_FALSE(parse_qvalue("0.1234"));
    CHECK_FALSE(parse_qvalue("2"));
    CHECK_FALSE(parse_qvalue(".5"));
    CHECK_FALSE(parse_qvalue("0,5"));
    CHECK_FALSE(parse_qvalue(""));
    CHECK(format_qvalue(1000) == "1");
    CHECK(format_qvalue(500) == "0.5");
    CHECK(format_qvalue(125) == "0.125");
    CHECK(format_qvalue(250) == "0.25");
    CHECK(format_qvalue(0) == "0");
}

TEST_CASE("Contact URI comparison (RFC 3261 19.1.4, simplified)", "[contact]") {
    CHECK(same_contact_uri("sip:alice@Host.Example;Transport=TCP",
                           "SIP:alice@host.example;transport=tcp"));
    CHECK(same_contact_uri("<sip:alice@host>", "sip:alice@host"));
    CHECK(same_contact_uri("sip:%61lice@host", "sip:alice@host"));
    CHECK(same_contact_uri("sip:alice@host;a=1;b=2", "sip:alice@host;b=2;a=1"));
    CHECK(same_contact_uri("sip:alice@host?Subject=x", "sip:alice@host"));
    CHECK_FALSE(same_contact_uri("sip:alice@host", "sip:ALICE@host"));  // user is exact
    CHECK_FALSE(same_contact_uri("sip:alice@host", "sips:alice@host"));
    CHECK_FALSE(same_contact_uri("sip:alice@host", "sip:alice@host:5060"));
    CHECK_FALSE(same_contact_uri("sip:alice@host;transport=tcp", "sip:alice@host;transport=udp"));
    CHECK_FALSE(same_contact_uri("sip:alice:pw@host", "sip:alice:PW@host"));
    // A user part with ';' (telephone-subscriber) stays in the user part.
    CHECK(contact_uri_key("sip:+1555;phone-context=x@Host;user=phone") ==
          "sip:+1555;phone-context=x@host;user=phone");
    CHECK(contact_uri_key("sip:[2001:DB8::1]:5070") == "sip:[2001:db8::1]:5070");
}

TEST_CASE("expires_in rounds up and stops at 0", "[binding]") {
    Binding b;
    const TimePoint t0 = TimePoint(std::chrono::seconds(1'700'000'000));
    b.expires_at = t0 + 60s;
    CHECK(b.expires_in(t0) == 60);
    CHECK(b.expires_in(t0 + 500ms) == 60);
    CHECK(b.expires_in(t0 + 59s + 1ms) == 1);
    CHECK(b.expires_in(t0 + 60s) == 0);
    CHECK(b.expires_in(t0 + 1h) == 0);
    CHECK(b.live(t0 + 59s));
    CHECK_FALSE(b.live(t0 + 60s));
}

TEST_CASE("sort_by_preference: q, then the most recent", "[binding]") {
    const TimePoint t0 = TimePoint(std::chrono::seconds(1'700'000'000));
    std::vector<Binding> v(3);
    v[0].contact = "old";
    v[0].registered_at = t0;
    v[1].contact = "low";
    v[1].q_permille = 10;
    v[1].registered_at = t0 + 9s;
    v[2].contact = "new";
    v[2].registered_at = t0 + 5s;
    sort_by_preference(v);
    CHECK(v[0].contact == "new");
    CHECK(v[1].contact == "old");
    CHECK(v[2].contact == "low");
}
