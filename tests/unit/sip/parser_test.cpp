// The message parser: start lines, header names, folding, lists, limits and reasons.
#include <catch2/catch.hpp>
#include <string>

#include "sip/message.hpp"

using sip::HeaderId;
using sip::Method;

namespace {

const std::string kInvite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "From: \"Alice A.\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\n";

// kInvite with its header line `from` replaced by `to` (first occurrence).
std::string with(std::string_view from, std::string_view to, std::string base = kInvite) {
    auto p = base.find(from);
    REQUIRE(p != std::string::npos);
    base.replace(p, from.size(), to);
    return base;
}

sip::Message ok(std::string bytes, bool stream = false) {
    auto r = sip::parse(std::move(bytes), stream);
    INFO((r ? "" : std::string(r.error().reason)));
    REQUIRE(r.has_value());
    return std::move(r).value();
}

std::string_view reason(std::string bytes, bool stream = false, const sip::Limits& limits = {}) {
    auto r = sip::parse(std::move(bytes), stream, limits);
    if (r) return "parsed";
    return r.error().reason;
}

}  // namespace

TEST_CASE("a typical INVITE", "[parser]") {
    auto m = ok(kInvite);
    CHECK(m.is_request());
    CHECK(m.method() == Method::Invite);
    CHECK(m.method_text() == "INVITE");
    CHECK(m.request_uri().user == "bob");
    CHECK(m.version() == "SIP/2.0");
    CHECK(m.start_line() == "INVITE sip:bob@biloxi.example.com SIP/2.0");
    REQUIRE(m.vias().size() == 1);
    const auto& v = m.vias()[0];
    CHECK(v.protocol == "SIP/2.0");
    CHECK(v.transport == "UDP");
    CHECK(v.host == "pc33.atlanta.example.com");
    CHECK(v.port == 5060);
    CHECK(v.branch == "z9hG4bK776asdhds");
    CHECK(v.has_rport);
    CHECK(v.rfc3261_branch());
    CHECK(m.top_branch() == "z9hG4bK776asdhds");
    CHECK(m.max_forwards() == 70u);
    CHECK(m.to().display_name == "Bob");
    CHECK(m.to().tag.empty());
    CHECK(m.from().display_name == "Alice A.");
    CHECK(m.from().tag == "1928301774");
    CHECK(m.from().raw == "\"Alice A.\" <sip:alice@atlanta.example.com>;tag=1928301774");
    CHECK(m.call_id() == "a84b4c76e66710@pc33.atlanta.example.com");
    CHECK(m.cseq().number == 314159);
    CHECK(m.cseq().method == Method::Invite);
    CHECK(m.content_length() == 4u);
    CHECK(m.body() == "v=0\n");
    CHECK(m.body_offset() == kInvite.size() - 4);
    CHECK(m.bytes() == kInvite);
    REQUIRE(m.headers().size() == 9);
    CHECK(m.headers()[0].id == HeaderId::Via);
    CHECK(m.headers()[0].begin == kInvite.find("Via:"));
    CHECK(m.headers()[0].end == kInvite.find("Max-Forwards"));
}

TEST_CASE("a response", "[parser]") {
    auto m =
        ok("SIP/2.0 180 Ringing\r\n"
           "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
           "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\n"
           "Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
    CHECK(m.is_response());
    CHECK(m.status() == 180);
    CHECK(m.reason() == "Ringing");
    CHECK(m.to().tag == "2");
    CHECK(m.start_line() == "SIP/2.0 180 Ringing");
}

TEST_CASE("methods and header names", "[parser]") {
    CHECK(sip::method_from_name("INVITE") == Method::Invite);
    CHECK(sip::method_from_name("invite") == Method::Unknown);  // case-sensitive
    CHECK(sip::method_from_name("PUBLISH") == Method::Publish);
    CHECK(sip::method_name(Method::Refer) == "REFER");
    CHECK(sip::method_name(Method::Unknown).empty());
    CHECK(sip::header_id("via") == HeaderId::Via);
    CHECK(sip::header_id("VIA") == HeaderId::Via);
    CHECK(sip::header_id("v") == HeaderId::Via);
    CHECK(sip::header_id("I") == HeaderId::CallId);
    CHECK(sip::header_id("m") == HeaderId::Contact);
    CHECK(sip::header_id("e") == HeaderId::ContentEncoding);
    CHECK(sip::header_id("l") == HeaderId::ContentLength);
    CHECK(sip::header_id("c") == HeaderId::ContentType);
    CHECK(sip::header_id("f") == HeaderId::From);
    CHECK(sip::header_id("s") == HeaderId::Subject);
    CHECK(sip::header_id("k") == HeaderId::Supported);
    CHECK(sip::header_id("t") == HeaderId::To);
    CHECK(sip::header_id("o") == HeaderId::Event);
    CHECK(sip::header_id("u") == HeaderId::Other);
    CHECK(sip::header_id("www-authenticate") == HeaderId::WwwAuthenticate);
    CHECK(sip::header_id("Proxy-Authorization") == HeaderId::ProxyAuthorization);
    CHECK(sip::header_id("Record-Route") == HeaderId::RecordRoute);
    CHECK(sip::header_id("Min-Expires") == HeaderId::MinExpires);
    CHECK(sip::header_id("X-Custom") == HeaderId::Other);
    CHECK(sip::header_id("") == HeaderId::Other);
    for (int i = 1; i <= static_cast<int>(HeaderId::Event); ++i) {
        auto id = static_cast<HeaderId>(i);
        CHECK(sip::header_id(sip::header_name(id)) == id);
    }
    CHECK(sip::header_name(HeaderId::CallId) == "Call-ID");
}

TEST_CASE("compact forms and find()", "[parser]") {
    auto m =
        ok("MESSAGE sip:b@example.com SIP/2.0\r\n"
           "v: SIP/2.0/TCP h.example.com;branch=z9hG4bKa\r\n"
           "f: <sip:a@example.com>;tag=1\r\nt: <sip:b@example.com>\r\ni: cid\r\n"
           "CSeq: 2 MESSAGE\r\nm: <sip:a@h.example.com>\r\nk: path, gruu\r\nu: presence\r\n"
           "r: <sip:c@example.com>\r\nX-Thing: 1\r\nl: 0\r\n\r\n");
    CHECK(m.call_id() == "cid");
    CHECK(m.contacts().size() == 1);
    CHECK(m.find("Call-ID") == m.find("i"));
    CHECK(m.find("content-length")->name == "l");
    CHECK(m.find("Allow-Events")->name == "u");
    CHECK(m.find("refer-to")->name == "r");
    CHECK(m.find("x-thing")->value == "1");
    CHECK(m.find("Nope") == nullptr);
    CHECK(m.find(HeaderId::Route) == nullptr);
    auto tags = m.option_tags(HeaderId::Supported);
    REQUIRE(tags.size() == 2);
    CHECK(tags[0] == "path");
    CHECK(tags[1] == "gruu");
}

TEST_CASE("folded header lines are unfolded in place", "[parser]") {
    auto m =
        ok(with("Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n",
                "Call-ID:\r\n a84b4c76e66710@pc33.atlanta.example.com\r\n"
                "Subject: I know you're there,\r\n\tpick up the phone\r\n  and talk to me!\r\n"));
    CHECK(m.call_id() == "a84b4c76e66710@pc33.atlanta.example.com");
    const auto* s = m.find(HeaderId::Subject);
    REQUIRE(s);
    CHECK(s->value == "I know you're there,  \tpick up the phone    and talk to me!");
    // The line still spans the original bytes, folds included.
    CHECK(m.bytes().substr(s->begin, 8) == "Subject:");
    CHECK(m.bytes().substr(s->end - 2, 2) == "\r\n");
}

TEST_CASE("comma lists and repeated headers", "[parser]") {
    auto m =
        ok(with("Contact: <sip:alice@pc33.atlanta.example.com>\r\n",
                "Contact: \"Mr, Comma\" <sip:a@h1.example.com;x=y>;q=0.7, sip:b@h2.example.com"
                ";expires=60 , <sip:c,d@h3.example.com>\r\n"
                "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
                "Route: <sip:p3.example.com;lr>\r\n"
                "Record-Route: <sip:rr.example.com;lr>\r\nPath: <sip:edge.example.com;lr>\r\n"
                "Via: SIP/2.0/TCP b.example.com;branch=z9hG4bK2, SIP/2.0/UDP c.example.com:5070"
                ";branch=z9hG4bK3;received=192.0.2.9;rport=5071;maddr=224.2.0.1;ttl=16\r\n"));
    REQUIRE(m.contacts().size() == 3);
    CHECK(m.contacts()[0].addr.display_name == "Mr, Comma");
    CHECK(m.contacts()[0].q == Approx(0.7));
    CHECK(m.contacts()[1].addr.uri.host == "h2.example.com");
    CHECK(m.contacts()[1].expires == 60u);
    CHECK(m.contacts()[1].addr.value_index == 1);
    CHECK(m.contacts()[2].addr.uri.user == "c,d");
    CHECK_FALSE(m.contacts()[2].q.has_value());
    REQUIRE(m.routes().size() == 3);
    CHECK(m.routes()[1].uri.host == "p2.example.com");
    CHECK(m.routes()[1].header_index == m.routes()[0].header_index);
    CHECK(m.routes()[2].header_index == m.routes()[0].header_index + 1);
    CHECK(m.routes()[2].value_index == 0);
    CHECK(m.record_routes().size() == 1);
    CHECK(m.paths().size() == 1);
    REQUIRE(m.vias().size() == 3);
    const auto& v = m.vias()[2];
    CHECK(v.port == 5070);
    CHECK(v.received == "192.0.2.9");
    CHECK(v.rport == 5071);
    CHECK(v.maddr == "224.2.0.1");
    CHECK(v.ttl == 16);
    CHECK(v.param("ttl") == "16");
    CHECK(v.params == "branch=z9hG4bK3;received=192.0.2.9;rport=5071;maddr=224.2.0.1;ttl=16");
}

TEST_CASE("Contact star, Expires and quoted strings", "[parser]") {
    auto m = ok(
        with("Contact: <sip:alice@pc33.atlanta.example.com>\r\n", "Contact: *\r\nExpires: 0\r\n"));
    REQUIRE(m.contacts().size() == 1);
    CHECK(m.contacts()[0].star);
    CHECK(m.expires() == 0u);
    auto big = ok(with("Max-Forwards: 70\r\n", "Max-Forwards: 70\r\nExpires: 99999999999\r\n"));
    CHECK(big.expires() == 4294967295u);
    auto q = ok(with("From: \"Alice A.\"", "From: \"A \\\"quoted\\\" \\\\ name\""));
    CHECK(q.from().display_name == R"(A \"quoted\" \\ name)");
}

TEST_CASE("datagram framing", "[parser]") {
    // Content-Length smaller than the datagram: the rest is dropped (RFC 3261 18.3).
    auto m = ok(kInvite + "garbage");
    CHECK(m.body() == "v=0\n");
    CHECK(m.bytes() == kInvite);
    // No Content-Length on a datagram: the body is the rest.
    auto n = ok(with("Content-Length: 4\r\n", ""));
    CHECK(n.body() == "v=0\n");
    CHECK_FALSE(n.content_length().has_value());
    CHECK(reason(with("Content-Length: 4\r\n", ""), true) == "Missing Content-Length");
    CHECK(reason(with("Content-Length: 4", "Content-Length: 5")) ==
          "Content-Length exceeds message body");
    CHECK(reason(with("Content-Length: 4", "Content-Length: 4x")) == "Malformed Content-Length");
    CHECK(reason(with("Content-Length: 4", "Content-Length: 99999999999")) ==
          "Malformed Content-Length");
    // Leading CRLFs are skipped (RFC 3261 7.5).
    CHECK(ok("\r\n\r\n" + kInvite).method() == Method::Invite);
}

TEST_CASE("every refusal has its precise reason", "[parser]") {
    CHECK(reason("") == "Empty message");
    CHECK(reason("\r\n") == "Empty message");
    CHECK(reason("INVITE sip:a@b SIP/2.0") == "Malformed start line");
    CHECK(reason("INVITE sip:a@b SIP/2.0\n\n") == "Malformed start line");
    CHECK(reason(with("SIP/2.0\r\n", "SIP/3.0\r\n")) == "Unsupported SIP version");
    CHECK(sip::parse(with("SIP/2.0\r\n", "SIP/3.0\r\n")).error().status == 505);
    CHECK(reason(with("SIP/2.0\r\n", "HTTP/1.1\r\n")) == "Malformed Request-Line");
    CHECK(reason(with("INVITE sip", "INV<ITE sip")) == "Malformed Request-Line");
    CHECK(reason(with("sip:bob@biloxi.example.com", "sip:bob@[biloxi")) == "Malformed Request-URI");
    CHECK(reason(with("Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n", "")) ==
          "Missing Call-ID");
    CHECK(reason(with("CSeq: 314159 INVITE\r\n", "")) == "Missing CSeq");
    CHECK(reason(with("From: \"Alice A.\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n",
                      "")) == "Missing From");
    CHECK(reason(with("To: Bob <sip:bob@biloxi.example.com>\r\n", "")) == "Missing To");
    CHECK(reason(with(
              "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n",
              "")) == "Missing Via");
    CHECK(reason(with("CSeq: 314159 INVITE", "CSeq: 314159 BYE")) ==
          "CSeq method does not match request method");
    CHECK(reason(with("CSeq: 314159 INVITE", "CSeq: 314159 invite")) ==
          "CSeq method does not match request method");
    CHECK(reason(with("CSeq: 314159 INVITE", "CSeq: 2147483648 INVITE")) == "Malformed CSeq");
    CHECK(reason(with("CSeq: 314159 INVITE", "CSeq: INVITE")) == "Malformed CSeq");
    CHECK(reason(with("CSeq: 314159 INVITE", "CSeq: 314159INVITE")) == "Malformed CSeq");
    CHECK(reason(with("CSeq: 314159 INVITE", "CSeq: 1 INVITE\r\nCSeq: 1 INVITE")) ==
          "Multiple CSeq headers");
    CHECK(reason(with("Max-Forwards: 70", "Max-Forwards: 256")) == "Malformed Max-Forwards");
    CHECK(reason(with("Max-Forwards: 70", "Max-Forwards: -1")) == "Malformed Max-Forwards");
    CHECK(reason(with("Max-Forwards: 70", "Max-Forwards: 70\r\nMax-Forwards: 69")) ==
          "Multiple Max-Forwards headers");
    CHECK(reason(with("Call-ID: a84b4c76e66710", "Call-ID: a84b 4c76e66710")) ==
          "Malformed Call-ID");
    CHECK(reason(with("Call-ID: a84b4c76e66710@pc33.atlanta.example.com", "Call-ID:")) ==
          "Malformed Call-ID");
    CHECK(reason(with("Max-Forwards: 70", "Max-Forwards: 70\r\ni: dup")) ==
          "Multiple Call-ID headers");
    CHECK(reason(with("To: Bob <sip:bob@biloxi.example.com>",
                      "To: Bob <sip:bob@biloxi.example.com")) == "Malformed To");
    CHECK(reason(with("To: Bob", "To: Bob, Jr.")) == "Malformed To");
    CHECK(reason(with("Max-Forwards: 70", "Max-Forwards: 70\r\nt: x <sip:x@y>")) ==
          "Multiple To headers");
    CHECK(reason(with(";tag=1928301774", ";tag=")) == "Malformed From");
    CHECK(reason(with(";tag=1928301774", ";;tag=1")) == "Malformed From");
    CHECK(reason(with("From: \"Alice A.\" <", "From: \"Alice A.\" junk <")) == "Malformed From");
    CHECK(reason(with("SIP/2.0/UDP pc33", "SIP/2.0 pc33")) == "Malformed Via");
    CHECK(reason(with("SIP/2.0/UDP pc33", "SIP/2.0/UDPpc33")) == "Malformed Via");
    CHECK(reason(with(";rport\r\n", ";rport=99999\r\n")) == "Malformed Via");
    CHECK(reason(with(";rport\r\n", ";ttl=300\r\n")) == "Malformed Via");
    CHECK(reason(with(";rport\r\n", ";branch\r\n")) == "Malformed Via");
    CHECK(reason(with(";rport\r\n", ";rport,\r\n")) == "Malformed Via");
    CHECK(reason(with(":5060;", ":0;")) == "Malformed Via");
    CHECK(reason(with("Contact: <sip:alice@pc33.atlanta.example.com>", "Contact: <sip:a@b>;q=2")) ==
          "Malformed Contact");
    CHECK(reason(with("Contact: <sip:alice@pc33.atlanta.example.com>",
                      "Contact: <sip:a@b>;expires=x")) == "Malformed Contact");
    CHECK(reason(with("Contact: <sip:alice@pc33.atlanta.example.com>", "Route: <sip:a@b;lr>,")) ==
          "Malformed Route");
    CHECK(reason(with("Contact: <sip:alice@pc33.atlanta.example.com>", "Record-Route: x")) ==
          "Malformed Record-Route");
    CHECK(reason(with("Contact: <sip:alice@pc33.atlanta.example.com>", "Path: <>")) ==
          "Malformed Path");
    CHECK(reason(with("Max-Forwards: 70\r\n", "Max-Forwards 70\r\n")) == "Malformed header field");
    CHECK(reason(with("Max-Forwards: 70\r\n", ": 70\r\n")) == "Malformed header field");
    CHECK(reason(with("Max-Forwards: 70\r\n", "Max-Forwards: 70\n")) == "Malformed line ending");
    CHECK(reason(with("Max-Forwards: 70\r\n", "Max-Forwards: 7\r0\r\n")) ==
          "Malformed line ending");
    CHECK(reason(with("Max-Forwards: 70\r\n", "Max-Forwards: 70\r\n\r")) ==
          "Malformed header field");
    CHECK(reason("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n") ==
          "Incomplete header section");
}

TEST_CASE("limits", "[parser]") {
    sip::Limits small;
    small.max_message_size = 100;
    auto r = sip::parse(kInvite, false, small);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().status == 513);
    CHECK(r.error().reason == "Message Too Large");
    CHECK(r.error().raw == kInvite);
    CHECK(reason(std::string(70000, 'x')) == "Message Too Large");

    sip::Limits few;
    few.max_headers = 5;
    CHECK(reason(kInvite, false, few) == "Too many header fields");
    sip::Limits shortline;
    shortline.max_header_line = 60;
    CHECK(reason(kInvite, false, shortline) == "Header field too long");
    shortline.max_header_line = 20;
    CHECK(reason(kInvite, false, shortline) == "Start line too long");
}

TEST_CASE("a failed parse hands the bytes back", "[parser]") {
    std::string bad = with("CSeq: 314159 INVITE", "CSeq: x INVITE");
    auto r = sip::parse(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().raw == bad);
}

TEST_CASE("views stay valid when the message moves", "[parser]") {
    auto r = sip::parse(kInvite);
    REQUIRE(r);
    sip::Message m = std::move(r).value();
    std::string_view cid = m.call_id();
    sip::Message moved = std::move(m);
    CHECK(moved.call_id().data() == cid.data());
    CHECK(moved.call_id() == "a84b4c76e66710@pc33.atlanta.example.com");
}
