#pragma once
// A single-threaded queue a coroutine can wait on with a deadline: the building block
// that lets a transaction read as straight-line code ("wait for a response or timer E").
// Used only on its worker's thread.
#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <deque>
#include <optional>

namespace sipproxy::transaction {

using Clock = std::chrono::steady_clock;

template <class T>
class Mailbox {
public:
    explicit Mailbox(const asio::any_io_executor& ex) : timer_(ex) {}

    void push(T v) {
        q_.push_back(std::move(v));
        timer_.cancel();
    }
    // Wakes a waiter without an item (e.g. shutdown): pop_until returns nullopt.
    void close() {
        closed_ = true;
        timer_.cancel();
    }
    bool closed() const { return closed_; }

    // The next item, or nullopt when `deadline` passes first (or the mailbox is closed).
    asio::awaitable<std::optional<T>> pop_until(Clock::time_point deadline) {
        while (q_.empty()) {
            if (closed_ || Clock::now() >= deadline) co_return std::nullopt;
            timer_.expires_at(deadline);
            co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        }
        T v = std::move(q_.front());
        q_.pop_front();
        co_return v;
    }
    asio::awaitable<std::optional<T>> pop_for(Clock::duration d) {
        return pop_until(Clock::now() + d);
    }

private:
    asio::steady_timer timer_;
    std::deque<T> q_;
    bool closed_ = false;
};

// Sleeps for `d` (a coroutine-friendly timer without exceptions).
asio::awaitable<void> sleep_for(Clock::duration d);

}  // namespace sipproxy::transaction
