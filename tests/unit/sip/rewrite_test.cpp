// Forwarding rewrites (RFC 3261 16.6, 16.7): exact output bytes.
#include "sip/rewrite.hpp"

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
    "INVITE sip:bob@proxy.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
    "Route: <sip:proxy.example.com;lr>, <sip:next.example.com;lr>\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.com>;tag=1\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: c1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 3\r\n"
    "\r\n"
    "abc";

}  // namespace

TEST_CASE("no edits writes the message back byte for byte", "[rewrite]") {
    auto m = parse(kRequest);
    CHECK(sip::Rewrite(m).write() == kRequest);
}

TEST_CASE("proxy forwarding: Via, Record-Route, Max-Forwards, Route, Request-URI", "[rewrite]") {
    auto m = parse(kRequest);
    REQUIRE(m.routes().size() == 2);
    std::string out = sip::Rewrite(m)
                          .request_uri("sip:bob@192.0.2.7:5060")
                          .push_top("Record-Route", "<sip:proxy.example.com;lr>")
                          .push_top("Via", "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1")
                          .max_forwards(*m.max_forwards() - 1)
                          .remove_first_value(m.routes()[0].header_index)
                          .write();
    CHECK(out ==
          "INVITE sip:bob@192.0.2.7:5060 SIP/2.0\r\n"
          "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1\r\n"
          "Record-Route: <sip:proxy.example.com;lr>\r\n"
          "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
          "Route: <sip:next.example.com;lr>\r\n"
          "Max-Forwards: 69\r\n"
          "From: <sip:alice@example.com>;tag=1\r\n"
          "To: <sip:bob@example.com>\r\n"
          "Call-ID: c1\r\n"
          "CSeq: 1 INVITE\r\n"
          "Content-Length: 3\r\n"
          "\r\n"
          "abc");
}

TEST_CASE("removing the only value drops the line; remove and replace", "[rewrite]") {
    auto m = parse(kRequest);
    auto r = sip::Rewrite(m);
    r.remove_first_value(m.routes()[0].header_index).remove_first_value(m.routes()[0].header_index);
    r.replace(m.find(sip::HeaderId::CallId) - m.headers().data(), "c2");
    r.remove(m.find(sip::HeaderId::To) - m.headers().data());
    r.append("X-Trace", "1");
    CHECK(r.write() ==
          "INVITE sip:bob@proxy.example.com SIP/2.0\r\n"
          "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
          "Max-Forwards: 70\r\n"
          "From: <sip:alice@example.com>;tag=1\r\n"
          "Call-ID: c2\r\n"
          "CSeq: 1 INVITE\r\n"
          "Content-Length: 3\r\n"
          "X-Trace: 1\r\n"
          "\r\n"
          "abc");
}

TEST_CASE("Max-Forwards is added when missing; Content-Length when asked", "[rewrite]") {
    auto m = parse(
        "OPTIONS sip:a@example.com SIP/2.0\r\n"
        "v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
        "f: <sip:a@example.com>;tag=1\r\nt: <sip:b@example.com>\r\ni: c\r\nCSeq: 2 OPTIONS\r\n"
        "\r\n"
        "hello");
    std::string out = sip::Rewrite(m).max_forwards(70).ensure_content_length().write();
    CHECK(out ==
          "OPTIONS sip:a@example.com SIP/2.0\r\n"
          "v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
          "f: <sip:a@example.com>;tag=1\r\nt: <sip:b@example.com>\r\ni: c\r\nCSeq: 2 OPTIONS\r\n"
          "Max-Forwards: 70\r\n"
          "Content-Length: 5\r\n"
          "\r\n"
          "hello");
    // Already present: nothing added.
    auto n = parse(kRequest);
    CHECK(sip::Rewrite(n).ensure_content_length().write() == kRequest);
}

TEST_CASE("a response loses the proxy's Via (RFC 3261 16.7 step 3)", "[rewrite]") {
    auto m = parse(
        "SIP/2.0 200 OK\r\n"
        "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1, SIP/2.0/UDP a.example.com"
        ";branch=z9hG4bK1;received=192.0.2.1\r\n"
        "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>;tag=2\r\n"
        "Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    std::string out = sip::Rewrite(m).remove_first_value(m.vias()[0].header_index).write();
    CHECK(out ==
          "SIP/2.0 200 OK\r\n"
          "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;received=192.0.2.1\r\n"
          "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>;tag=2\r\n"
          "Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    // A Request-URI edit on a response is ignored.
    CHECK(sip::Rewrite(m).request_uri("sip:x@y").write() == m.bytes());
}

TEST_CASE("folded lines are written unfolded; trailing datagram bytes are not written",
          "[rewrite]") {
    auto m = parse(
        "OPTIONS sip:a@example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP a.example.com\r\n ;branch=z9hG4bK1\r\n"
        "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\n"
        "CSeq: 2 OPTIONS\r\nContent-Length: 0\r\n\r\nextra");
    CHECK(sip::Rewrite(m).write() ==
          "OPTIONS sip:a@example.com SIP/2.0\r\n"
          "Via: SIP/2.0/UDP a.example.com   ;branch=z9hG4bK1\r\n"
          "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\n"
          "CSeq: 2 OPTIONS\r\nContent-Length: 0\r\n\r\n");
}
