#include "daemon/worker.hpp"

#include <asio/post.hpp>

#include "base/log.hpp"

#include <pthread.h>
#include <time.h>

namespace sipproxy::daemon {

namespace {
ingress::Ingress::Options ingress_options(const transport::TransportOptions& t) {
    ingress::Ingress::Options o;
    o.limits = t.limits;
    return o;
}
}  // namespace

Worker::Worker(unsigned index, std::vector<transport::Local> locals,
               transport::TransportOptions transport_options,
               transaction::LayerOptions layer_options, proxy::Services& services,
               ingress::Admission& admission)
    : index_(index), io_(1), transport_(io_, index, std::move(locals), transport_options),
      layer_(io_, transport_, index, layer_options), proxy_(services, layer_, transport_),
      ingress_(admission, ingress_options(transport_options)),
      commits_(io_.get_executor(), std::chrono::milliseconds(10)), tick_(io_) {
    layer_.set_user(&proxy_);
    layer_.set_exempt([this](const asio::ip::address& a) { return ingress_.exempt(a); });
    // transport -> ingress (admission, parsing) -> transaction layer -> proxy
    transport_.on_receive([this](const transport::Inbound& in) {
        commits_.drain();  // awake anyway: answer what the store has committed meanwhile
        ingress_.receive(in);
    });
    transport_.set_accept_filter([this](const asio::ip::address& from, std::size_t open) {
        return ingress_.admit_connection(from, open);
    });
    ingress_.on_message([this](sip::Message m, const transport::Peer& from,
                               const transport::Local& local) {
        layer_.receive(std::move(m), from, local);
    });
    ingress_.on_parse_error([this](std::string_view raw, const sip::ParseError& e,
                                   const transport::Peer& from) {
        proxy_.on_parse_error(raw, e, from);
    });
}

void Worker::schedule_tick() {
    tick_.expires_after(std::chrono::seconds(1));
    tick_.async_wait([this](const asio::error_code& ec) {
        if (ec) return;
        ingress_.tick();
        schedule_tick();
    });
}

Worker::~Worker() { stop(); }

std::chrono::nanoseconds Worker::cpu_time() {
    if (!thread_.joinable()) return {};
    clockid_t clock;
    timespec ts{};
    if (::pthread_getcpuclockid(thread_.native_handle(), &clock) != 0 ||
        ::clock_gettime(clock, &ts) != 0)
        return {};
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

void Worker::link(std::vector<Worker*>& all) {
    std::vector<transport::Transport*> t;
    std::vector<transaction::TransactionLayer*> l;
    for (auto* w : all) {
        t.push_back(&w->transport_);
        l.push_back(&w->layer_);
    }
    transport_.set_siblings(std::move(t));
    // One directory of TCP connections for the whole daemon (shared with worker 0's).
    transport_.set_directory(all.front()->transport_.directory());
    layer_.set_siblings(std::move(l));
}

void Worker::open() {
    transport_.start();
    schedule_tick();
}

void Worker::start() {
    thread_ = std::thread([this]() {
        commits_.make_current();
        // A handler that throws is a bug (nothing a peer sends should get here): say so
        // loudly, and keep the loop running, or this worker's sockets would go on
        // receiving with nobody reading them.
        for (;;) {
            try {
                io_.run();
                return;
            } catch (const std::exception& e) {
                failures_.fetch_add(1, std::memory_order_relaxed);
                log::error("worker {}: unexpected exception, the worker goes on: {}", index_, e.what());
            } catch (...) {
                failures_.fetch_add(1, std::memory_order_relaxed);
                log::error("worker {}: unexpected exception, the worker goes on", index_);
            }
        }
    });
}

void Worker::stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this]() {
        tick_.cancel();
        transport_.stop();
        layer_.shutdown();
    });
    // Give transactions a moment to unwind, then stop the loop.
    asio::post(io_, [this]() { io_.stop(); });
    thread_.join();
}

}  // namespace sipproxy::daemon
