#pragma once
// A single-threaded queue a coroutine can wait on with a deadline: the building block
// that lets a transaction read as straight-line code ("wait for a response or timer E").
// Used only on its worker's thread.
#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace sipproxy::transaction {

using Clock = std::chrono::steady_clock;

template <class T>
class Mailbox {
public:
    explicit Mailbox(const asio::any_io_executor& ex) : executor_(ex) {}

    void push(T v) {
        q_.push_back(std::move(v));
        // Only a waiter needs the wake-up; cancelling an idle timer still costs a lock.
        if (waiting_) timer_->cancel();
    }
    // Wakes a waiter without an item (e.g. shutdown): pop_until returns nullopt.
    void close() {
        closed_ = true;
        if (waiting_) timer_->cancel();
    }
    bool closed() const { return closed_; }

    // The next item, or nullopt when `deadline` passes first (or the mailbox is closed).
    asio::awaitable<std::optional<T>> pop_until(Clock::time_point deadline) {
        while (head_ == q_.size()) {
            if (closed_ || Clock::now() >= deadline) co_return std::nullopt;
            // The timer is made on the first wait: many transactions never wait.
            if (!timer_) timer_.emplace(executor_);
            timer_->expires_at(deadline);
            waiting_ = true;
            co_await timer_->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
            waiting_ = false;
        }
        T v = std::move(q_[head_++]);
        if (head_ == q_.size()) {
            // Drained: reuse the storage (a transaction sees a handful of events, so a
            // vector that is reset when empty beats a deque's up-front chunk).
            q_.clear();
            head_ = 0;
        }
        co_return v;
    }
    asio::awaitable<std::optional<T>> pop_for(Clock::duration d) {
        return pop_until(Clock::now() + d);
    }

private:
    asio::any_io_executor executor_;
    std::optional<asio::steady_timer> timer_;
    std::vector<T> q_;
    std::size_t head_ = 0;  // q_[head_..] are waiting
    bool closed_ = false;
    bool waiting_ = false;
};

// Sleeps for `d` (a coroutine-friendly timer without exceptions).
asio::awaitable<void> sleep_for(Clock::duration d);

}  // namespace sipproxy::transaction
