// The call attempt and call end lines (sipproxyd(8) LOG LINES): every field always there,
// "-" for what is absent, free text quoted, one line per finished attempt.
#include "proxy/call_log.hpp"

#include <catch2/catch.hpp>

using namespace sipproxy::proxy;
using namespace std::chrono_literals;

namespace {
CallRecord call() {
    CallRecord c;
    c.call_id = "c1";
    c.from_tag = "ft";
    c.caller = "sip:alice@example.test";
    c.callee = "sip:bob@example.test";
    c.source_ip = "192.0.2.7";
    c.source_port = 5060;
    c.transport = "udp";
    c.auth_user = "alice";
    c.created = std::chrono::steady_clock::now();
    return c;
}
}  // namespace

TEST_CASE("call log: a busy attempt") {
    auto c = call();
    c.ended = c.created + 412ms;
    c.status = 486;
    c.reason = "Busy \"Here\"";
    c.outcome = CallOutcome::Busy;
    c.target = "sip:bob@192.0.2.9:5062";
    CHECK(call_log_line(CallEvent::Failed, c) ==
          "attempt from udp:192.0.2.7:5060: status=486 reason=\"Busy 'Here'\" outcome=busy "
          "caller=sip:alice@example.test callee=sip:bob@example.test "
          "target=sip:bob@192.0.2.9:5062 gateway=- route=- user=alice setup_ms=412");
}

TEST_CASE("call log: an answered call, then its end") {
    auto c = call();
    c.source_ip = "2001:db8::1";
    c.transport = "tcp";
    c.answered = c.created + 1500ms;
    c.status = 200;
    c.reason = "OK";
    c.outcome = CallOutcome::Answered;
    c.gateway = "carrier";
    c.route = "international";
    c.auth_user.clear();
    CHECK(call_log_line(CallEvent::Answered, c) ==
          "attempt from tcp:[2001:db8::1]:5060: status=200 reason=\"OK\" outcome=answered "
          "caller=sip:alice@example.test callee=sip:bob@example.test target=- gateway=carrier "
          "route=international user=- setup_ms=1500");
    c.ended = *c.answered + 61s;
    c.ended_by = EndedBy::Callee;
    CHECK(call_log_line(CallEvent::Ended, c) ==
          "ended from tcp:[2001:db8::1]:5060: ended_by=callee duration_ms=61000 "
          "caller=sip:alice@example.test callee=sip:bob@example.test target=- gateway=carrier");
}

TEST_CASE("call log: only final events and ends write a line") {
    auto c = call();
    CHECK(call_log_line(CallEvent::Started, c).empty());
    CHECK(call_log_line(CallEvent::Provisional, c).empty());
    for (auto e : {CallEvent::Failed, CallEvent::Cancelled, CallEvent::Refused, CallEvent::Answered})
        CHECK(call_log_line(e, c).rfind("attempt from ", 0) == 0);
    // A peer's space in a URI cannot forge a field.
    c.caller = "sip:a@x status=200";
    CHECK(call_log_line(CallEvent::Refused, c).find("caller=sip:a@x?status=200 ") != std::string::npos);
}
