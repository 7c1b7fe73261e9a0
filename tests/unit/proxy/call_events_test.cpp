// CallEvents: each call's life told once, to every listener, with the whole record; the
// BYE's direction says who hung up; refusals, expiry and shutdown end calls too.
#include "proxy/call_events.hpp"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>


using namespace sipproxy::proxy;

namespace {

struct Recorder : CallListener {
    std::vector<std::pair<CallEvent, CallRecord>> seen;
    void on_call(CallEvent e, const CallRecord& c) override { seen.emplace_back(e, c); }
    const CallRecord& last() const { return seen.back().second; }
};

CallRecord invite(std::string call_id = "c1", std::string from_tag = "ft") {
    CallRecord c;
    c.call_id = std::move(call_id);
    c.from_tag = std::move(from_tag);
    c.caller = "sip:alice@example.test";
    c.callee = "sip:bob@example.test";
    c.created_wall = std::chrono::system_clock::now();
    c.created = std::chrono::steady_clock::now();
    return c;
}

}  // namespace

TEST_CASE("call events: answered then hung up by the caller") {
    CallEvents ev;
    Recorder a, b;
    ev.add(a);
    ev.add(b);
    REQUIRE(ev.started(invite()));
    CHECK_FALSE(ev.started(invite()));  // a spiral: the first context reports
    ev.provisional("c1", "ft");
    ev.provisional("c1", "ft");  // only the first 18x
    ev.answered("c1", "ft", "tt", "sip:bob@10.0.0.2", "");
    ev.answered("c1", "ft", "tt2", "sip:bob@10.0.0.3", "");  // a second 2xx of a fork
    CHECK(ev.active() == 1);
    ev.bye_answered("c1", "ft", "tt");
    CHECK(ev.active() == 0);
    for (const auto* r : {&a, &b}) {
        REQUIRE(r->seen.size() == 4);
        CHECK(r->seen[0].first == CallEvent::Started);
        CHECK(r->seen[1].first == CallEvent::Provisional);
        CHECK(r->seen[2].first == CallEvent::Answered);
        CHECK(r->seen[3].first == CallEvent::Ended);
    }
    const auto& c = a.last();
    CHECK(c.to_tag == "tt");
    CHECK(c.target == "sip:bob@10.0.0.2");
    CHECK(c.outcome == CallOutcome::Answered);
    REQUIRE(c.ended_by);
    CHECK(*c.ended_by == EndedBy::Caller);
    CHECK(c.created <= *c.provisional);
    CHECK(*c.provisional <= *c.answered);
    CHECK(*c.answered <= *c.ended);
    CHECK_FALSE(c.record_id.empty());
}

TEST_CASE("call events: the callee's BYE (tags swapped) ends the call by the callee") {
    CallEvents ev;
    Recorder r;
    ev.add(r);
    ev.started(invite());
    ev.answered("c1", "ft", "tt", "", "");
    ev.bye_answered("c1", "zz", "ft");  // nobody's dialog: ignored
    CHECK(ev.active() == 1);
    ev.bye_answered("c1", "tt", "ft");
    REQUIRE(r.seen.back().first == CallEvent::Ended);
    CHECK(*r.last().ended_by == EndedBy::Callee);
    CHECK(ev.active() == 0);
}

TEST_CASE("call events: a BYE before the answer ends nothing") {
    CallEvents ev;
    ev.started(invite());
    ev.bye_answered("c1", "ft", "tt");
    CHECK(ev.active() == 1);
}

TEST_CASE("call events: the operator ends a stuck call (its BYE bypassed the proxy)") {
    CallEvents ev;
    Recorder r;
    ev.add(r);
    ev.started(invite("stuck"));
    ev.answered("stuck", "ft", "tt", "sip:bob@10.0.0.2", "");
    ev.started(invite("other"));
    CHECK(ev.active() == 2);
    CHECK(ev.end_by_operator("nobody", std::chrono::steady_clock::now()) == 0);
    CHECK(ev.end_by_operator("stuck", std::chrono::steady_clock::now()) == 1);
    CHECK(r.seen.back().first == CallEvent::Ended);
    CHECK(r.last().call_id == "stuck");
    CHECK(*r.last().ended_by == EndedBy::Proxy);
    CHECK(r.last().outcome == CallOutcome::Answered);
    CHECK(ev.active() == 1);
    CHECK(ev.active() == 1);  // gone from show calls
    CHECK(ev.end_by_operator("other", std::chrono::steady_clock::now()) == 1);  // never answered
    CHECK(r.seen.back().first == CallEvent::Failed);
    CHECK(ev.active() == 0);
}

TEST_CASE("call events: failures name their outcome and who ended them") {
    CallEvents ev;
    Recorder r;
    ev.add(r);
    ev.started(invite("busy"));
    ev.failed("busy", "ft", 486, "Busy Here", false, false, "sip:bob@10.0.0.2", "");
    CHECK(r.seen.back().first == CallEvent::Failed);
    CHECK(r.last().outcome == CallOutcome::Busy);
    CHECK(*r.last().ended_by == EndedBy::Callee);
    CHECK(r.last().status == 486);
    CHECK(r.last().target == "sip:bob@10.0.0.2");

    ev.started(invite("cancel"));
    ev.failed("cancel", "ft", 487, "Request Terminated", false, true, "", "");
    CHECK(r.seen.back().first == CallEvent::Cancelled);
    CHECK(r.last().outcome == CallOutcome::Cancelled);
    CHECK(*r.last().ended_by == EndedBy::Caller);

    ev.started(invite("timerc"));
    ev.failed("timerc", "ft", 408, "Request Timeout", true, false, "", "");
    CHECK(r.last().outcome == CallOutcome::NoAnswer);
    CHECK(*r.last().ended_by == EndedBy::Proxy);
    CHECK(ev.active() == 0);

    // After the answer a failure report changes nothing.
    ev.started(invite("ok"));
    ev.answered("ok", "ft", "tt", "", "");
    ev.failed("ok", "ft", 500, "x", true, false, "", "");
    CHECK(ev.active() == 1);
}

TEST_CASE("call events: outcome of a final status") {
    CHECK(outcome_of(200, false, false) == CallOutcome::Answered);
    CHECK(outcome_of(486, false, false) == CallOutcome::Busy);
    CHECK(outcome_of(600, false, false) == CallOutcome::Busy);
    CHECK(outcome_of(480, false, false) == CallOutcome::NoAnswer);
    CHECK(outcome_of(480, true, false) == CallOutcome::Rejected);  // nobody registered
    CHECK(outcome_of(408, true, false) == CallOutcome::NoAnswer);
    CHECK(outcome_of(404, true, false) == CallOutcome::Rejected);
    CHECK(outcome_of(603, false, false) == CallOutcome::Rejected);
    CHECK(outcome_of(403, true, false) == CallOutcome::PolicyRefused);
    CHECK(outcome_of(403, false, false) == CallOutcome::Rejected);
    CHECK(outcome_of(503, true, false) == CallOutcome::Failed);
    CHECK(outcome_of(500, false, false) == CallOutcome::Failed);
    CHECK(outcome_of(487, false, true) == CallOutcome::Cancelled);
}

TEST_CASE("call events: a refusal is a record of its own, never in progress") {
    CallEvents ev;
    Recorder r;
    ev.add(r);
    ev.refused(invite(), 403, "Forbidden");
    REQUIRE(r.seen.size() == 1);
    CHECK(r.seen[0].first == CallEvent::Refused);
    CHECK(r.last().outcome == CallOutcome::PolicyRefused);
    CHECK(*r.last().ended_by == EndedBy::Proxy);
    CHECK(ev.active() == 0);
    CHECK(ev.active() == 0);

    // A spiral's second pass refused (482): the call in progress reports, not the refusal.
    ev.started(invite("spiral"));
    ev.refused(invite("spiral"), 482, "Loop Detected");
    CHECK(r.seen.back().first == CallEvent::Started);
    ev.failed("spiral", "ft", 482, "Loop Detected", false, false, "", "");
    CHECK(r.seen.back().first == CallEvent::Failed);
    CHECK(r.last().outcome == CallOutcome::Rejected);
}

TEST_CASE("call events: expiry ends answered calls without a BYE, shutdown ends the rest") {
    CallEvents ev;
    Recorder r;
    ev.add(r);
    ev.started(invite("old"));
    ev.answered("old", "ft", "tt", "", "");
    ev.started(invite("ringing"));
    CHECK(ev.active() == 2);
    const auto now = std::chrono::steady_clock::now();
    CHECK(ev.expire(now, std::chrono::hours(1)) == 0);
    CHECK(ev.expire(now + std::chrono::hours(2), std::chrono::hours(1)) == 2);
    CHECK(ev.active() == 0);
    bool expired = false, failed = false;
    for (const auto& [e, c] : r.seen) {
        if (e == CallEvent::Expired && c.call_id == "old") expired = *c.ended_by == EndedBy::Timeout;
        if (e == CallEvent::Failed && c.call_id == "ringing") failed = true;
    }
    CHECK(expired);
    CHECK(failed);

    ev.started(invite("up"));
    ev.answered("up", "ft", "tt", "", "");
    ev.started(invite("trying"));
    ev.shutdown();
    CHECK(ev.active() == 0);
    int shut = 0;
    for (const auto& [e, c] : r.seen)
        if (c.ended_by && *c.ended_by == EndedBy::Shutdown) ++shut;
    CHECK(shut == 2);
}

TEST_CASE("call events: show calls lists a call from INVITE until its end, with its state") {
    CallEvents ev;
    ev.started(invite());
    REQUIRE(ev.list().size() == 1);
    CHECK(ev.list()[0].state() == "trying");
    ev.provisional("c1", "ft");
    CHECK(ev.list()[0].state() == "ringing");
    ev.answered("c1", "ft", "tt", "", "");
    CHECK(ev.list()[0].state() == "confirmed");
    CHECK(ev.list()[0].callee == "sip:bob@example.test");
    ev.bye_answered("c1", "ft", "tt");
    CHECK(ev.active() == 0);
}

TEST_CASE("call events: workers report concurrently") {
    CallEvents ev;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 500; ++i) {
                const auto id = std::to_string(t) + "-" + std::to_string(i);
                ev.started(invite(id));
                ev.answered(id, "ft", "tt", "", "");
                ev.bye_answered(id, "tt", "ft");
            }
        });
    for (auto& t : threads) t.join();
    CHECK(ev.active() == 0);
    CHECK(ev.active() == 0);
}
