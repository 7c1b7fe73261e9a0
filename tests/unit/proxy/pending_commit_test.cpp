// PendingCommit: a location store change a coroutine waits for, completed at once or from
// another thread, resumed on the waiter's own executor.
#include "proxy/pending_commit.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>
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
