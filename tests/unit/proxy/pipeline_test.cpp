// The pipeline's machinery (pipeline.hpp): steps run in order until one decides; a step may
// suspend on an awaitable, and the steps after it run once it completes, on the executor
// that resumes it, with what `then` made of the result.
#include "proxy/pipeline.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "proxy/pending_commit.hpp"

using namespace sipproxy;
using namespace sipproxy::proxy;

namespace {

// What the steps did, in order (the steps are plain functions: a global log, reset per test).
std::vector<std::string> trail;

sip::Message request() {
    auto r = sip::parse(
        "INVITE sip:bob@example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"
        "From: <sip:alice@example.com>;tag=1\r\n"
        "To: <sip:bob@example.com>\r\n"
        "Call-ID: pipeline-test\r\n"
        "CSeq: 1 INVITE\r\n"
        "Max-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n",
        false);
    REQUIRE(r.has_value());
    return std::move(r).value();
}

// Owns what a context refers to, as a ServerTransaction and a snapshot do in ProxyCore.
struct Fixture {
    sip::Message msg = request();
    transport::Peer source;
    transport::Local local;
    std::shared_ptr<const Snapshot> snapshot = std::make_shared<const Snapshot>();
    Services services;
    RequestContext context() { return RequestContext{msg, source, local, *snapshot, services}; }
};

asio::awaitable<int> after_a_timer(int value) {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(1));
    co_await t.async_wait(asio::use_awaitable);
    trail.push_back("timer fired");
    co_return value;
}

asio::awaitable<void> yield_once() {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    trail.push_back("yielded");
}

void first(RequestContext&) {
    trail.push_back("first");
}
void suspends_for_a_value(RequestContext& ctx) {
    trail.push_back("suspends");
    ctx.wait_for(after_a_timer(42), [](RequestContext& c, int v) {
        trail.push_back("then " + std::to_string(v));
        c.authenticated = "got " + std::to_string(v);
    });
}
void suspends_without_a_value(RequestContext& ctx) {
    trail.push_back("suspends again");
    ctx.wait_for(yield_once());
}
void suspends_and_decides(RequestContext& ctx) {
    trail.push_back("decides 200, waits");
    ctx.respond(200, "OK");
    ctx.wait_for(after_a_timer(503), [](RequestContext& c, int v) { c.respond(v, "changed"); });
}
void last(RequestContext& ctx) {
    trail.push_back("last");
    ctx.respond(486, "Busy Here");
}
void never(RequestContext&) {
    trail.push_back("never");
}

// Runs the steps as ProxyCore does: synchronously, and in a coroutine only if one suspends.
// The context is moved into the coroutine (its references stay with the fixture).
bool run(std::span<const Step> steps, Fixture& f, asio::io_context& io, Decision& out,
         std::string* authenticated = nullptr) {
    RequestContext ctx = f.context();
    if (run_steps(steps, ctx)) {
        out = std::move(ctx.decision);
        return true;
    }
    trail.push_back("suspended");
    asio::co_spawn(
        io,
        [](std::span<const Step> s, RequestContext c, Decision* o,
           std::string* a) -> asio::awaitable<void> {
            co_await resume_steps(s, c);
            *o = std::move(c.decision);
            if (a) *a = c.authenticated;
        }(steps, std::move(ctx), &out, authenticated),
        asio::detached);
    return false;
}

}  // namespace

TEST_CASE("pipeline: without a suspension the steps run at once, until one decides") {
    trail.clear();
    Fixture f;
    asio::io_context io;
    static constexpr Step steps[] = {first, last, never};
    Decision d;
    REQUIRE(run(steps, f, io, d));
    CHECK(trail == std::vector<std::string>{"first", "last"});
    CHECK(d.status == 486);
    CHECK(io.poll() == 0);  // nothing was spawned
}

TEST_CASE("pipeline: a suspended step resumes with its result, then the next steps run") {
    trail.clear();
    Fixture f;
    asio::io_context io;
    static constexpr Step steps[] = {first, suspends_for_a_value, suspends_without_a_value, last,
                                     never};
    Decision d;
    std::string authenticated;
    REQUIRE_FALSE(run(steps, f, io, d, &authenticated));
    // Nothing after the suspending step ran before the awaitable completed.
    CHECK(trail == std::vector<std::string>{"first", "suspends", "suspended"});
    CHECK(d.kind == Decision::Kind::Undecided);
    io.run();
    CHECK(trail == std::vector<std::string>{"first", "suspends", "suspended", "timer fired",
                                            "then 42", "suspends again", "yielded", "last"});
    CHECK(d.status == 486);
    CHECK(authenticated == "got 42");  // `then` wrote into the context at its new home
}

TEST_CASE("pipeline: a step that decided and suspended ends the pipeline when it resumes") {
    trail.clear();
    Fixture f;
    asio::io_context io;
    static constexpr Step steps[] = {first, suspends_and_decides, never};
    Decision d;
    REQUIRE_FALSE(run(steps, f, io, d));
    io.run();
    CHECK(trail ==
          std::vector<std::string>{"first", "decides 200, waits", "suspended", "timer fired"});
    CHECK(d.status == 503);
    CHECK(d.reason == "changed");
}

namespace {
std::shared_ptr<PendingCommit> commit;
void waits_for_commit(RequestContext& ctx) {
    ctx.respond(200, "OK");
    ctx.wait_for(commit->wait(), [c = commit](RequestContext& rc, std::string error) {
        trail.push_back("committed: " + (error.empty() ? std::string("ok") : error));
        if (!error.empty()) rc.respond(503, "store");
    });
}
}  // namespace

TEST_CASE("pipeline: a step waits for a store commit completed on another thread") {
    trail.clear();
    Fixture f;
    asio::io_context io;
    commit = std::make_shared<PendingCommit>();
    static constexpr Step steps[] = {waits_for_commit, never};
    Decision d;
    std::thread::id resumed_on;
    REQUIRE_FALSE(run(steps, f, io, d));
    io.poll();  // suspended in the wait
    CHECK(d.kind == Decision::Kind::Undecided);
    std::thread store([] { commit->complete("store unavailable: redis down"); });
    store.join();
    commit.reset();  // the suspension keeps it alive
    io.restart();
    io.run();
    CHECK(trail ==
          std::vector<std::string>{"suspended", "committed: store unavailable: redis down"});
    CHECK(d.status == 503);
}
