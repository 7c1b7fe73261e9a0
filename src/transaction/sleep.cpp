#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>

#include "transaction/mailbox.hpp"

namespace sipproxy::transaction {

asio::awaitable<void> sleep_for(Clock::duration d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
}

}  // namespace sipproxy::transaction
