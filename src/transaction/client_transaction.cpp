#include "transaction/client_transaction.hpp"

#include "base/log.hpp"
#include "transaction/in_transaction_requests.hpp"
#include "transaction/transaction_layer.hpp"

namespace sipproxy::transaction {


ClientTransaction::ClientTransaction(TransactionLayer& layer, transport::Peer destination,
                                     std::string request, sip::Method method,
                                     std::string branch, std::weak_ptr<ResponseSink> sink,
                                     std::size_t branch_index, Share share)
    : layer_(layer), destination_(destination), request_(std::move(request)), method_(method),
      branch_(std::move(branch)), key_(TransactionLayer::client_key(branch_, method_)),
      sink_(std::move(sink)), branch_index_(branch_index), inbox_(layer.executor()),
      share_(share), share_key_(source_of(transport::address_key(destination_.address))) {
    layer_.unsettled();
}

void ClientTransaction::settle() {
    if (share_ == Share::Counted) layer_.settle(settled_, layer_.shares().destinations, share_key_);
    else layer_.settle(settled_);
}

void ClientTransaction::receive(sip::Message response) { inbox_.push(std::move(response)); }
void ClientTransaction::shutdown() { inbox_.close(); }

void ClientTransaction::cancel() {
    if (method_ != sip::Method::Invite || cancel_wanted_) return;
    cancel_wanted_ = true;
    inbox_.push(CancelRequest{});
}

void ClientTransaction::report(sip::Message m) {
    if (m.status() >= 200) settle();
    if (auto s = sink_.lock()) s->on_response(branch_index_, std::move(m));
    else if (m.status() >= 200 && m.status() < 300)
        layer_.forward_stray(std::move(m), destination_);
}

void ClientTransaction::fail(int status, std::string_view reason) {
    settle();
    if (auto s = sink_.lock()) s->on_failure(branch_index_, status, reason);
}

void ClientTransaction::retransmit() { layer_.transport().post_send(destination_, request_); }

void ClientTransaction::send_cancel() {
    if (cancel_sent_) return;
    cancel_sent_ = true;
    auto cancel = make_cancel(request_);
    if (!cancel) return;
    // The CANCEL is a transaction of its own, with the same branch (9.1); its response
    // matters to nobody.
    layer_.start_client(destination_, std::move(*cancel), sip::Method::Cancel, branch_, {}, 0);
}

asio::awaitable<void> ClientTransaction::run() {
    auto self = shared_from_this();
    if (share_ == Share::Refused) {
        fail(503, "Service Unavailable: too many pending requests to this destination");
        co_return layer_.remove(*this);
    }
    auto ec = co_await layer_.transport().send(destination_, request_);
    if (ec == transport::flow_gone_error()) {
        // The peer's own connection closed; its port was an ephemeral one (RFC 5626 5.3:
        // 430 for a registered flow, else a 503 that names the flow).
        log::info("send to {} failed: the connection the peer opened has closed",
                  destination_.to_string());
        if (destination_.connection) fail(430, "Flow Failed");
        else fail(503, "Service Unavailable: connection " + destination_.to_string() + " is gone");
    } else if (ec) {
        log::info("send to {} failed: {}", destination_.to_string(), ec.message());
        fail(503, "Service Unavailable: " + destination_.to_string() + ": " + ec.message());
    } else if (method_ == sip::Method::Invite) {
        co_await run_invite();
    } else {
        co_await run_non_invite();
    }
    settle();
    layer_.remove(*this);
}

asio::awaitable<void> ClientTransaction::run_invite() {
    const Timers& t = layer_.timers();
    const bool reliable = destination_.reliable();
    auto interval = t.t1;
    auto next_a = Clock::now() + interval;
    const auto b = Clock::now() + t.b();
    // After CANCEL, the INVITE gets 64*T1 more to end with a final response (9.1).
    auto give_up = Clock::time_point::max();

    for (;;) {
        auto deadline = provisional_ ? give_up : (reliable ? b : std::min(next_a, b));
        auto ev = co_await inbox_.pop_until(deadline);
        if (!ev) {
            if (inbox_.closed()) co_return;
            if (!provisional_ && Clock::now() >= b) {
                co_return fail(408, "Request Timeout");  // timer B
            }
            if (provisional_) co_return fail(408, "Request Timeout");  // no final after CANCEL
            retransmit();  // timer A
            interval *= 2;
            next_a = Clock::now() + interval;
            continue;
        }
        if (std::holds_alternative<CancelRequest>(*ev)) {
            if (provisional_) {
                send_cancel();
                give_up = Clock::now() + t.b();
            }
            continue;
        }
        auto& m = std::get<sip::Message>(*ev);
        const int status = m.status();
        if (status < 200) {
            if (!provisional_) {
                provisional_ = true;  // Proceeding: no more retransmissions
                if (cancel_wanted_) {
                    send_cancel();
                    give_up = Clock::now() + t.b();
                }
            }
            report(std::move(m));
            continue;
        }
        if (status < 300) {
            report(std::move(m));  // Terminated; 2xx retransmissions go statelessly
            co_return;
        }
        // Completed: ACK every (retransmitted) final for timer D. The ACK is built once;
        // the request itself is no longer needed.
        auto ack = make_ack_for_non2xx(request_, m);
        std::string().swap(request_);
        if (ack) layer_.transport().post_send(destination_, *ack);
        report(std::move(m));
        co_return layer_.linger(*this, ack ? std::move(*ack) : std::string(),
                                reliable ? Clock::duration::zero() : Clock::duration(t.d()));
    }
}

asio::awaitable<void> ClientTransaction::run_non_invite() {
    const Timers& t = layer_.timers();
    const bool reliable = destination_.reliable();
    auto interval = t.t1;
    auto next_e = Clock::now() + interval;
    const auto f = Clock::now() + t.f();
    for (;;) {
        auto ev = co_await inbox_.pop_until(reliable ? f : std::min(next_e, f));
        if (!ev) {
            if (inbox_.closed()) co_return;
            if (Clock::now() >= f) co_return fail(408, "Request Timeout");  // timer F
            retransmit();  // timer E
            interval = provisional_ ? t.t2 : std::min(2 * interval, t.t2);
            next_e = Clock::now() + interval;
            continue;
        }
        auto* m = std::get_if<sip::Message>(&*ev);
        if (!m) continue;
        if (m->status() < 200) {
            provisional_ = true;
            report(std::move(*m));
            continue;
        }
        report(std::move(*m));
        // Completed: retransmitted finals are absorbed for timer K (in the layer's table).
        co_return layer_.linger(*this, {},
                                reliable ? Clock::duration::zero() : Clock::duration(t.t4));
    }
}

}  // namespace sipproxy::transaction
