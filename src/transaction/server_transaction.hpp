#pragma once
// A server transaction (RFC 3261 17.2): the request as received and the responses the
// proxy sends back for it. run() is the state machine as one coroutine: it absorbs
// retransmitted requests by re-sending the last response, and after a final response
// lingers (timers G/H/I for INVITE, J for the others) before it ends.
#include <asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/address_key.hpp"
#include "sip/message.hpp"
#include "sip/response.hpp"
#include "transaction/mailbox.hpp"
#include "transaction/timers.hpp"
#include "transport/peer.hpp"

namespace sipproxy::transaction {

class TransactionLayer;

// Where responses to `request` go (RFC 3261 18.2.2, RFC 3581 4): over a connection, back
// on it; over UDP, to the source address, and to the source port when rport was asked for
// (else the Via port).
transport::Peer response_destination(const sip::Message& request, const transport::Peer& source);

// A non-INVITE final response this proxy wrote itself (a REGISTER's 200 above all), kept for
// timer J as what it was made of instead of its bytes: a hash of the request, the status,
// reason, To-tag and extra headers (about a third of the bytes). A retransmission is the
// same request (RFC 3261 17.1.2.2), so answer_again() rebuilds the same bytes from it.
std::string answer_recipe(const sip::Message& request, int status, std::string_view reason,
                          std::string_view to_tag, const std::vector<sip::ExtraHeader>& extra);
// The response again for `retransmission`, stamped as for the original source (`to`, where
// responses go, gives the same received/rport), or empty when the request is not the one
// the recipe was made for (then nothing is sent, as for a request that matched nothing).
// `more`: headers after the recipe's own (those of a REGISTER's 200, rebuilt).
std::string answer_again(std::string_view recipe, const sip::Message& retransmission,
                         const transport::Peer& to, std::vector<sip::ExtraHeader> more = {});
// The status a recipe answers with (0 if it is not one).
int recipe_status(std::string_view recipe);

class ServerTransaction : public std::enable_shared_from_this<ServerTransaction> {
public:
    ServerTransaction(TransactionLayer& layer, sip::Message request, transport::Peer source,
                      transport::Local local, std::string key);

    // The request as received. Valid until the final response is sent: a transaction that
    // only lingers to absorb retransmissions keeps its key, not the message.
    const sip::Message& request() const { return *request_; }
    const transport::Peer& source() const { return source_; }
    const transport::Local& local() const { return local_; }
    const transport::Peer& destination() const { return destination_; }
    bool is_invite() const { return invite_; }
    const std::string& key() const { return key_; }

    // Answers generated here (8.2.6): a To-tag is added to every non-100 response, the
    // same for every response of this transaction.
    void respond(int status, std::string_view reason = {},
                 const std::vector<sip::ExtraHeader>& extra = {});
    // A response written elsewhere (a forwarded one). status is its code.
    void send_response(std::string bytes, int status);

    bool final_sent() const { return final_status_ >= 200; }
    int final_status() const { return final_status_; }
    std::string_view to_tag() const { return to_tag_; }

    // The transaction user vouches for the source (its request was authenticated): a
    // non-2xx final to its INVITE is retransmitted until the ACK as RFC 3261 17.2.1 says.
    // For a source nobody vouched for (nor exempt: security.allow, auth.trusted), whose
    // address may be spoofed, the proxy must not be a reflector: see run().
    void vouch() { vouched_ = true; }

    // Set by the transaction user to learn that a CANCEL matched this transaction.
    std::function<void()> on_cancel;
    bool cancelled() const { return cancelled_; }

    // From the transaction layer, once the transaction user has seen the request: a
    // non-INVITE already answered (a registration, a challenge) goes straight to
    // Completed without a coroutine of its own; anything else starts run().
    void start();
    void retransmission();
    void ack();
    void cancel_received();
    void shutdown();
    asio::awaitable<void> run();

private:
    enum class Event { Retransmission, Ack, Final };
    void send(const std::string& bytes);
    void release_request();
    // Completed non-INVITE: lingers for `d` with its recipe, or its bytes.
    void linger_answered(Clock::duration d);
    void settle();

    TransactionLayer& layer_;
    std::optional<sip::Message> request_;
    bool invite_;
    transport::Peer destination_;  // where responses go (18.2.2, RFC 3581)
    transport::Peer source_;
    transport::Local local_;
    std::string key_;
    std::string to_tag_;
    std::string last_response_;
    std::string recipe_;  // of the final response, when respond() wrote it (non-INVITE)
    int last_status_ = 0;
    int final_status_ = 0;
    Clock::time_point received_ = Clock::now();  // for the transaction-time histogram
    bool cancelled_ = false;
    bool settled_ = false;  // final response sent: no longer counts toward the caps
    bool vouched_ = false;
    bool provisional_sent_ = false;
    AddressKey share_key_;  // the source, for its share (counted by the layer)
    bool running_ = false;  // run() was started: events go to its inbox
    Mailbox<Event> inbox_;
};

}  // namespace sipproxy::transaction
