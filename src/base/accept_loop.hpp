#pragma once
// The accept loop of the proxy's local stream listeners (the control socket, the metrics
// endpoint): each accepted socket goes to `serve`; a failed accept (EMFILE, ENFILE) is
// logged and retried after a pause instead of spinning; the loop ends when the acceptor
// is closed or `stopped` is set. Header-only: only listeners that already use Asio include it.
#include <asio/awaitable.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <string_view>

#include "base/log.hpp"

namespace sipproxy {

// `what` names the listener in the log ("control: accept on /run/sipproxy.sock").
template <typename Acceptor, typename Serve>
asio::awaitable<void> accept_until_stopped(Acceptor& acceptor, const bool& stopped,
                                           std::string_view what, Serve serve) {
    constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (stopped || ec == asio::error::operation_aborted) co_return;
        if (ec) {
            log::warn("{}: {}", what, ec.message());
            asio::steady_timer pause(co_await asio::this_coro::executor,
                                     std::chrono::milliseconds(100));
            co_await pause.async_wait(use_tuple);
            continue;
        }
        serve(std::move(socket));
    }
}

}  // namespace sipproxy
