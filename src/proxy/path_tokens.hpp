#pragma once
// Tokens that prove a path went through this proxy, signed with the node secret
// (auth/node_secret.hpp), so relaying needs no memory of calls and survives a restart:
//
//   dialog token  in the Record-Route this proxy inserts (;dlg=): binds the Call-ID and
//                 the initial request's From tag. An in-dialog request or a 2xx ACK is
//                 relayed only when a Route of ours carries one that verifies (RFC 3261
//                 16.4 loose routing, made safe the way Kamailio's and OpenSIPS's
//                 signed Record-Routes do it).
//   via token     after the Via branch this proxy inserts (transaction/branch.hpp):
//                 binds the previous hop's Via as this proxy stamped it (sent-by,
//                 received, rport), so a response without a transaction (RFC 3261 16.7,
//                 e.g. a 2xx retransmission) goes back only along a path we created.
//   flow token    in the Path entry this node adds to the binding of a phone whose
//                 TCP/TLS/WS connection it holds, in a cluster (;sipproxy-flow=): binds
//                 that connection (id, transport, address, port) and this run of the
//                 node, so another node's request routed through this one goes out over
//                 it, a Route to us with a forged token is refused, never relayed, and
//                 one from before a restart (connection ids start again at 1) is told
//                 apart and never reaches another connection (docs/cluster.md).
//   WebSocket     in the Record-Route, next to the dialog token (;wsflow= ;wsflowsig=):
//   flows         the WebSocket connections of the dialog's two sides, signed with the
//                 dialog (RFC 7118: a ".invalid" contact is reached only over its flow).
//
// token = base64url(first 12 bytes of HMAC-SHA256(secret, label || 0 || fields...)),
// 16 characters. Thread-safe (const); shared by every worker.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/node_secret.hpp"
#include "sip/message.hpp"
#include "transport/peer.hpp"

namespace sipproxy::proxy {

// The previous hop's Via as it is in a forwarded request and in the responses that come
// back: where a response is sent (RFC 3261 18.2.2, RFC 3581).
struct ViaHop {
    std::string_view transport;
    std::string_view host;
    std::uint16_t port = 0;
    std::string_view received;
    std::optional<std::uint16_t> rport;

    static ViaHop of(const sip::Via& v) {
        return {v.transport, v.host, v.port, v.received, v.rport};
    }
};

// A connection's far end as written in both kinds of flow: "<transport>~<address>~<port>"
// ("wss~127.0.0.1~55326"), IPv6 addresses without brackets ('~', unreserved in a URI,
// keeps the fields apart). parse_flow takes exactly that (no connection id).
std::string flow_text(const transport::Peer& p);
std::optional<transport::Peer> parse_flow(std::string_view text);

class PathTokens {
  public:
    static constexpr std::size_t token_length = 16;
    static constexpr std::string_view record_route_param = "dlg";

    explicit PathTokens(const auth::NodeSecret& secret);
    ~PathTokens();
    PathTokens(const PathTokens&) = delete;
    PathTokens& operator=(const PathTokens&) = delete;

    std::string dialog(std::string_view call_id, std::string_view from_tag) const;
    // Requests from the callee carry the caller's tag in To: either tag may be the one
    // the Record-Route was signed with.
    bool dialog_matches(std::string_view token, std::string_view call_id, std::string_view from_tag,
                        std::string_view to_tag) const;

    std::string via(const ViaHop& hop) const;
    bool via_matches(std::string_view token, const ViaHop& hop) const;

    // The WebSocket flows of a dialog (flow_text of each WebSocket side, joined by '_')
    // and their signature, in our Record-Route.
    static constexpr std::string_view ws_flows_param = "wsflow";
    static constexpr std::string_view ws_flows_sig_param = "wsflowsig";
    std::string ws_flows(std::string_view call_id, std::string_view flows,
                         std::string_view from_tag) const;
    bool ws_flows_match(std::string_view token, std::string_view call_id, std::string_view flows,
                        std::string_view from_tag, std::string_view to_tag) const;

    // The connection a phone registered over, as the value of the flow param:
    // "<flow_text>~<connection id>~<run>~<token>" ("tcp~127.0.0.1~40312~17~9f3c...~<token>"),
    // the run in 16 hex digits.
    static constexpr std::string_view flow_param = "sipproxy-flow";
    std::string flow_value(const transport::Peer& connection) const;
    struct FlowCheck {
        enum class Result {
            Valid,    // ours, this run: `connection` is the phone's
            Stale,    // ours, but from an earlier run of this node: that connection is gone
            Invalid,  // not a flow value, or a token this node did not make
        };
        Result result = Result::Invalid;
        transport::Peer connection;  // set when Valid or Stale
    };
    FlowCheck flow_of(std::string_view value) const;

    // This run of the node: random, chosen when the tokens are made (at start).
    std::uint64_t run() const { return run_; }
    PathTokens(const auth::NodeSecret& secret, std::uint64_t run);

  private:
    struct Key;
    std::string flow_token(std::string_view flow, std::uint64_t connection,
                           std::uint64_t run) const;
    std::string sign(std::string_view label, std::initializer_list<std::string_view> fields) const;
    bool matches(std::string_view token, const std::string& expected) const;
    std::unique_ptr<Key> key_;
    std::uint64_t run_ = 0;
};

}  // namespace sipproxy::proxy
