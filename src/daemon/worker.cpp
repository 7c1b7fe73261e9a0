#include "daemon/worker.hpp"

#include <asio/post.hpp>

#include "base/log.hpp"

namespace sipproxy::daemon {

Worker::Worker(unsigned index, std::vector<transport::Local> locals,
               transport::TransportOptions transport_options,
               transaction::LayerOptions layer_options, proxy::Services& services)
    : index_(index), io_(1), transport_(io_, index, std::move(locals), transport_options),
      layer_(io_, transport_, index, layer_options), proxy_(services, layer_, transport_) {
    layer_.set_user(&proxy_);
    transport_.on_message([this](sip::Message m, const transport::Peer& from,
                                 const transport::Local& local) {
        layer_.receive(std::move(m), from, local);
    });
    transport_.on_parse_error([this](std::string_view raw, const sip::ParseError& e,
                                     const transport::Peer& from, const transport::Local&) {
        proxy_.on_parse_error(raw, e, from);
    });
}

Worker::~Worker() { stop(); }

void Worker::link(std::vector<Worker*>& all) {
    std::vector<transport::Transport*> t;
    std::vector<transaction::TransactionLayer*> l;
    for (auto* w : all) {
        t.push_back(&w->transport_);
        l.push_back(&w->layer_);
    }
    transport_.set_siblings(std::move(t));
    layer_.set_siblings(std::move(l));
}

void Worker::open() { transport_.start(); }

void Worker::start() {
    thread_ = std::thread([this]() {
        try {
            io_.run();
        } catch (const std::exception& e) {
            // Nothing a peer sends should get here; if it does, say so loudly.
            log::error("worker {}: {}", index_, e.what());
        }
    });
}

void Worker::stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this]() {
        transport_.stop();
        layer_.shutdown();
    });
    // Give transactions a moment to unwind, then stop the loop.
    asio::post(io_, [this]() { io_.stop(); });
    thread_.join();
}

}  // namespace sipproxy::daemon
