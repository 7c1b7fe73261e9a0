#include "proxy/pending_commit.hpp"

#include "proxy/commit_inbox.hpp"

#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>

namespace sipproxy::proxy {

void PendingCommit::complete(const std::string& error) {
    std::function<void(std::string)> resume;
    {
        std::lock_guard lock(mu_);
        if (result_) return;  // once
        result_ = error;
        resume = std::move(resume_);
    }
    if (resume) resume(error);
}

std::optional<std::string> PendingCommit::result() const {
    std::lock_guard lock(mu_);
    return result_;
}

asio::awaitable<std::string> PendingCommit::wait(std::chrono::milliseconds latency) {
    auto ex = co_await asio::this_coro::executor;
    CommitInbox* inbox = latency.count() > 0 ? CommitInbox::current() : nullptr;
    // Named locals, not temporaries in the co_await expression (g++ 12).
    auto init = [this, ex, inbox, latency](auto handler) {
        // The handler is move-only; std::function needs a copyable callable.
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        // The handler's call with `error`, to run on the waiter's thread.
        auto resumption = [h](std::string error) {
            return [h, error = std::move(error)]() mutable { (*h)(std::move(error)); };
        };
        std::unique_lock lock(mu_);
        if (result_) {
            std::string error = *result_;
            lock.unlock();
            asio::post(ex, resumption(std::move(error)));  // on this thread: no wake-up needed
            return;
        }
        if (inbox) {
            // complete() runs on the store's writer thread: the worker picks the result up
            // when it next wakes, or by its inbox's timer.
            inbox->expect(latency);
            resume_ = [inbox, resumption](std::string error) {
                inbox->deliver(resumption(std::move(error)));
            };
        } else {
            // Always through the executor: complete() runs on the store's writer thread.
            resume_ = [ex, resumption](std::string error) {
                asio::post(ex, resumption(std::move(error)));
            };
        }
    };
    std::string error =
        co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::string)>(
            std::move(init), asio::use_awaitable);
    co_return error;
}

}  // namespace sipproxy::proxy
