#pragma once
// The Prometheus endpoint ([metrics] listen): a small HTTP/1.1 server on the control
// thread's io_context. GET /metrics answers the text `render` returns; any other path is
// 404, another method 405, a request that does not parse 400. Requests are bounded in
// size, connections in number and in idle time, so a scraper-shaped peer cannot hold
// the control thread.
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace sipproxy::daemon {

struct MetricsLimits {
    std::size_t max_request = 8192;            // request line + header fields
    std::chrono::milliseconds timeout{10000};  // for a whole request, and idle between
    std::size_t max_connections = 32;
};

struct MetricsServerState;

class MetricsServer {
  public:
    // Listens at once; throws std::system_error when it cannot.
    MetricsServer(asio::io_context& io, const asio::ip::tcp::endpoint& at,
                  std::function<std::string()> render, MetricsLimits limits = {});
    ~MetricsServer();
    void stop();
    asio::ip::tcp::endpoint local_endpoint() const;

  private:
    std::shared_ptr<MetricsServerState> state_;
};

}  // namespace sipproxy::daemon
