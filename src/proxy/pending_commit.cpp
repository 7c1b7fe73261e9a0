#include "proxy/pending_commit.hpp"

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

asio::awaitable<std::string> PendingCommit::wait() {
    auto ex = co_await asio::this_coro::executor;
    // Named locals, not temporaries in the co_await expression (g++ 12).
    auto init = [this, ex](auto handler) {
        // The handler is move-only; std::function needs a copyable callable.
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        // Always through the executor: complete() runs on the store's writer thread.
        auto resume = [h, ex](std::string error) {
            asio::post(ex, [h, error = std::move(error)]() mutable { (*h)(std::move(error)); });
        };
        std::unique_lock lock(mu_);
        if (result_) {
            std::string error = *result_;
            lock.unlock();
            resume(std::move(error));
            return;
        }
        resume_ = std::move(resume);
    };
    std::string error =
        co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::string)>(
            std::move(init), asio::use_awaitable);
    co_return error;
}

}  // namespace sipproxy::proxy
