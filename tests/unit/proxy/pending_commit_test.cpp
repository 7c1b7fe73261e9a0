// PendingCommit: a location store change a coroutine waits for, completed at once or from
// another thread, resumed on the waiter's own executor.
#include "proxy/pending_commit.hpp"

#include "proxy/commit_inbox.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

using namespace sipproxy::proxy;

namespace {

asio::awaitable<void> wait_into(std::shared_ptr<PendingCommit> p, std::optional<std::string>* out,
                                std::thread::id* on) {
    *out = co_await p->wait();
    *on = std::this_thread::get_id();
}

}  // namespace

TEST_CASE("pending commit: completed before the wait resumes at once with the result") {
    asio::io_context io;
    auto p = std::make_shared<PendingCommit>();
    p->complete("");
    REQUIRE(p->result() == std::string());
    std::optional<std::string> got;
    std::thread::id on;
    asio::co_spawn(io, wait_into(p, &got, &on), asio::detached);
    io.run();
    REQUIRE(got);
    CHECK(got->empty());
}

TEST_CASE("pending commit: completed from another thread resumes on the waiter's thread") {
    asio::io_context io;
    auto p = std::make_shared<PendingCommit>();
    std::optional<std::string> got;
    std::thread::id on;
    asio::co_spawn(io, wait_into(p, &got, &on), asio::detached);
    io.poll();  // suspended in wait()
    CHECK(!got);
    std::thread writer([p] {
        p->complete("database or disk is full");
        p->complete("");  // once: the second is ignored
    });
    writer.join();
    io.restart();
    io.run();
    REQUIRE(got);
    CHECK(*got == "database or disk is full");
    CHECK(on == std::this_thread::get_id());
}

// On a worker, a batched store's completion goes through the worker's CommitInbox: the
// writer thread does not wake the worker, the worker takes it when it next wakes.
namespace {

asio::awaitable<void> wait_lazily(std::shared_ptr<PendingCommit> p, std::optional<std::string>* out,
                                  std::chrono::milliseconds latency) {
    *out = co_await p->wait(latency);
}

}  // namespace

TEST_CASE("pending commit: through the worker's inbox, taken at the next drain, not before") {
    asio::io_context io;
    CommitInbox inbox(io.get_executor(), std::chrono::seconds(30));  // no fallback in this test
    inbox.make_current();
    auto p = std::make_shared<PendingCommit>();
    std::optional<std::string> got;
    asio::co_spawn(io, wait_lazily(p, &got, std::chrono::seconds(30)), asio::detached);
    io.poll();
    CHECK(inbox.outstanding() == 1);
    std::thread writer([p] { p->complete(""); });
    writer.join();
    io.poll();
    CHECK(!got);  // nobody woke the worker, and nothing was posted to it
    inbox.drain();  // a message woke it
    CHECK(!got);    // posted, not run inside drain()
    io.poll();
    REQUIRE(got);
    CHECK(got->empty());
    CHECK(inbox.outstanding() == 0);
    CHECK(inbox.timer_drains() == 0);
}

TEST_CASE("pending commit: with no message, the inbox's timer takes the result") {
    asio::io_context io;
    CommitInbox inbox(io.get_executor(), std::chrono::milliseconds(10));
    inbox.make_current();
    auto p = std::make_shared<PendingCommit>();
    std::optional<std::string> got;
    const auto start = std::chrono::steady_clock::now();
    asio::co_spawn(io, wait_lazily(p, &got, std::chrono::milliseconds(20)), asio::detached);
    std::thread writer([p] {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        p->complete("disk I/O error");
    });
    io.run_for(std::chrono::seconds(5));  // returns when nothing is left: the timer ended
    writer.join();
    REQUIRE(got);
    CHECK(*got == "disk I/O error");
    CHECK(inbox.timer_drains() == 1);
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(30));
}

TEST_CASE("pending commit: the inbox's timer looks again while commits are outstanding") {
    asio::io_context io;
    CommitInbox inbox(io.get_executor(), std::chrono::milliseconds(5));
    inbox.make_current();
    auto p = std::make_shared<PendingCommit>();
    std::optional<std::string> got;
    asio::co_spawn(io, wait_lazily(p, &got, std::chrono::milliseconds(5)), asio::detached);
    // A commit slower than announced: the first look (10 ms) finds nothing.
    std::thread writer([p] {
        std::this_thread::sleep_for(std::chrono::milliseconds(60));
        p->complete("");
    });
    io.run_for(std::chrono::seconds(5));
    writer.join();
    REQUIRE(got);
    CHECK(got->empty());
    CHECK(inbox.outstanding() == 0);
}

TEST_CASE("pending commit: without a current inbox, or for an unbatched store, it is posted") {
    asio::io_context io;
    auto p = std::make_shared<PendingCommit>();
    std::optional<std::string> got;
    std::thread::id on;
    // latency 0 (memory, Redis): posted at once even with an inbox current on this thread
    CommitInbox inbox(io.get_executor(), std::chrono::seconds(30));
    inbox.make_current();
    asio::co_spawn(io, wait_into(p, &got, &on), asio::detached);
    io.poll();
    std::thread writer([p] { p->complete(""); });
    writer.join();
    io.restart();
    io.run();
    REQUIRE(got);
    CHECK(inbox.outstanding() == 0);
}
