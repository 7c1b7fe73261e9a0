// Stream framing (RFC 3261 18.3, RFC 5626 3.5.1).
#include "sip/framer.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using Event = sip::StreamFramer::Event;

namespace {

const std::string kMsg1 =
    "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
    "Content-Length: 5\r\n\r\nhello";
const std::string kMsg2 = "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nl: 0\r\n\r\n";

struct Collected {
    std::vector<std::string> messages;
    int pings = 0;
    std::vector<sip::ParseError> errors;
};

void drain(sip::StreamFramer& f, Collected& c) {
    for (;;) {
        auto r = f.next();
        switch (r.event) {
            case Event::NeedMore:
                return;
            case Event::Message:
                c.messages.push_back(r.message);
                break;
            case Event::Ping:
                ++c.pings;
                break;
            case Event::Error:
                c.errors.push_back(r.error);
                return;
        }
    }
}

Collected feed(std::string_view data, std::size_t chunk, const sip::Limits& limits = {}) {
    sip::StreamFramer f(limits);
    Collected c;
    for (std::size_t i = 0; i < data.size() && c.errors.empty(); i += chunk) {
        f.append(data.substr(i, chunk));
        drain(f, c);
    }
    return c;
}

}  // namespace

TEST_CASE("several messages in one read", "[framer]") {
    auto c = feed(kMsg1 + kMsg2 + kMsg1, 1 << 20);
    REQUIRE(c.messages.size() == 3);
    CHECK(c.messages[0] == kMsg1);
    CHECK(c.messages[1] == kMsg2);
    CHECK(c.messages[2] == kMsg1);
    CHECK(c.errors.empty());
}

TEST_CASE("one message over many reads, byte by byte and at every split", "[framer]") {
    const std::string all = kMsg1 + kMsg2;
    auto c = feed(all, 1);
    REQUIRE(c.messages.size() == 2);
    CHECK(c.messages[0] == kMsg1);
    CHECK(c.messages[1] == kMsg2);
    for (std::size_t split = 1; split < all.size(); ++split) {
        sip::StreamFramer f;
        Collected got;
        f.append(std::string_view(all).substr(0, split));
        drain(f, got);
        f.append(std::string_view(all).substr(split));
        drain(f, got);
        INFO("split at " << split);
        REQUIRE(got.messages.size() == 2);
        CHECK(got.messages[0] == kMsg1);
        CHECK(got.messages[1] == kMsg2);
        CHECK(f.buffered() == 0);
    }
}

TEST_CASE("CRLF keep-alives and stray CRLFs", "[framer]") {
    // RFC 5626 3.5.1: CRLFCRLF is a ping; RFC 3261 7.5: lone CRLFs before a message are skipped.
    for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{1000}}) {
        INFO("chunk " << chunk);
        auto c = feed("\r\n\r\n" + kMsg1 + "\r\n" + kMsg2 + "\r\n\r\n\r\n\r\n", chunk);
        CHECK(c.pings == 3);
        REQUIRE(c.messages.size() == 2);
        CHECK(c.messages[0] == kMsg1);
        CHECK(c.messages[1] == kMsg2);
        CHECK(c.errors.empty());
    }
    // A lone CRLF waits: it may become a ping.
    sip::StreamFramer f;
    f.append("\r\n");
    CHECK(f.next().event == Event::NeedMore);
    f.append("\r\n");
    CHECK(f.next().event == Event::Ping);
    CHECK(f.next().event == Event::NeedMore);
}

TEST_CASE("missing, malformed and conflicting Content-Length", "[framer]") {
    auto missing = feed("OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n", 7);
    REQUIRE(missing.errors.size() == 1);
    CHECK(missing.errors[0].reason == "Missing Content-Length");
    CHECK(missing.errors[0].status == 400);
    auto bad = feed("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n", 100);
    REQUIRE(bad.errors.size() == 1);
    CHECK(bad.errors[0].reason == "Malformed Content-Length");
    auto two = feed("OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab", 100);
    REQUIRE(two.errors.size() == 1);
    CHECK(two.errors[0].reason == "Multiple Content-Length headers");
    // Folded value, name with SP before the colon.
    auto folded = feed("OPTIONS sip:a@b SIP/2.0\r\nContent-Length :\r\n 2\r\n\r\nab", 100);
    REQUIRE(folded.messages.size() == 1);
    // The stream stays failed.
    sip::StreamFramer f;
    f.append("OPTIONS sip:a@b SIP/2.0\r\n\r\n");
    CHECK(f.next().event == Event::Error);
    f.append(kMsg1);
    CHECK(f.next().event == Event::Error);
}

TEST_CASE("oversize messages are refused early", "[framer]") {
    sip::Limits limits;
    limits.max_message_size = 100;
    auto headers = feed(std::string(150, 'a'), 10, limits);  // no end of headers in sight
    REQUIRE(headers.errors.size() == 1);
    CHECK(headers.errors[0].status == 513);
    CHECK(headers.errors[0].reason == "Message Too Large");
    auto body = feed("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 4000000000\r\n\r\n", 1000, limits);
    REQUIRE(body.errors.size() == 1);
    CHECK(body.errors[0].status == 513);
    auto exact = feed(kMsg1, 3, sip::Limits{kMsg1.size(), 256, 8192});
    CHECK(exact.messages.size() == 1);
}
