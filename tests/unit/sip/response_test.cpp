// Responses built from requests (RFC 3261 8.2.6).
#include "sip/response.hpp"

#include <catch2/catch.hpp>
#include <string>

namespace {

sip::Message parse(std::string s) {
    auto r = sip::parse(std::move(s));
    INFO((r ? "" : std::string(r.error().reason)));
    REQUIRE(r.has_value());
    return std::move(r).value();
}

const std::string kRequest =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP p.example.com;branch=z9hG4bKp, SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
    "v: SIP/2.0/TCP b.example.com;branch=z9hG4bK0\r\n"
    "Max-Forwards: 70\r\n"
    "f: <sip:alice@example.com>;tag=1\r\n"
    "To: Bob <sip:bob@example.com>\r\n"
    "Call-ID: c1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Timestamp: 54\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

}  // namespace

TEST_CASE("a final response copies Via, From, Call-ID, CSeq and tags To", "[response]") {
    auto m = parse(kRequest);
    std::string out = sip::make_response(m, 404, {}, "abc", {{"Server", "sipproxy"}});
    CHECK(out ==
          "SIP/2.0 404 Not Found\r\n"
          "Via: SIP/2.0/UDP p.example.com;branch=z9hG4bKp, SIP/2.0/UDP "
          "a.example.com;branch=z9hG4bK1\r\n"
          "v: SIP/2.0/TCP b.example.com;branch=z9hG4bK0\r\n"
          "f: <sip:alice@example.com>;tag=1\r\n"
          "To: Bob <sip:bob@example.com>;tag=abc\r\n"
          "Call-ID: c1\r\n"
          "CSeq: 1 INVITE\r\n"
          "Server: sipproxy\r\n"
          "Content-Length: 0\r\n"
          "\r\n");
    auto back = sip::parse(out);
    REQUIRE(back);
    CHECK(back->status() == 404);
    CHECK(back->to().tag == "abc");
    CHECK(back->vias().size() == 3);
}

TEST_CASE("100 Trying has no To-tag and echoes Timestamp", "[response]") {
    auto m = parse(kRequest);
    std::string out = sip::make_response(m, 100);
    CHECK(out ==
          "SIP/2.0 100 Trying\r\n"
          "Via: SIP/2.0/UDP p.example.com;branch=z9hG4bKp, SIP/2.0/UDP "
          "a.example.com;branch=z9hG4bK1\r\n"
          "v: SIP/2.0/TCP b.example.com;branch=z9hG4bK0\r\n"
          "f: <sip:alice@example.com>;tag=1\r\n"
          "To: Bob <sip:bob@example.com>\r\n"
          "Call-ID: c1\r\n"
          "CSeq: 1 INVITE\r\n"
          "Timestamp: 54\r\n"
          "Content-Length: 0\r\n"
          "\r\n");
}

TEST_CASE("an existing To-tag is kept; a missing one is derived stably", "[response]") {
    auto tagged =
        parse(std::string(kRequest).replace(kRequest.find("To: Bob <sip:bob@example.com>"), 29,
                                            "To: Bob <sip:bob@example.com>;tag=xyz"));
    CHECK(sip::make_response(tagged, 481, {}, "other")
              .find("To: Bob <sip:bob@example.com>;tag=xyz\r\n") != std::string::npos);
    auto m = parse(kRequest);
    auto a = sip::make_response(m, 483);
    auto b = sip::make_response(parse(kRequest), 483);
    CHECK(a == b);  // a retransmission gets the same tag
    auto r = sip::parse(a);
    REQUIRE(r);
    CHECK(r->to().tag.size() > 4);
}

TEST_CASE("reason, body and content type", "[response]") {
    auto m = parse(kRequest);
    std::string out = sip::make_response(m, 200, "Fine", "t", {}, "application/sdp", "v=0\r\n");
    CHECK(out.substr(0, 19) == "SIP/2.0 200 Fine\r\nV");
    CHECK(out.find("Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n") !=
          std::string::npos);
    CHECK(sip::default_reason(420) == "Bad Extension");
    CHECK(sip::default_reason(416) == "Unsupported URI Scheme");
    CHECK(sip::default_reason(483) == "Too Many Hops");
    CHECK(sip::default_reason(513) == "Message Too Large");
    CHECK(sip::default_reason(505) == "Version Not Supported");
    CHECK(sip::default_reason(499) == "Client Error");
}
