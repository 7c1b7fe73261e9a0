#pragma once
// One worker: a thread with its own io_context, its own sockets (SO_REUSEPORT), its own
// ingress (admission, rates, parsing), transaction layer and proxy. Nothing on the hot path is shared with other workers but
// the counters and the location store.
#include <asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <asio/steady_timer.hpp>

#include "ingress/ingress.hpp"
#include "proxy/commit_inbox.hpp"
#include "proxy/proxy_core.hpp"
#include "transaction/transaction_layer.hpp"
#include "transport/transport.hpp"

namespace sipproxy::daemon {

class Worker {
public:
    Worker(unsigned index, std::vector<transport::Local> locals,
           transport::TransportOptions transport_options,
           transaction::LayerOptions layer_options, proxy::Services& services,
           ingress::Admission& admission);
    ~Worker();

    void open();   // binds the sockets (throws std::system_error naming the address)
    void start();  // runs the event loop on its own thread
    void stop();   // closes sockets, ends transactions, joins the thread
    void link(std::vector<Worker*>& all);

    asio::io_context& io() { return io_; }
    transaction::TransactionLayer& layer() { return layer_; }
    transport::Transport& transport() { return transport_; }
    ingress::Ingress& ingress() { return ingress_; }
    // Exceptions that escaped a handler of this worker's loop (logged; the loop went on).
    std::size_t failures() const { return failures_.load(std::memory_order_relaxed); }
    // CPU time of the worker's thread so far (0 before start()).
    std::chrono::nanoseconds cpu_time();

private:
    void schedule_tick();

    unsigned index_;
    asio::io_context io_;
    transport::Transport transport_;
    transaction::TransactionLayer layer_;
    proxy::ProxyCore proxy_;
    ingress::Ingress ingress_;
    // Store commits finished for this worker's REGISTERs: taken whenever a message wakes the
    // worker (proxy/commit_inbox.hpp). Destroyed before io_.
    proxy::CommitInbox commits_;
    asio::steady_timer tick_;
    std::thread thread_;
    std::atomic<std::size_t> failures_{0};
};

}  // namespace sipproxy::daemon
