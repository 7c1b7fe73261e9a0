#pragma once
// The response context of one proxied request (RFC 3261 16.7): forks it to its targets,
// group after group, forwards provisional responses and every 2xx at once, cancels the
// other branches on a 2xx or 6xx, cancels them all on CANCEL (16.10) or timer C, and in
// the end sends the best final response upstream. run() is one coroutine.
#include <asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/decision.hpp"
#include "proxy/forwarder.hpp"
#include "transaction/client_transaction.hpp"
#include "transaction/mailbox.hpp"
#include "transaction/server_transaction.hpp"

namespace sipproxy::proxy {

class ProxyCore;

class ResponseContext : public transaction::ResponseSink,
                        public std::enable_shared_from_this<ResponseContext> {
public:
    ResponseContext(ProxyCore& core, std::shared_ptr<transaction::ServerTransaction> st,
                    Decision plan, RouteEdit route_edit, bool record_route,
                    bool reports_call = false);

    asio::awaitable<void> run();

    void on_response(std::size_t branch, sip::Message response) override;
    void on_failure(std::size_t branch, int status, std::string_view reason) override;

private:
    struct Event {
        std::size_t branch = 0;
        std::optional<sip::Message> response;
        int status = 0;          // local failure when response is empty
        std::string reason;
        bool cancel = false;     // CANCEL from upstream
    };
    struct Branch {
        std::shared_ptr<transaction::ClientTransaction> ct;
        bool done = false;
        bool provisional = false;
        std::string gateway;  // the gateway this branch went to, if any
        const Target* target = nullptr;
        std::vector<transport::Peer> alternatives;  // RFC 3263 candidates not tried yet
    };

    asio::awaitable<void> start_group(const std::vector<Target>& group);
    asio::awaitable<void> start_branch(const Target& target, const transport::Peer* next_hop,
                                       std::vector<transport::Peer> alternatives);
    bool tries_next_candidate(const Branch& b, const Event& ev) const;
    asio::awaitable<void> try_next_candidate(std::size_t branch);
    void cancel_pending(int local_status, bool stop_all);
    void consider_final(Event& ev, bool target_failed = true);
    void forward_upstream(const sip::Message& response);
    void send_best();
    // The call events this context tells (call_events.hpp): an INVITE's answer or failure,
    // a BYE's final response.
    void report_call_end();
    bool is_failover_status(int status) const;

    ProxyCore& core_;
    std::shared_ptr<transaction::ServerTransaction> st_;
    Decision plan_;
    RouteEdit route_edit_;
    bool record_route_;
    bool reports_call_;  // this context tells the call events about its INVITE
    std::uint32_t loop_hash_;
    transaction::Mailbox<Event> inbox_;
    std::vector<Branch> branches_;
    std::size_t pending_ = 0;
    bool answered_ = false;
    bool cancelled_ = false;
    bool six_xx_ = false;

    // The best final response so far (16.7 step 6).
    std::optional<sip::Message> best_;
    int best_status_ = 0;
    std::string best_reason_;  // for a local failure
    std::size_t best_branch_ = SIZE_MAX;
    // What went upstream as the final response (send_best()).
    int sent_status_ = 0;
    std::string sent_reason_;
    bool sent_local_ = false;
    std::vector<std::string> challenges_;  // WWW-/Proxy-Authenticate of every 401/407
};

}  // namespace sipproxy::proxy
