// The live trace without sockets: the header scan, the filters with their call memory,
// and the bounded per-session queues of the Tracer.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "trace/call_matcher.hpp"
#include "trace/trace_keys.hpp"
#include "trace/tracer.hpp"

using namespace sipproxy;
using namespace sipproxy::trace;

namespace {

std::string invite(const std::string& call_id, const std::string& from_user = "alice",
                   const std::string& to_user = "bob") {
    return "INVITE sip:" + to_user +
           "@example.test SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1\r\n"
           "From: \"A\" <sip:" +
           from_user +
           "@example.test>;tag=1\r\n"
           "To: <sip:" +
           to_user +
           "@example.test>\r\n"
           "Call-ID: " +
           call_id +
           "\r\n"
           "CSeq: 1 INVITE\r\n"
           "Content-Length: 0\r\n\r\n";
}

AddressKey ip(const char* text) {
    IpBytes b{};
    IpFamily f{};
    if (!parse_ip(text, b, f)) throw std::invalid_argument(text);
    return AddressKey::from_bytes(b, f);
}

Cidr cidr(const char* text) {
    auto c = Cidr::parse(text);
    REQUIRE(c);
    return *c;
}

const AddressKey here = ip("127.0.0.1");

}  // namespace

TEST_CASE("trace keys: Call-ID and the users of From and To, long and compact forms") {
    const auto message = invite("abc@host");  // the keys are views into it
    auto k = trace_keys(message);
    CHECK(k.call_id == "abc@host");
    CHECK(k.from_user == "alice");
    CHECK(k.to_user == "bob");

    auto compact = trace_keys(
        "SIP/2.0 180 Ringing\r\n"
        "f: sip:carol@example.test;tag=9\r\n"
        "t: Bob <sips:%62ob@example.test:5061;transport=tcp>\r\n"
        "i:  xyz  \r\n\r\nbody i: not-a-header\r\n");
    CHECK(compact.call_id == "xyz");
    CHECK(compact.from_user == "carol");
    CHECK(compact.to_user == "%62ob");

    // Garbage gives empty keys, never a failure.
    auto none = trace_keys("\x01\x02 garbage");
    CHECK(none.call_id.empty());
    CHECK(trace_keys("").call_id.empty());
    CHECK(trace_keys("X\r\nFrom: <not a uri>\r\nTo: <sip:\r\n\r\n").from_user.empty());
}

TEST_CASE("trace filter: --call-id is an exact match") {
    CallMatcher m(TraceFilter{std::string("abc@host"), {}, {}});
    CHECK(m.matches(Direction::In, here, trace_keys(invite("abc@host"))));
    CHECK(m.matches(Direction::Out, here, trace_keys(invite("abc@host"))));
    CHECK_FALSE(m.matches(Direction::In, here, trace_keys(invite("abc@host2"))));
    CHECK_FALSE(m.matches(Direction::In, here, trace_keys(invite("ABC@host"))));
    CHECK(m.calls() == 0);  // nothing to remember
}

TEST_CASE("trace filter: no filter shows everything") {
    CallMatcher m(TraceFilter{});
    CHECK(m.matches(Direction::In, here, trace_keys(invite("a"))));
    CHECK(m.matches(Direction::Out, ip("2001:db8::1"), trace_keys("garbage")));
}

TEST_CASE("trace filter: --user matches From or To, unescaped, then the whole call") {
    CallMatcher m(TraceFilter{{}, std::string("bob"), {}});
    CHECK(m.matches(Direction::In, here, trace_keys(invite("c1", "alice", "bob"))));
    CHECK(m.matches(Direction::Out, here, trace_keys(invite("c2", "bob", "carol"))));
    CHECK(m.matches(Direction::In, here, trace_keys(invite("c3", "%62ob", "carol"))));
    CHECK_FALSE(m.matches(Direction::In, here, trace_keys(invite("c4", "alice", "carol"))));
    CHECK_FALSE(m.matches(Direction::In, here, trace_keys(invite("c5", "bobby", "carol"))));
    // A later message of c1 whose To names another user (a retargeted leg) still shows.
    CHECK(m.matches(Direction::Out, here, trace_keys(invite("c1", "alice", "alice-phone"))));
}

TEST_CASE("trace filter: --source matches received messages, then their calls both ways") {
    CallMatcher m(TraceFilter{{}, {}, cidr("192.0.2.0/24")});
    // Sent to the network: not by itself.
    CHECK_FALSE(m.matches(Direction::Out, ip("192.0.2.7"), trace_keys(invite("c1"))));
    CHECK(m.matches(Direction::In, ip("192.0.2.7"), trace_keys(invite("c1"))));
    // The forwarded INVITE and the callee's answers of that call.
    CHECK(m.matches(Direction::Out, ip("198.51.100.1"), trace_keys(invite("c1"))));
    CHECK(m.matches(Direction::In, ip("198.51.100.1"), trace_keys(invite("c1"))));
    // Another call from elsewhere.
    CHECK_FALSE(m.matches(Direction::In, ip("198.51.100.1"), trace_keys(invite("c2"))));
    CHECK_FALSE(m.matches(Direction::In, ip("192.0.3.1"), trace_keys(invite("c3"))));
    // IPv6 sources against an IPv4 network, and an IPv6 network.
    CHECK_FALSE(m.matches(Direction::In, ip("2001:db8::1"), trace_keys(invite("c4"))));
    CallMatcher v6(TraceFilter{{}, {}, cidr("2001:db8::/32")});
    CHECK(v6.matches(Direction::In, ip("2001:db8::1"), trace_keys(invite("c4"))));
}

TEST_CASE("trace filter: several criteria must all hold") {
    CallMatcher m(TraceFilter{{}, std::string("alice"), cidr("10.0.0.0/8")});
    CHECK_FALSE(m.matches(Direction::In, ip("10.1.1.1"), trace_keys(invite("c1", "carol", "bob"))));
    CHECK_FALSE(
        m.matches(Direction::In, ip("192.0.2.1"), trace_keys(invite("c2", "alice", "bob"))));
    CHECK(m.matches(Direction::In, ip("10.1.1.1"), trace_keys(invite("c3", "alice", "bob"))));
    CHECK(m.matches(Direction::Out, ip("192.0.2.1"), trace_keys(invite("c3", "alice", "bob"))));
    // c2 was never matched: still out, though alice is in it.
    CHECK_FALSE(
        m.matches(Direction::Out, ip("10.1.1.1"), trace_keys(invite("c2", "alice", "bob"))));
}

TEST_CASE("trace filter: the calls remembered are bounded, the oldest forgotten") {
    CallMatcher m(TraceFilter{{}, std::string("alice"), {}}, 2);
    for (const char* c : {"c1", "c2", "c3"})
        CHECK(m.matches(Direction::In, here, trace_keys(invite(c, "alice", "bob"))));
    CHECK(m.calls() == 2);
    // Messages of the calls that no longer name alice: only the two newest are known.
    CHECK_FALSE(m.matches(Direction::In, here, trace_keys(invite("c1", "x", "y"))));
    CHECK(m.matches(Direction::In, here, trace_keys(invite("c2", "x", "y"))));
    CHECK(m.matches(Direction::In, here, trace_keys(invite("c3", "x", "y"))));
}

namespace {

Tap tap_of(const std::string& bytes, Direction d = Direction::In) {
    return Tap{d, "udp", here, bytes};
}

Endpoints endpoints() {
    return {"127.0.0.1:5060", "127.0.0.1:5070"};
}

}  // namespace

TEST_CASE("tracer: inactive until a session opens, and again once it closes") {
    Tracer t;
    CHECK_FALSE(t.active());
    {
        auto s = t.open({}, nullptr);
        REQUIRE(s);
        CHECK(t.active());
        CHECK(t.sessions() == 1);
    }
    CHECK_FALSE(t.active());
    CHECK(t.sessions() == 0);
}

TEST_CASE("tracer: each session gets the messages it matches, in order, with their details") {
    Tracer t;
    auto one = t.open(TraceFilter{std::string("c1"), {}, {}}, nullptr);
    auto all = t.open({}, nullptr);
    REQUIRE(one);
    REQUIRE(all);
    const auto a = invite("c1"), b = invite("c2");
    t.record(tap_of(a), endpoints);
    t.record(tap_of(b, Direction::Out), endpoints);

    auto got = (*one)->take();
    REQUIRE(got.events.size() == 1);
    CHECK(got.dropped == 0);
    const auto& e = *got.events[0];
    CHECK(e.message == a);
    CHECK(e.call_id == "c1");
    CHECK(e.direction == Direction::In);
    CHECK(e.transport == "udp");
    CHECK(e.local == "127.0.0.1:5060");
    CHECK(e.remote == "127.0.0.1:5070");

    auto everything = (*all)->take();
    REQUIRE(everything.events.size() == 2);
    CHECK(everything.events[1]->call_id == "c2");
    CHECK(everything.events[1]->direction == Direction::Out);
    CHECK((*all)->take().empty());
}

TEST_CASE("tracer: a full queue drops and counts, and never grows past its bound") {
    TraceLimits limits;
    limits.queue_messages = 3;
    Tracer t(limits);
    auto s = t.open({}, nullptr);
    REQUIRE(s);
    const auto m = invite("c1");
    for (int i = 0; i < 10; ++i) t.record(tap_of(m), endpoints);
    auto got = (*s)->take();
    CHECK(got.events.size() == 3);
    CHECK(got.dropped == 7);
    // Taken: room again, and the count starts over.
    t.record(tap_of(m), endpoints);
    got = (*s)->take();
    CHECK(got.events.size() == 1);
    CHECK(got.dropped == 0);

    // A byte bound too.
    TraceLimits small;
    small.queue_bytes = m.size() * 2;
    Tracer bytes(small);
    auto b = bytes.open({}, nullptr);
    REQUIRE(b);
    for (int i = 0; i < 5; ++i) bytes.record(tap_of(m), endpoints);
    got = (*b)->take();
    CHECK(got.events.size() == 2);
    CHECK(got.dropped == 3);
}

TEST_CASE("tracer: wake is called once when the queue stops being empty") {
    Tracer t;
    int wakes = 0;
    auto s = t.open({}, [&] { ++wakes; });
    REQUIRE(s);
    const auto m = invite("c1");
    t.record(tap_of(m), endpoints);
    t.record(tap_of(m), endpoints);
    CHECK(wakes == 1);
    CHECK((*s)->take().events.size() == 2);
    t.record(tap_of(m), endpoints);
    CHECK(wakes == 2);
}

TEST_CASE("tracer: sessions beyond the limit are refused with the reason") {
    TraceLimits limits;
    limits.max_sessions = 2;
    Tracer t(limits);
    auto a = t.open({}, nullptr);
    auto b = t.open({}, nullptr);
    REQUIRE(a);
    REQUIRE(b);
    auto c = t.open({}, nullptr);
    REQUIRE_FALSE(c);
    CHECK(c.error() == "too many trace sessions: 2 are running (the limit); end one first");
    a.value().reset();  // one ends: room for another
    CHECK(t.open({}, nullptr));
}
