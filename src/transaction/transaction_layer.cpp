#include "transaction/transaction_layer.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>

#include <cstdio>

#include "base/log.hpp"
#include "transaction/branch.hpp"

namespace sipproxy::transaction {

TransactionLayer::TransactionLayer(asio::io_context& io, transport::Transport& transport,
                                   unsigned worker, LayerOptions options)
    : io_(io), transport_(transport), worker_(worker), options_(options),
      rng_(std::random_device{}()) {
    if (!options_.pending) options_.pending = std::make_shared<std::atomic<std::size_t>>(0);
}

std::string TransactionLayer::client_key(std::string_view branch, sip::Method method) {
    std::string k;
    k.reserve(branch.size() + 4);
    k.append(branch).push_back('|');
    k += std::to_string(static_cast<int>(method));
    return k;
}

std::string TransactionLayer::server_key(const sip::Message& r, bool as_invite) {
    const auto& via = r.vias().front();
    const auto method = as_invite ? sip::Method::Invite : r.method();
    std::string k;
    if (via.rfc3261_branch()) {
        // 17.2.3: branch, sent-by, method (ACK matches the INVITE).
        k.reserve(via.branch.size() + via.host.size() + 16);
        k.append(via.branch).push_back('|');
        k.append(via.host).push_back(':');
        k += std::to_string(via.port);
        k.push_back('|');
        k += std::to_string(static_cast<int>(method));
        return k;
    }
    // RFC 2543 fallback: Request-URI, From tag, Call-ID, CSeq number, top Via (To tag
    // too, except for an ACK/CANCEL looking for its INVITE).
    k.append("2543|").append(r.request_uri().raw).push_back('|');
    k.append(r.from().tag).push_back('|');
    if (!as_invite) k.append(r.to().tag);
    k.push_back('|');
    k.append(r.call_id()).push_back('|');
    k += std::to_string(r.cseq().number);
    k.push_back('|');
    k.append(via.raw).push_back('|');
    k += std::to_string(static_cast<int>(method));
    return k;
}

std::string TransactionLayer::new_branch(std::uint32_t loop) {
    return make_branch(worker_, loop, (rng_() & 0xffffffff00000000ull) | ++counter_);
}

std::string TransactionLayer::new_tag() {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng_()));
    return buf;
}

void TransactionLayer::receive(sip::Message m, const transport::Peer& from,
                               const transport::Local& local) {
    if (m.is_request()) receive_request(std::move(m), from, local);
    else receive_response(std::move(m));
}

void TransactionLayer::reply_stateless(const sip::Message& request, const transport::Peer& to,
                                       int status, std::string_view reason,
                                       const std::vector<sip::ExtraHeader>& extra) {
    transport::Peer dest = to;
    if (to.protocol == transport::Protocol::Udp && !request.vias().empty() &&
        !request.vias().front().has_rport)
        dest.port = request.vias().front().port ? request.vias().front().port : 5060;
    count_response(status);
    transport_.post_send(dest, sip::make_response(request, status, reason, new_tag(), extra));
}

void TransactionLayer::receive_request(sip::Message m, const transport::Peer& from,
                                       const transport::Local& local) {
    const auto method = m.method();
    if (method == sip::Method::Ack) {
        auto it = servers_.find(server_key(m, true));
        if (it != servers_.end() && it->second->final_status() >= 300) {
            it->second->ack();  // ACK for a non-2xx final ends here (17.2.1)
            if (tu_) tu_->on_request_absorbed(method);
            return;
        }
        if (tu_) tu_->on_ack(std::move(m), from, local);
        return;
    }
    const auto key = server_key(m, false);
    if (auto it = servers_.find(key); it != servers_.end()) {
        it->second->retransmission();
        return;
    }
    if (method == sip::Method::Cancel) {
        // 16.10: answer the CANCEL ourselves and cancel the INVITE's branches.
        if (tu_) tu_->on_request_absorbed(method);
        auto inv = servers_.find(server_key(m, true));
        if (inv == servers_.end()) {
            reply_stateless(m, from, 481, "Call/Transaction Does Not Exist");
            return;
        }
        auto invite = inv->second;
        auto st = std::make_shared<ServerTransaction>(*this, std::move(m), from, local, key);
        servers_.emplace(key, st);
        update_live();
        asio::co_spawn(io_, st->run(), asio::detached);
        st->respond(200, "OK");
        invite->cancel_received();
        return;
    }
    if (pending() >= options_.max_transactions) {
        reply_stateless(m, from, 503, "Service Unavailable", {{"Retry-After", "5"}});
        log::call(log::Level::warn, m.call_id(), "transaction limit {} reached: 503",
                  options_.max_transactions);
        return;
    }
    auto st = std::make_shared<ServerTransaction>(*this, std::move(m), from, local, key);
    servers_.emplace(key, st);
    update_live();
    asio::co_spawn(io_, st->run(), asio::detached);
    if (tu_) tu_->on_request(st);
}

void TransactionLayer::receive_response(sip::Message m) {
    if (m.vias().empty()) return;
    const auto& branch = m.vias().front().branch;
    // A response to a client transaction of another worker goes to that worker.
    if (auto w = branch_worker(branch); w && *w != worker_ && *w < siblings_.size()) {
        TransactionLayer* owner = siblings_[*w];
        asio::post(owner->io_, [owner, msg = std::move(m)]() mutable {
            owner->receive_response(std::move(msg));
        });
        return;
    }
    auto it = clients_.find(client_key(branch, m.cseq().method));
    if (it != clients_.end()) {
        it->second->receive(std::move(m));
        return;
    }
    forward_stray(std::move(m));
}

std::shared_ptr<ClientTransaction> TransactionLayer::start_client(
    const transport::Peer& destination, std::string request, sip::Method method,
    std::string branch, std::weak_ptr<ResponseSink> sink, std::size_t branch_index) {
    auto ct = std::make_shared<ClientTransaction>(*this, destination, std::move(request), method,
                                                  std::move(branch), std::move(sink),
                                                  branch_index);
    clients_[ct->key()] = ct;
    update_live();
    asio::co_spawn(io_, ct->run(), asio::detached);
    return ct;
}

void TransactionLayer::remove(const ServerTransaction& st) {
    auto it = servers_.find(st.key());
    if (it != servers_.end() && it->second.get() == &st) servers_.erase(it);
    update_live();
}

void TransactionLayer::remove(const ClientTransaction& ct) {
    auto it = clients_.find(ct.key());
    if (it != clients_.end() && it->second.get() == &ct) clients_.erase(it);
    update_live();
}

void TransactionLayer::shutdown() {
    auto servers = servers_;
    auto clients = clients_;
    for (auto& [k, st] : servers) st->shutdown();
    for (auto& [k, ct] : clients) ct->shutdown();
}

}  // namespace sipproxy::transaction
