#include <catch2/catch.hpp>

#include "websocket/handshake.hpp"

using namespace sipproxy;
using namespace sipproxy::websocket;

namespace {

metrics::HttpRequest parsed(const std::string& text) {
    auto p = metrics::parse_http_request(text);
    REQUIRE(p.status == metrics::HttpParse::Status::Ok);
    return p.request;
}

// What SIP.js in Chromium sends (RFC 7118 section 9's example, with an Origin).
std::string upgrade(std::string_view protocol = "sip", std::string_view origin = "http://127.0.0.1:8000",
                    std::string_view version = "13") {
    return "GET / HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nConnection: Upgrade\r\nPragma: no-cache\r\n"
           "Upgrade: websocket\r\nOrigin: " + std::string(origin) +
           "\r\nSec-WebSocket-Version: " + std::string(version) +
           "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Protocol: " + std::string(protocol) + "\r\n\r\n";
}

}  // namespace

TEST_CASE("the accept key of RFC 6455 1.3's example") {
    CHECK(accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("a SIP upgrade is answered 101 with protocol sip") {
    auto a = answer_upgrade(parsed(upgrade()), {});
    CHECK(a.accepted);
    CHECK(a.status == 101);
    CHECK(a.response ==
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n");
    // Offered among others, in a list and across field lines.
    CHECK(answer_upgrade(parsed(upgrade("chat, sip")), {}).accepted);
    auto two_lines = upgrade("chat");
    two_lines.insert(two_lines.size() - 2, "Sec-WebSocket-Protocol: SIP\r\n");
    CHECK(answer_upgrade(parsed(two_lines), {}).accepted);
}

TEST_CASE("an upgrade without sip, or from an Origin not on the list, is refused") {
    auto no_sip = answer_upgrade(parsed(upgrade("chat")), {});
    CHECK_FALSE(no_sip.accepted);
    CHECK(no_sip.status == 400);
    CHECK(no_sip.response.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);

    const std::vector<std::string> allowed{"https://phone.example.com", "http://127.0.0.1:8000"};
    CHECK(answer_upgrade(parsed(upgrade("sip", "HTTP://127.0.0.1:8000")), allowed).accepted);
    auto evil = answer_upgrade(parsed(upgrade("sip", "https://evil.example")), allowed);
    CHECK(evil.status == 403);
    CHECK(evil.reason == "Origin https://evil.example not allowed");
    std::string no_origin = upgrade();
    no_origin.erase(no_origin.find("Origin:"), no_origin.find("\r\n", no_origin.find("Origin:")) + 2 - no_origin.find("Origin:"));
    CHECK(answer_upgrade(parsed(no_origin), allowed).status == 403);
    CHECK(answer_upgrade(parsed(no_origin), {}).accepted);
}

TEST_CASE("what is not a version 13 WebSocket upgrade is refused") {
    auto v8 = answer_upgrade(parsed(upgrade("sip", "x", "8")), {});
    CHECK(v8.status == 426);
    CHECK(v8.response.find("Sec-WebSocket-Version: 13\r\n") != std::string::npos);
    CHECK(answer_upgrade(parsed("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), {}).status == 426);
    auto post = upgrade();
    post.replace(0, 3, "PUT");
    CHECK(answer_upgrade(parsed(post), {}).status == 405);
    auto bad_key = upgrade();
    bad_key.replace(bad_key.find("dGhl"), 4, "d!hl");
    CHECK(answer_upgrade(parsed(bad_key), {}).status == 400);
    auto no_connection = upgrade();
    no_connection.replace(no_connection.find("Connection: Upgrade"), 19, "Connection: close  ");
    CHECK(answer_upgrade(parsed(no_connection), {}).status == 400);
}
