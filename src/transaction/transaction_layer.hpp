#pragma once
// The transaction layer of one worker: matches incoming requests to server transactions
// (RFC 3261 17.2.3, with the RFC 2543 fallback for branches without the magic cookie)
// and responses to client transactions (17.1.3), starts new ones, and hands what matches
// nothing to the transaction user (the proxy). Single-threaded: a response for a client
// transaction of another worker is posted to that worker (the worker index is in the
// branch).
#include <asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "sip/message.hpp"
#include "transaction/client_transaction.hpp"
#include "transaction/server_transaction.hpp"
#include "transaction/timers.hpp"
#include "transport/transport.hpp"

namespace sipproxy::transaction {

// What the proxy core provides to the transaction layer.
class TransactionUser {
public:
    virtual ~TransactionUser() = default;
    // A new request (not ACK, not CANCEL) with its server transaction already running.
    virtual void on_request(const std::shared_ptr<ServerTransaction>& st) = 0;
    // An ACK that belongs to no server transaction (the ACK for a 2xx): route it onward.
    virtual void on_ack(sip::Message ack, const transport::Peer& from,
                        const transport::Local& local) = 0;
    // A response that belongs to no client transaction: forward it statelessly (16.7).
    virtual void on_stray_response(sip::Message response) = 0;
    // Counting hook for every response sent upstream by a server transaction.
    virtual void on_response_sent(int /*status*/) {}
    // Counting hook for requests the layer handles itself (CANCEL, ACK for a non-2xx).
    virtual void on_request_absorbed(sip::Method /*method*/) {}
};

struct LayerOptions {
    Timers timers;
    // Transactions still waiting for a final response, across all workers that share
    // `pending` (a transaction that only lingers to absorb retransmissions does not count).
    std::size_t max_transactions = 200000;
    std::shared_ptr<std::atomic<std::size_t>> pending;  // shared by the workers; made if null
};

class TransactionLayer {
public:
    TransactionLayer(asio::io_context& io, transport::Transport& transport, unsigned worker,
                     LayerOptions options);

    void set_user(TransactionUser* tu) { tu_ = tu; }
    // All workers' layers (index = worker), so responses reach their owner.
    void set_siblings(std::vector<TransactionLayer*> s) { siblings_ = std::move(s); }

    // Entry point for every parsed message this worker's transport received.
    void receive(sip::Message m, const transport::Peer& from, const transport::Local& local);

    // Starts a client transaction; it sends at once.
    std::shared_ptr<ClientTransaction> start_client(const transport::Peer& destination,
                                                    std::string request, sip::Method method,
                                                    std::string branch,
                                                    std::weak_ptr<ResponseSink> sink,
                                                    std::size_t branch_index);

    std::string new_branch(std::uint32_t loop_hash);
    std::string new_tag();
    void forward_stray(sip::Message response) {
        if (tu_) tu_->on_stray_response(std::move(response));
    }
    void count_response(int status) {
        if (tu_) tu_->on_response_sent(status);
    }
    // Stops every transaction (shutdown).
    void shutdown();

    void remove(const ServerTransaction& st);
    void remove(const ClientTransaction& ct);
    // A transaction got its final response (or gave up): it no longer counts toward
    // max_transactions. `flag` makes it happen once.
    void settle(bool& flag) {
        if (!flag) {
            flag = true;
            options_.pending->fetch_sub(1, std::memory_order_relaxed);
        }
    }
    void unsettled() { options_.pending->fetch_add(1, std::memory_order_relaxed); }
    std::size_t pending() const { return options_.pending->load(std::memory_order_relaxed); }

    std::size_t server_count() const { return servers_.size(); }
    // Live transactions, readable from any thread (for status).
    std::size_t live() const { return live_.load(std::memory_order_relaxed); }
    std::size_t client_count() const { return clients_.size(); }
    const Timers& timers() const { return options_.timers; }
    transport::Transport& transport() { return transport_; }
    asio::any_io_executor executor() { return io_.get_executor(); }
    unsigned worker() const { return worker_; }

    static std::string client_key(std::string_view branch, sip::Method method);
    // 17.2.3 (or the RFC 2543 rules): the key of the server transaction for a request.
    // ACK and CANCEL map to the INVITE's key when `as_invite` is set.
    static std::string server_key(const sip::Message& request, bool as_invite);

private:
    void receive_request(sip::Message m, const transport::Peer& from,
                         const transport::Local& local);
    void receive_response(sip::Message m);
    void reply_stateless(const sip::Message& request, const transport::Peer& to, int status,
                         std::string_view reason, const std::vector<sip::ExtraHeader>& extra = {});

    asio::io_context& io_;
    transport::Transport& transport_;
    unsigned worker_;
    LayerOptions options_;
    TransactionUser* tu_ = nullptr;
    std::vector<TransactionLayer*> siblings_;
    std::unordered_map<std::string, std::shared_ptr<ServerTransaction>> servers_;
    std::unordered_map<std::string, std::shared_ptr<ClientTransaction>> clients_;
    void update_live() {
        live_.store(servers_.size() + clients_.size(), std::memory_order_relaxed);
    }
    std::atomic<std::size_t> live_{0};
    std::uint64_t counter_ = 0;
    std::mt19937_64 rng_;
};

}  // namespace sipproxy::transaction
