#pragma once
// The transaction layer of one worker: matches incoming requests to server transactions
// (RFC 3261 17.2.3, with the RFC 2543 fallback for branches without the magic cookie)
// and responses to client transactions (17.1.3), starts new ones, and hands what matches
// nothing to the transaction user (the proxy). Single-threaded: a response for a client
// transaction of another worker is posted to that worker (the worker index is in the
// branch), and a CANCEL that matches no INVITE here asks the other workers.
//
// A transaction that has done its work (final response sent or received) only has to
// absorb retransmissions for a while (timers J, I, K, D; RFC 6026 Accepted). Its coroutine
// ends then, and what it leaves behind is a slot in the same table: the key, where to
// send, and the bytes to repeat (the final response, or the ACK). One sweep timer per
// worker ends those slots in the order they started, instead of one timer and one
// coroutine frame per transaction.
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/slot_table.hpp"
#include "sip/message.hpp"
#include "transaction/client_transaction.hpp"
#include "transaction/fair_shares.hpp"
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
    // A response that belongs to no client transaction: forward it statelessly (16.7),
    // if it is one the proxy may forward. `from` is where it came from.
    virtual void on_stray_response(sip::Message response, const transport::Peer& from) = 0;
    // Counting hook for every response sent upstream by a server transaction.
    virtual void on_response_sent(int /*status*/) {}
    // Timing hook: a server transaction sent its final response `elapsed` after its request.
    virtual void on_transaction_final(sip::Method /*method*/, int /*status*/,
                                      Clock::duration /*elapsed*/) {}
    // Counting hook for requests the layer handles itself (CANCEL, ACK for a non-2xx).
    virtual void on_request_absorbed(sip::Method /*method*/) {}
    // A REGISTER's 200 lists the bindings (RFC 3261 10.3 step 8). When this is true its
    // headers are not kept for timer J: a retransmission gets them from
    // registration_again(), the bindings as they are then (about 80 bytes less for each
    // REGISTER lingering, and the answer is as current as the first one was).
    virtual bool rebuilds_registrations() const { return false; }
    virtual std::vector<sip::ExtraHeader> registration_again(const sip::Message& /*request*/) {
        return {};
    }
};

struct LayerOptions {
    Timers timers;
    // Transactions still waiting for a final response, across all workers that share
    // `pending` (a transaction that only lingers to absorb retransmissions does not count).
    // Lingering transactions (done, absorbing retransmissions) are bounded by it too,
    // counted apart: past it, a transaction that would linger ends at once.
    std::size_t max_transactions = 200000;
    std::shared_ptr<std::atomic<std::size_t>> pending;  // shared by the workers; made if null
    std::shared_ptr<FairShares> shares;                 // shared by the workers; made if null
};

class TransactionLayer {
public:
    TransactionLayer(asio::io_context& io, transport::Transport& transport, unsigned worker,
                     LayerOptions options);

    void set_user(TransactionUser* tu) { tu_ = tu; }
    // Whether a source is exempt from every limit (security.allow, auth.trusted): its
    // requests are not capped per source, and a destination in it not per destination.
    // Unset: nobody is.
    void set_exempt(std::function<bool(const asio::ip::address&)> f) { exempt_ = std::move(f); }
    bool exempt(const asio::ip::address& a) const { return exempt_ && exempt_(a); }
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
    void forward_stray(sip::Message response, const transport::Peer& from) {
        if (tu_) tu_->on_stray_response(std::move(response), from);
    }
    void count_response(int status) {
        if (tu_) tu_->on_response_sent(status);
    }
    void count_final(sip::Method method, int status, Clock::duration elapsed) {
        if (tu_) tu_->on_transaction_final(method, status, elapsed);
    }
    // Stops every transaction (shutdown).
    void shutdown();

    // A new server transaction enters the table once its transaction user has seen it:
    // live (its coroutine runs here), or straight into lingering (linger() below).
    void add_live(const std::shared_ptr<ServerTransaction>& st);
    void remove(const ServerTransaction& st);
    void remove(const ClientTransaction& ct);
    // The transaction is done but absorbs retransmissions for `d` (zero: ends now):
    // `resend` (the final response) answers a retransmitted request; empty: absorbed.
    // A server transaction that never entered the table (answered at once) enters it so.
    // Resend::Recipe: `resend` is an answer_recipe(), rebuilt for each retransmission
    // (kept in answered_, not in the table of transactions).
    enum class Resend : std::uint8_t { Bytes, Recipe };
    void linger(const ServerTransaction& st, std::string resend, Clock::duration d,
                Resend kind = Resend::Bytes);
    // `ack` is re-sent for every retransmitted non-2xx final; empty: absorbed.
    void linger(const ClientTransaction& ct, std::string ack, Clock::duration d);
    // A transaction got its final response (or gave up): it no longer counts toward
    // max_transactions. `flag` makes it happen once.
    void settle(bool& flag) {
        if (!flag) {
            flag = true;
            options_.pending->fetch_sub(1, std::memory_order_relaxed);
        }
    }
    // The same, and the transaction no longer counts toward the share of `share`.
    void settle(bool& flag, AddressCounts& counts, const AddressKey& share) {
        if (!flag) {
            settle(flag);
            counts.remove(share);
        }
    }
    void unsettled() { options_.pending->fetch_add(1, std::memory_order_relaxed); }
    FairShares& shares() { return *options_.shares; }
    // A transaction that wants to linger (its own coroutine, or a slot) takes one of the
    // max_transactions places for lingering ones; false when none is left.
    bool reserve_linger();
    bool rebuilds_registrations() const { return tu_ && tu_->rebuilds_registrations(); }
    void release_linger() { options_.shares->lingering.fetch_sub(1, std::memory_order_relaxed); }
    std::size_t pending() const { return options_.pending->load(std::memory_order_relaxed); }

    // Server/client transactions, lingering ones included.
    std::size_t server_count() const { return servers_.size() + answered_.size(); }
    std::size_t lingering() const { return lingering_; }
    // Across all workers that share `shares`, live ones in INVITE Completed included.
    std::size_t lingering_all() const {
        return options_.shares->lingering.load(std::memory_order_relaxed);
    }
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
    // A live transaction, or (when the pointer is null) what a finished one left to
    // absorb retransmissions until `until`.
    struct ServerSlot {
        std::shared_ptr<ServerTransaction> st;
        std::string resend;
        transport::Peer to;
        int final_status = 0;
        Clock::time_point until;
    };
    // A non-INVITE final this proxy wrote itself (a REGISTER's 200 above all), lingering
    // for timer J over UDP: the recipe answer_again() needs and nothing else, in a table
    // keyed by the hash of the transaction key (about 70 bytes each with the queue entry,
    // where a ServerSlot with its key and a copy in the linger queue took 600). The answer
    // goes where the retransmission came from. Two keys with the same hash would share a
    // slot: answer_again() then finds the request is not the one answered and sends nothing
    // (a chance of 2^-64 per request).
    struct Answered {
        Clock::time_point until;
        std::unique_ptr<char[]> recipe;  // answer_recipe(), `size` bytes
        std::uint32_t size = 0;
        std::string_view view() const { return {recipe.get(), size}; }
    };
    static std::uint64_t key_hash(std::string_view key) { return std::hash<std::string_view>{}(key); }
    struct ClientSlot {
        std::shared_ptr<ClientTransaction> ct;
        std::string ack;
        transport::Peer to;
        Clock::time_point until;
    };
    // Lingering slots in the order they end: one FIFO per duration (a handful of
    // constants), so each stays sorted without a heap.
    enum class Table : std::uint8_t { Servers, Clients, Answered };
    struct LingerQueue {
        Clock::duration after;
        Table table;
        std::deque<std::pair<Clock::time_point, std::string>> keys;      // servers_, clients_
        std::deque<std::pair<Clock::time_point, std::uint64_t>> hashes;  // answered_
        Clock::time_point front() const {
            if (!keys.empty()) return keys.front().first;
            return hashes.empty() ? Clock::time_point::max() : hashes.front().first;
        }
    };
    LingerQueue& linger_queue(Clock::duration d, Table table);
    // A slot that lingers until `until` (= now + d): counted, queued, swept.
    void schedule_end(const std::string& key, Clock::time_point until, Clock::duration d,
                      Table table);
    void schedule_end(std::uint64_t hash, Clock::time_point until, Clock::duration d);
    void linger_answered(const ServerTransaction& st, std::string recipe, Clock::duration d);
    void arm_sweep();
    void sweep();

    void receive_cancel(sip::Message m, const transport::Peer& from,
                        const transport::Local& local, std::size_t hops);
    void receive_request(sip::Message m, const transport::Peer& from,
                         const transport::Local& local);
    void receive_response(sip::Message m, const transport::Peer& from);
    void reply_stateless(const sip::Message& request, const transport::Peer& to, int status,
                         std::string_view reason, const std::vector<sip::ExtraHeader>& extra = {});
    // A logged refusal: the first, then at most one line per 10 s with the count.
    struct RefusalNote {
        std::uint64_t unlogged = 0;
        Clock::time_point logged{};
    };
    void note_refusal(RefusalNote& note, const char* what, const transport::Peer& who);
    void add_lingering(std::size_t n) { lingering_ += n; }
    void drop_lingering(std::size_t n);

    asio::io_context& io_;
    transport::Transport& transport_;
    unsigned worker_;
    LayerOptions options_;
    TransactionUser* tu_ = nullptr;
    std::function<bool(const asio::ip::address&)> exempt_;
    RefusalNote source_refusals_, destination_refusals_, capacity_refusals_;
    std::vector<TransactionLayer*> siblings_;
    SlotTable<ServerSlot> servers_;
    SlotTable<ClientSlot> clients_;
    SlotTable<Answered, std::uint64_t> answered_;
    std::vector<LingerQueue> linger_queues_;
    std::size_t lingering_ = 0;
    asio::steady_timer sweep_timer_;
    bool sweep_armed_ = false;
    bool stopping_ = false;
    void update_live() {
        live_.store(servers_.size() + clients_.size() + answered_.size(),
                    std::memory_order_relaxed);
    }
    std::atomic<std::size_t> live_{0};
    std::uint64_t counter_ = 0;
    std::mt19937_64 rng_;
};

}  // namespace sipproxy::transaction
