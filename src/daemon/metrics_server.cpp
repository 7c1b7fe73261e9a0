#include "daemon/metrics_server.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <set>

#include "base/accept_loop.hpp"
#include "base/log.hpp"
#include "metrics/exposition.hpp"
#include "metrics/http_request.hpp"

namespace sipproxy::daemon {

using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

struct MetricsServerState {
    MetricsServerState(asio::io_context& io, std::function<std::string()> r, MetricsLimits l)
        : render(std::move(r)), limits(l), acceptor(io) {}
    std::function<std::string()> render;
    MetricsLimits limits;
    tcp::acceptor acceptor;
    std::set<tcp::socket*> connections;  // open ones, closed by stop()
    bool stopped = false;
};

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

awaitable<void> deadline(asio::steady_timer::time_point at) {
    asio::steady_timer timer(co_await asio::this_coro::executor, at);
    co_await timer.async_wait(use_tuple);
}

std::string http_response(int status, std::string_view reason, std::string_view content_type,
                          const std::string& body, bool keep_alive, bool head = false,
                          std::string_view extra = {}) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
    out += "Content-Type: " + std::string(content_type) + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += extra;
    out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    if (!head) out += body;
    return out;
}

class ConnectionEntry {
  public:
    ConnectionEntry(std::set<tcp::socket*>& set, tcp::socket& s) : set_(set), socket_(&s) {
        set_.insert(socket_);
    }
    ~ConnectionEntry() { set_.erase(socket_); }
    ConnectionEntry(const ConnectionEntry&) = delete;
    ConnectionEntry& operator=(const ConnectionEntry&) = delete;

  private:
    std::set<tcp::socket*>& set_;
    tcp::socket* socket_;
};

// `bytes` must live until the write is done: a named local of the caller (g++ 12 ends
// temporaries inside a co_await expression too early).
awaitable<void> send(tcp::socket& socket, const std::string& bytes,
                     asio::steady_timer::time_point until) {
    co_await (asio::async_write(socket, asio::buffer(bytes), use_tuple) || deadline(until));
}

// One client: requests in, responses out, until it closes, idles, or breaks the rules.
awaitable<void> serve(std::shared_ptr<MetricsServerState> state, tcp::socket socket) {
    ConnectionEntry entry(state->connections, socket);
    const auto& limits = state->limits;
    const auto text = "text/plain; charset=utf-8";
    if (state->connections.size() > limits.max_connections) {
        const auto busy =
            http_response(503, "Service Unavailable", text, "too many connections\n", false);
        co_await send(socket, busy, std::chrono::steady_clock::now() + limits.timeout);
        co_return;
    }
    std::string buffer;
    char chunk[2048];
    for (;;) {
        const auto until = std::chrono::steady_clock::now() + limits.timeout;
        metrics::HttpParse parsed = metrics::parse_http_request(buffer, limits.max_request);
        while (parsed.status == metrics::HttpParse::Status::Incomplete) {
            auto r = co_await (socket.async_read_some(asio::buffer(chunk), use_tuple) ||
                               deadline(until));
            if (r.index() == 1) co_return;  // too slow: closed
            auto [ec, n] = std::get<0>(r);
            if (ec) co_return;
            buffer.append(chunk, n);
            parsed = metrics::parse_http_request(buffer, limits.max_request);
        }
        if (parsed.status != metrics::HttpParse::Status::Ok) {
            const bool large = parsed.status == metrics::HttpParse::Status::TooLarge;
            const auto refusal = http_response(
                large ? 431 : 400, large ? "Request Header Fields Too Large" : "Bad Request", text,
                (large ? "request too large" : parsed.error) + "\n", false);
            co_await send(socket, refusal, until);
            co_return;
        }
        const auto& req = parsed.request;
        const bool keep = req.keep_alive;
        std::string out;
        if (req.path != "/metrics") {
            out = http_response(404, "Not Found", text, "not found; metrics are at /metrics\n",
                                keep, req.method == "HEAD");
        } else if (req.method != "GET" && req.method != "HEAD") {
            out = http_response(405, "Method Not Allowed", text, "only GET\n", keep, false,
                                "Allow: GET, HEAD\r\n");
        } else {
            out = http_response(200, "OK", metrics::content_type, state->render(), keep,
                                req.method == "HEAD");
        }
        buffer.erase(0, parsed.consumed);
        auto w =
            co_await (asio::async_write(socket, asio::buffer(out), use_tuple) || deadline(until));
        if (w.index() == 1) co_return;
        auto [wec, written] = std::get<0>(w);
        (void)written;
        if (wec || !keep) co_return;
    }
}

awaitable<void> accept_loop(std::shared_ptr<MetricsServerState> state) {
    co_await accept_until_stopped(state->acceptor, state->stopped, "metrics: accept",
                                  [&state](tcp::socket socket) {
                                      asio::co_spawn(state->acceptor.get_executor(),
                                                     serve(state, std::move(socket)),
                                                     asio::detached);
                                  });
}

}  // namespace

MetricsServer::MetricsServer(asio::io_context& io, const tcp::endpoint& at,
                             std::function<std::string()> render, MetricsLimits limits)
    : state_(std::make_shared<MetricsServerState>(io, std::move(render), limits)) {
    auto& a = state_->acceptor;
    a.open(at.protocol());
    a.set_option(asio::socket_base::reuse_address(true));
    a.bind(at);
    a.listen();
    asio::co_spawn(io, accept_loop(state_), asio::detached);
}

MetricsServer::~MetricsServer() {
    stop();
}

void MetricsServer::stop() {
    if (state_->stopped) return;
    state_->stopped = true;
    asio::error_code ec;
    state_->acceptor.close(ec);
    for (auto* s : state_->connections) s->close(ec);
}

tcp::endpoint MetricsServer::local_endpoint() const {
    asio::error_code ec;
    return state_->acceptor.local_endpoint(ec);
}

}  // namespace sipproxy::daemon
