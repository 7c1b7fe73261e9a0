#include <catch2/catch.hpp>

#include "websocket/frame.hpp"

using namespace sipproxy::websocket;
using Kind = WsEvent::Kind;

namespace {

// A client frame: masked with a fixed key (RFC 6455 5.3).
std::string client_frame(std::uint8_t first, std::string_view payload, bool masked = true) {
    std::string f;
    f.push_back(static_cast<char>(first));
    const std::uint64_t n = payload.size();
    const char mask_bit = masked ? static_cast<char>(0x80) : 0;
    if (n < 126) {
        f.push_back(static_cast<char>(mask_bit | static_cast<char>(n)));
    } else if (n <= 0xffff) {
        f.push_back(static_cast<char>(mask_bit | 126));
        f.push_back(static_cast<char>(n >> 8));
        f.push_back(static_cast<char>(n & 0xff));
    } else {
        f.push_back(static_cast<char>(mask_bit | 127));
        for (int s = 56; s >= 0; s -= 8) f.push_back(static_cast<char>((n >> s) & 0xff));
    }
    const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (masked) f.append(reinterpret_cast<const char*>(key), 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        f.push_back(masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
    return f;
}

}  // namespace

TEST_CASE("a masked text frame is one message, byte by byte too") {
    const auto frame = client_frame(0x81, "Hello");
    // RFC 6455 5.7's example of a masked "Hello".
    CHECK(frame == std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11));
    FrameReader r(1000);
    for (std::size_t i = 0; i + 1 < frame.size(); ++i) {
        r.append(frame.substr(i, 1));
        CHECK_FALSE(r.next());
    }
    r.append(frame.substr(frame.size() - 1));
    auto e = r.next();
    REQUIRE(e);
    CHECK(e->kind == Kind::Message);
    CHECK(e->text);
    CHECK(e->payload == "Hello");
    CHECK_FALSE(r.next());
    CHECK(r.buffered() == 0);
}

TEST_CASE("fragments are joined, with a ping between them") {
    FrameReader r(1000);
    r.append(client_frame(0x01, "INVITE "));
    r.append(client_frame(0x89, "p"));
    r.append(client_frame(0x00, "sip:bob"));
    r.append(client_frame(0x80, "@x SIP/2.0"));
    auto ping = r.next();
    REQUIRE(ping);
    CHECK(ping->kind == Kind::Ping);
    CHECK(ping->payload == "p");
    auto m = r.next();
    REQUIRE(m);
    CHECK(m->kind == Kind::Message);
    CHECK(m->payload == "INVITE sip:bob@x SIP/2.0");
}

TEST_CASE("16- and 64-bit lengths") {
    FrameReader r(100000);
    const std::string medium(300, 'a'), large(70000, 'b');
    r.append(client_frame(0x82, medium));
    r.append(client_frame(0x82, large));
    auto a = r.next();
    REQUIRE(a);
    CHECK_FALSE(a->text);
    CHECK(a->payload == medium);
    auto b = r.next();
    REQUIRE(b);
    CHECK(b->payload == large);
}

TEST_CASE("what a client must not send is an error with its close code") {
    auto first_error = [](std::string bytes, std::size_t max = 1000) {
        FrameReader r(max);
        r.append(bytes);
        auto e = r.next();
        REQUIRE(e);
        CHECK(e->kind == Kind::Error);
        CHECK_FALSE(r.next());
        return e->code;
    };
    CHECK(first_error(client_frame(0x81, "x", false)) == close_code::protocol_error);  // unmasked
    CHECK(first_error(client_frame(0xc1, "x")) == close_code::protocol_error);         // RSV1
    CHECK(first_error(client_frame(0x83, "x")) == close_code::protocol_error);         // opcode 3
    CHECK(first_error(client_frame(0x80, "x")) == close_code::protocol_error);         // lone continuation
    CHECK(first_error(client_frame(0x09, "x")) == close_code::protocol_error);         // fragmented ping
    CHECK(first_error(client_frame(0x89, std::string(126, 'x'))) == close_code::protocol_error);
    CHECK(first_error(client_frame(0x01, "a") + client_frame(0x81, "b")) == close_code::protocol_error);
    CHECK(first_error(client_frame(0x81, std::string(1001, 'x'))) == close_code::too_big);
    CHECK(first_error(client_frame(0x01, std::string(600, 'x')) + client_frame(0x80, std::string(600, 'x'))) ==
          close_code::too_big);
    // Too large is known from the header alone: no payload needs to arrive.
    CHECK(first_error(std::string("\x81\xff\x00\x00\x00\x01\x00\x00\x00\x00", 10)) == close_code::too_big);
    // Not the shortest length encoding.
    CHECK(first_error(std::string("\x81\xfe\x00\x05", 4) + "abcd" + "hello") == close_code::protocol_error);
}

TEST_CASE("close with and without a code") {
    FrameReader r(1000);
    r.append(client_frame(0x88, std::string("\x03\xe8", 2) + "bye"));
    auto e = r.next();
    REQUIRE(e);
    CHECK(e->kind == Kind::Close);
    CHECK(e->code == 1000);
    CHECK(e->payload == "bye");
    FrameReader r2(1000);
    r2.append(client_frame(0x88, ""));
    auto e2 = r2.next();
    REQUIRE(e2);
    CHECK(e2->code == 1005);
}

TEST_CASE("server frames are unmasked with the shortest length") {
    CHECK(encode_frame(Opcode::Text, "Hello") == std::string("\x81\x05Hello", 7));
    const auto medium = encode_frame(Opcode::Binary, std::string(300, 'a'));
    CHECK(medium.substr(0, 4) == std::string("\x82\x7e\x01\x2c", 4));
    const auto large = encode_frame(Opcode::Binary, std::string(70000, 'a'));
    CHECK(large.size() == 70010);
    CHECK(static_cast<unsigned char>(large[1]) == 127);
    CHECK(encode_close(1001) == std::string("\x88\x02\x03\xe9", 4));
    CHECK(encode_frame(Opcode::Pong, "") == std::string("\x8a\x00", 2));
}
