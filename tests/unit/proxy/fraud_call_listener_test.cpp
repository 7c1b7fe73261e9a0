// The [[fraud]] concurrent counts come back to zero however a call ends, as CallEvents
// tells it: failed (busy, rejected, no answer), cancelled, answered then BYE from either
// side, expired, ended by the operator, shutdown; a refused call was never counted.
#include "proxy/fraud_call_listener.hpp"

#include <catch2/catch.hpp>

using namespace sipproxy;
using namespace sipproxy::proxy;

namespace {

CallRecord invite(const std::string& call_id) {
    CallRecord c;
    c.call_id = call_id;
    c.from_tag = "ft";
    c.auth_user = "alice";
    c.created_wall = std::chrono::system_clock::now();
    c.created = std::chrono::steady_clock::now();
    return c;
}

struct Fixture {
    fraud::CallLimits limits;
    FraudCallListener listener{limits};
    CallEvents events;
    std::vector<config::FraudRule> rules;
    Fixture() {
        events.add(listener);
        config::FraudRule r;
        r.concurrent_calls.critical = 100;
        rules.push_back(r);
    }
    // As the pipeline and the proxy core do: admitted, then started.
    void start(const std::string& call_id) {
        REQUIRE_FALSE(limits.admit(rules, "alice", "", fraud_call_key(call_id, "ft"),
                                   fraud::Clock::now())
                          .refused);
        REQUIRE(events.started(invite(call_id)));
    }
    std::uint32_t concurrent() {
        return limits.list(rules, "alice", fraud::Clock::now()).at(0).value;
    }
};

}  // namespace

TEST_CASE("fraud counts: back to zero after every way a call ends") {
    Fixture f;
    f.start("busy");
    f.start("rejected");
    f.start("no-answer");
    f.start("cancelled");
    f.start("bye-caller");
    f.start("bye-callee");
    f.start("expired");
    f.start("operator");
    f.start("shutdown");
    CHECK(f.concurrent() == 9);
    f.events.failed("busy", "ft", 486, "Busy Here", false, false, "", "");
    f.events.failed("rejected", "ft", 603, "Decline", false, false, "", "");
    f.events.failed("no-answer", "ft", 408, "Request Timeout", true, false, "", "");
    f.events.failed("cancelled", "ft", 487, "Request Terminated", false, true, "", "");
    CHECK(f.concurrent() == 5);
    f.events.answered("bye-caller", "ft", "tt", "", "");
    f.events.answered("bye-callee", "ft", "tt2", "", "");
    CHECK(f.concurrent() == 5);  // an answer is no end
    f.events.bye_answered("bye-caller", "ft", "tt");
    f.events.bye_answered("bye-callee", "tt2", "ft");
    CHECK(f.concurrent() == 3);
    f.events.answered("expired", "ft", "tt", "", "");
    f.events.expire(std::chrono::steady_clock::now() + std::chrono::hours(5), std::chrono::hours(4));
    CHECK(f.concurrent() == 0);  // the unanswered "operator" and "shutdown" failed with it
    f.start("operator");
    f.start("shutdown");
    f.events.end_by_operator("operator", std::chrono::steady_clock::now());
    CHECK(f.concurrent() == 1);
    f.events.shutdown();
    CHECK(f.concurrent() == 0);
    CHECK(f.limits.held() == 0);
}

TEST_CASE("fraud counts: a refusal is no call end, a second final event changes nothing") {
    Fixture f;
    f.start("c1");
    // Another INVITE with the same Call-ID refused by the proxy (no Started before it): the
    // call in progress keeps its count.
    f.events.refused(invite("c2"), 403, "Forbidden");
    f.events.refused(invite("c1"), 482, "Loop Detected");
    CHECK(f.concurrent() == 1);
    f.events.failed("c1", "ft", 486, "Busy Here", false, false, "", "");
    f.events.failed("c1", "ft", 486, "Busy Here", false, false, "", "");
    CHECK(f.concurrent() == 0);
}
