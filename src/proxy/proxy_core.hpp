#pragma once
// The proxy of one worker: the transaction user (RFC 3261 16). A new request runs the
// pipeline; a decision to forward starts a response context. ACKs for 2xx and responses
// that match no transaction are forwarded statelessly (16.7, 16.11).
#include <chrono>
#include <memory>

#include "proxy/decision.hpp"
#include "proxy/request_context.hpp"
#include <asio/awaitable.hpp>
#include "proxy/services.hpp"
#include "proxy/snapshot.hpp"
#include "transaction/transaction_layer.hpp"
#include "transport/transport.hpp"

namespace sipproxy::proxy {

class ProxyCore : public transaction::TransactionUser {
public:
    ProxyCore(Services& services, transaction::TransactionLayer& layer,
              transport::Transport& transport);

    void on_request(const std::shared_ptr<transaction::ServerTransaction>& st) override;
    void on_ack(sip::Message ack, const transport::Peer& from,
                const transport::Local& local) override;
    void on_stray_response(sip::Message response, const transport::Peer& from) override;
    void on_response_sent(int status) override { services_.stats.response_sent(status); }
    void on_request_absorbed(sip::Method m) override { services_.stats.request(m); }
    bool rebuilds_registrations() const override { return true; }
    std::vector<sip::ExtraHeader> registration_again(const sip::Message& request) override;
    void on_transaction_final(sip::Method m, int status,
                              transaction::Clock::duration elapsed) override {
        services_.stats.transaction_final(m, status, elapsed);
    }
    // A message that did not parse: a request gets "400 <what is wrong>" (or 505, 513)
    // when it has enough of a header to be answered.
    void on_parse_error(std::string_view raw, const sip::ParseError& error,
                        const transport::Peer& from);

    // Sends a response onward by its (next) Via, without a transaction. Without
    // `may_connect` it goes over TCP only on a connection that exists already.
    void forward_response_stateless(const sip::Message& response, bool may_connect = true);

    transaction::TransactionLayer& layer() { return layer_; }
    transport::Transport& transport() { return transport_; }
    CallEvents& call_events() { return services_.call_events; }
    const PathTokens* tokens() const { return services_.tokens.get(); }
    Stats& stats() { return services_.stats; }
    std::chrono::milliseconds timer_c();
    // A call to a gateway failed with a server failure or no answer.
    void gateway_failed(const std::string& gateway, int status, std::string_view reason);

private:
    // The decision made: the response sent, or the forwarding started.
    void decided(const std::shared_ptr<transaction::ServerTransaction>& st, RequestContext& ctx);
    void respond(transaction::ServerTransaction& st, const Decision& d);
    // Finishes a pipeline a step suspended, owning what the context refers to.
    asio::awaitable<void> resume(std::shared_ptr<transaction::ServerTransaction> st,
                                 std::shared_ptr<const Snapshot> snapshot, RequestContext ctx);

    Services& services_;
    transaction::TransactionLayer& layer_;
    transport::Transport& transport_;
    SnapshotView snapshot_;
};

}  // namespace sipproxy::proxy
