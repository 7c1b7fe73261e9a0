#pragma once
// One request on its way through the pipeline: what the steps read, and what they
// decide. A step may suspend the pipeline (wait_for): the rest of the steps run once what
// it waits for completes, on the worker's executor (pipeline.hpp).
#include <asio/awaitable.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "proxy/decision.hpp"
#include "proxy/forwarder.hpp"
#include "proxy/services.hpp"
#include "proxy/snapshot.hpp"
#include "sip/message.hpp"
#include "transaction/server_transaction.hpp"

namespace sipproxy::proxy {

struct RequestContext;

// What a suspended step waits for, and what it does with the result. Resumed with the
// context at its new home (ProxyCore moves it into the coroutine that waits, with the
// transaction and snapshot its references point into), so it never keeps a reference to
// the context it was made with.
class Suspension {
  public:
    virtual ~Suspension() = default;
    virtual asio::awaitable<void> resume(RequestContext& ctx) = 0;
};

struct RequestContext {
    RequestContext(const sip::Message& r, const transport::Peer& src, const transport::Local& l,
                   const Snapshot& snap, Services& svc)
        : request(r), source(src), local(l), snapshot(snap), services(svc) {}

    const sip::Message& request;
    const transport::Peer& source;
    const transport::Local& local;
    const Snapshot& snapshot;
    Services& services;
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now();

    // Filled in by the steps as they go.
    RouteEdit route_edit;
    bool ruri_local = false;       // Request-URI names this proxy or one of its domains
    bool in_dialog = false;        // To has a tag
    bool dialog_proven = false;    // a Route of ours carries a valid dialog token for it
    bool trusted_source = false;   // source in auth.trusted
    std::string authenticated;     // the digest-authenticated user, or ""
    bool record_route = false;
    Decision decision;

    bool decided() const { return decision.kind != Decision::Kind::Undecided; }
    void respond(int status, std::string reason = {}, std::vector<sip::ExtraHeader> h = {}) {
        decision = Decision::respond(status, std::move(reason), std::move(h));
    }

    // Suspends the pipeline after the current step: `wait` is awaited on the worker's
    // executor, then `then(ctx, result)` runs (`then(ctx)` for awaitable<void>), then the
    // steps after this one unless a decision was made. `then` must not capture references
    // to the context or the step's locals; shared_ptrs keep what `wait` needs alive.
    // Only a step that suspends allocates (this, and the coroutine frames).
    template <class T, class Then>
    void wait_for(asio::awaitable<T> wait, Then then);
    void wait_for(asio::awaitable<void> wait) {
        wait_for(std::move(wait), [](RequestContext&) {});
    }
    bool suspended() const { return suspension_ != nullptr; }
    std::unique_ptr<Suspension> take_suspension() { return std::move(suspension_); }

    // The pipeline's place: the index of the next step to run (pipeline.cpp).
    std::size_t next_step = 0;

  private:
    std::unique_ptr<Suspension> suspension_;
};

namespace detail {
template <class T, class Then>
class AwaitThen final : public Suspension {
  public:
    AwaitThen(asio::awaitable<T> wait, Then then) : wait_(std::move(wait)), then_(std::move(then)) {}
    asio::awaitable<void> resume(RequestContext& ctx) override {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(wait_);
            then_(ctx);
        } else {
            T result = co_await std::move(wait_);
            then_(ctx, std::move(result));
        }
    }

  private:
    asio::awaitable<T> wait_;
    Then then_;
};
}  // namespace detail

template <class T, class Then>
void RequestContext::wait_for(asio::awaitable<T> wait, Then then) {
    suspension_ = std::make_unique<detail::AwaitThen<T, Then>>(std::move(wait), std::move(then));
}

}  // namespace sipproxy::proxy
