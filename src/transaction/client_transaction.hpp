#pragma once
// A client transaction (RFC 3261 17.1): one request sent to one next hop. run() is the
// state machine as one coroutine: retransmissions over UDP (timers A/E), the timeout
// (B/F -> a local 408), ACK for a non-2xx final (17.1.1.3), CANCEL on request once a
// provisional response arrived (9.1), and the linger of timers D/K.
#include <asio/awaitable.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/address_key.hpp"
#include "sip/message.hpp"
#include "transaction/mailbox.hpp"
#include "transaction/timers.hpp"
#include "transport/peer.hpp"

namespace sipproxy::transaction {

class TransactionLayer;

// Where a client transaction reports its responses: the proxy's response context.
class ResponseSink {
public:
    virtual ~ResponseSink() = default;
    virtual void on_response(std::size_t branch, sip::Message response) = 0;
    // No response at all: 408 (timer B/F) or 503 (transport error).
    virtual void on_failure(std::size_t branch, int status, std::string_view reason) = 0;
};

class ClientTransaction : public std::enable_shared_from_this<ClientTransaction> {
public:
    // Its place in the destination's share (TransactionLayer::start_client): counted until
    // settled, not counted (CANCEL), or refused (the destination holds its share: the
    // request is not sent, the transaction fails with 503).
    enum class Share { Counted, None, Refused };
    ClientTransaction(TransactionLayer& layer, transport::Peer destination, std::string request,
                      sip::Method method, std::string branch, std::weak_ptr<ResponseSink> sink,
                      std::size_t branch_index, Share share = Share::None);

    const std::string& branch() const { return branch_; }
    sip::Method method() const { return method_; }
    const std::string& key() const { return key_; }
    const transport::Peer& destination() const { return destination_; }

    // INVITE only: send CANCEL now if a provisional response came, else as soon as one
    // does (RFC 3261 9.1). The INVITE then normally ends with 487.
    void cancel();
    // From the transaction layer.
    void receive(sip::Message response);
    void shutdown();
    asio::awaitable<void> run();

private:
    struct CancelRequest {};
    using Event = std::variant<sip::Message, CancelRequest>;

    asio::awaitable<void> run_invite();
    asio::awaitable<void> run_non_invite();
    void report(sip::Message m);
    void fail(int status, std::string_view reason);
    void send_cancel();
    void retransmit();
    void settle();

    TransactionLayer& layer_;
    transport::Peer destination_;
    std::string request_;
    sip::Method method_;
    std::string branch_;
    std::string key_;
    std::weak_ptr<ResponseSink> sink_;
    std::size_t branch_index_;
    Mailbox<Event> inbox_;
    bool cancel_wanted_ = false;
    bool cancel_sent_ = false;
    bool provisional_ = false;
    bool settled_ = false;  // final response or failure: no longer counts toward the cap
    Share share_;
    AddressKey share_key_;  // the destination, for its share
};

}  // namespace sipproxy::transaction
