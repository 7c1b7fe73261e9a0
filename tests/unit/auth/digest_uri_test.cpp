#include "auth/digest_uri.hpp"

#include <catch2/catch.hpp>

using sipproxy::auth::digest_uri_matches;

TEST_CASE("digest-uri equal to the Request-URI up to normalisation", "[digest_uri]") {
    CHECK(digest_uri_matches("sip:bob@example.test", "sip:bob@example.test"));
    CHECK(digest_uri_matches("sip:bob@EXAMPLE.test", "sip:bob@example.test"));
    CHECK(digest_uri_matches("sip:bob@example.test:5060", "sip:bob@example.test"));
    CHECK(digest_uri_matches("sips:bob@example.test:5061", "sips:bob@example.test"));
    CHECK(digest_uri_matches("sip:%62ob@example.test", "sip:bob@example.test"));
    CHECK(digest_uri_matches("sip:bob@example.test;transport=tcp", "sip:bob@example.test"));
    CHECK(digest_uri_matches("sip:example.test", "sip:example.test"));  // REGISTER
    CHECK(digest_uri_matches("sip:[::1]:5070", "sip:[0:0::1]:5070"));
}

TEST_CASE("a digest-uri for another target is refused", "[digest_uri]") {
    CHECK(!digest_uri_matches("sip:bob@example.test", "sip:+19005551234@127.0.0.77:28977"));
    CHECK(!digest_uri_matches("sip:bob@example.test", "sip:carol@example.test"));
    CHECK(!digest_uri_matches("sip:Bob@example.test", "sip:bob@example.test"));  // user: exact
    CHECK(!digest_uri_matches("sip:bob@example.test:5070", "sip:bob@example.test"));
    CHECK(!digest_uri_matches("sips:bob@example.test", "sip:bob@example.test"));
    CHECK(!digest_uri_matches("sip:127.0.0.1:5060", "sip:bob@example.test"));  // SIPp's default
    CHECK(!digest_uri_matches("sip:127.0.0.1:5060", "sip:example.test"));
    CHECK(!digest_uri_matches("", "sip:bob@example.test"));
    CHECK(!digest_uri_matches("garbage", "sip:bob@example.test"));
    CHECK(!digest_uri_matches("tel:+15551234", "tel:+15551234"));
}
