// Forwarding a request (RFC 3261 16.6) and the Via stamping of 18.2.1 / RFC 3581, checked
// on the exact bytes the proxy would send.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <catch2/catch.hpp>
#include <optional>

#include "proxy/forwarder.hpp"
#include "proxy/locality.hpp"
#include "proxy/path_tokens.hpp"
#include "transaction/branch.hpp"

using namespace sipproxy;

namespace {

transport::Local local(transport::Protocol p, const char* ip, std::uint16_t port) {
    return transport::Local::at(p, asio::ip::make_address(ip), port);
}

struct Setup {
    asio::io_context io;
    std::vector<transport::Local> locals{local(transport::Protocol::Udp, "127.0.0.1", 5060),
                                         local(transport::Protocol::Tcp, "127.0.0.1", 5060),
                                         local(transport::Protocol::Tls, "127.0.0.1", 5061)};
    transport::Transport transport{io, 0, locals, {}};
    transport::Peer source{transport::Protocol::Udp, asio::ip::make_address("192.0.2.7"), 40000, 0, {}};
    const proxy::PathTokens* tokens = nullptr;
    std::string branch = "z9hG4bK-sp00test.1";

    Expected<proxy::Forwarded, proxy::ForwardFailure> forward(const sip::Message& m,
                                                              const proxy::Target& t,
                                                              proxy::RouteEdit edit = {},
                                                              bool rr = true) {
        std::optional<Expected<proxy::Forwarded, proxy::ForwardFailure>> out;
        proxy::ForwardInput in{&m, edit, &t, &locals[0], &source, rr, branch, nullptr, tokens};
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                out.emplace(co_await proxy::forward_request(in, transport));
            },
            asio::detached);
        io.restart();
        io.run();
        REQUIRE(out);
        return std::move(*out);
    }
};

sip::Message parse(const std::string& s) {
    auto r = sip::parse(s);
    REQUIRE(r);
    return std::move(r.value());
}

const std::string invite =
    "INVITE sip:bob@192.0.2.20:5070 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKabc;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.test>;tag=1\r\n"
    "To: <sip:bob@example.test>\r\n"
    "Call-ID: fwd-1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 0\r\n\r\n";

}  // namespace

TEST_CASE("forwarded request: new Via on top, previous Via stamped, Max-Forwards - 1, Record-Route") {
    Setup s;
    auto m = parse(invite);
    proxy::Target t;
    auto f = s.forward(m, t);
    REQUIRE(f);
    CHECK(f->destination.to_string() == "udp:192.0.2.20:5070");
    CHECK(f->bytes.rfind("INVITE sip:bob@192.0.2.20:5070 SIP/2.0\r\n"
                         "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-sp00test.1\r\n"
                         "Record-Route: <sip:127.0.0.1:5060;lr>\r\n",
                         0) == 0);
    // RFC 3581: rport filled with the source port, received with the source address.
    CHECK(f->bytes.find("Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKabc;rport=40000;received=192.0.2.7\r\n") !=
          std::string::npos);
    CHECK(f->bytes.find("Max-Forwards: 69\r\n") != std::string::npos);
    auto again = sip::parse(f->bytes);
    REQUIRE(again);
    CHECK(again->vias().size() == 2);
}

TEST_CASE("a change of transport records the route twice, outbound side on top") {
    Setup s;
    auto m = parse(invite);
    proxy::Target t;
    t.request_uri = "sip:bob@192.0.2.20:5070;transport=tcp";
    auto f = s.forward(m, t);
    REQUIRE(f);
    CHECK(f->destination.protocol == transport::Protocol::Tcp);
    CHECK(f->bytes.find("Via: SIP/2.0/TCP 127.0.0.1:5060;branch=") != std::string::npos);
    const auto rr_tcp = f->bytes.find("Record-Route: <sip:127.0.0.1:5060;transport=tcp;lr>\r\n");
    const auto rr_udp = f->bytes.find("Record-Route: <sip:127.0.0.1:5060;lr>\r\n");
    REQUIRE(rr_tcp != std::string::npos);
    REQUIRE(rr_udp != std::string::npos);
    CHECK(rr_tcp < rr_udp);
    CHECK(f->bytes.rfind("INVITE sip:bob@192.0.2.20:5070;transport=tcp SIP/2.0\r\n", 0) == 0);
}

TEST_CASE("loose routing: the proxy's own Route is consumed, the next one is the next hop") {
    Setup s;
    auto m = parse(
        "BYE sip:bob@192.0.2.20:5070 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.7:40000;branch=z9hG4bKbye\r\n"
        "Route: <sip:127.0.0.1:5060;lr>, <sip:192.0.2.99:5080;lr>\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:alice@example.test>;tag=1\r\n"
        "To: <sip:bob@example.test>;tag=2\r\nCall-ID: fwd-2\r\nCSeq: 2 BYE\r\n"
        "Content-Length: 0\r\n\r\n");
    proxy::Target t;
    proxy::RouteEdit edit;
    edit.own_routes = 1;
    auto f = s.forward(m, t, edit, false);
    REQUIRE(f);
    CHECK(f->destination.to_string() == "udp:192.0.2.99:5080");
    CHECK(f->bytes.find("Route: <sip:192.0.2.99:5080;lr>\r\n") != std::string::npos);
    CHECK(f->bytes.find("127.0.0.1:5060;lr") == std::string::npos);
    CHECK(f->bytes.find("Record-Route") == std::string::npos);
}

TEST_CASE("strict-routing previous hop: the last Route becomes the Request-URI (16.4)") {
    Setup s;
    auto m = parse(
        "BYE sip:127.0.0.1:5060;lr SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.7:40000;branch=z9hG4bKstrict\r\n"
        "Route: <sip:bob@192.0.2.20:5070>\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:alice@example.test>;tag=1\r\n"
        "To: <sip:bob@example.test>;tag=2\r\nCall-ID: fwd-3\r\nCSeq: 2 BYE\r\n"
        "Content-Length: 0\r\n\r\n");
    proxy::Target t;
    proxy::RouteEdit edit;
    edit.strict_fix = true;
    auto f = s.forward(m, t, edit, false);
    REQUIRE(f);
    CHECK(f->bytes.rfind("BYE sip:bob@192.0.2.20:5070 SIP/2.0\r\n", 0) == 0);
    CHECK(f->bytes.find("Route:") == std::string::npos);
    CHECK(f->destination.to_string() == "udp:192.0.2.20:5070");
}

TEST_CASE("broadcast, multicast and unspecified next hops are refused") {
    Setup s;
    for (const char* host : {"255.255.255.255", "224.0.0.1", "0.0.0.0"}) {
        auto m = parse(std::string("OPTIONS sip:x@") + host +
                       " SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKb\r\n"
                       "From: <sip:a@example.test>;tag=1\r\nTo: <sip:x@example.test>\r\n"
                       "Call-ID: b\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
        proxy::Target t;
        auto f = s.forward(m, t, {}, false);
        REQUIRE(!f);
        CHECK(f.error().status == 403);
    }
}

TEST_CASE("locality: domains case-insensitively, own addresses with the default port") {
    proxy::Locality l({"Example.Test"},
                      {local(transport::Protocol::Udp, "127.0.0.1", 5060),
                       local(transport::Protocol::Udp, "::1", 5062)});
    CHECK(l.is_local_domain("example.TEST"));
    CHECK(!l.is_local_domain("example.org"));
    CHECK(l.is_own_address("127.0.0.1", 0));
    CHECK(l.is_own_address("127.0.0.1", 5060));
    CHECK(!l.is_own_address("127.0.0.1", 5070));
    CHECK(l.is_own_address("[::1]", 5062));
    CHECK(!l.is_own_address("[::1]", 0));
}

TEST_CASE("with tokens: both Record-Routes carry the dialog token, the branch the via token") {
    Setup s;
    sipproxy::auth::NodeSecret secret;
    secret.bytes.fill(7);
    proxy::PathTokens tokens(secret);
    s.tokens = &tokens;
    s.branch = transaction::make_branch(0, 0x11223344, 1);
    auto m = parse(invite);
    proxy::Target t;
    t.request_uri = "sip:bob@192.0.2.20:5070;transport=tcp";
    auto f = s.forward(m, t);
    REQUIRE(f);
    const std::string dlg = tokens.dialog("fwd-1", "1");
    CHECK(f->bytes.find("Record-Route: <sip:127.0.0.1:5060;transport=tcp;lr;dlg=" + dlg + ">\r\n") !=
          std::string::npos);
    CHECK(f->bytes.find("Record-Route: <sip:127.0.0.1:5060;lr;dlg=" + dlg + ">\r\n") !=
          std::string::npos);
    // The branch: worker index still first, then the token of the Via below as stamped.
    auto out = sip::parse(f->bytes);
    REQUIRE(out);
    REQUIRE(out->vias().size() == 2);
    const auto& ours = out->vias()[0];
    CHECK(ours.branch == f->branch);
    CHECK(transaction::branch_worker(ours.branch) == 0u);
    const auto token = transaction::branch_token(ours.branch);
    CHECK(tokens.via_matches(token, proxy::ViaHop::of(out->vias()[1])));
    // The Record-Route as the caller will send it back in a Route verifies, from both ends.
    const std::string rr_text = "sip:127.0.0.1:5060;lr;dlg=" + dlg;  // the Uri views into it
    auto rr = sip::parse_uri(rr_text);
    REQUIRE(rr);
    CHECK(tokens.dialog_matches(*rr->param("dlg"), "fwd-1", "1", "callee-tag"));
    CHECK(tokens.dialog_matches(*rr->param("dlg"), "fwd-1", "callee-tag", "1"));
}

TEST_CASE("TLS next hops: transport=tls and sips: go over TLS, Via TLS, Record-Route on both sides") {
    Setup s;
    auto m = parse(invite);
    proxy::Target t;
    t.request_uri = "sip:bob@192.0.2.20;transport=tls";
    auto f = s.forward(m, t);
    REQUIRE(f);
    CHECK(f->destination.protocol == transport::Protocol::Tls);
    CHECK(f->destination.port == 5061);  // the TLS default port
    CHECK(f->bytes.find("Via: SIP/2.0/TLS 127.0.0.1:5061;branch=") != std::string::npos);
    CHECK(f->bytes.find("Record-Route: <sip:127.0.0.1:5061;transport=tls;lr>\r\n") != std::string::npos);
    CHECK(f->bytes.find("Record-Route: <sip:127.0.0.1:5060;lr>\r\n") != std::string::npos);

    // RFC 3261 26.2: sips: is TLS even with ;transport=tcp; its Record-Route is sips:.
    t.request_uri = "sips:bob@192.0.2.20:5071;transport=tcp";
    f = s.forward(m, t);
    REQUIRE(f);
    CHECK(f->destination.protocol == transport::Protocol::Tls);
    CHECK(f->destination.port == 5071);
    CHECK(f->bytes.find("Record-Route: <sips:127.0.0.1:5061;lr>\r\n") != std::string::npos);

    t.request_uri = "sips:bob@192.0.2.20;transport=udp";
    f = s.forward(m, t);
    REQUIRE_FALSE(f);
    CHECK(f.error().status == 416);
}
