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
//                 that connection (id, transport, address, port), so another node's
//                 request routed through this one goes out over it, and a Route to us
//                 with a forged token is refused, never relayed (docs/cluster.md).
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

// A WebSocket flow as written in our Record-Route (;wsflow=): "wss~127.0.0.1~55326",
// two joined by '_' when both sides are WebSocket; ;wsflowsig= signs them with the
// dialog (RFC 7118: the proxy reaches a ".invalid" contact only over its connection).
inline constexpr std::string_view flow_param = "wsflow";
inline constexpr std::string_view flow_sig_param = "wsflowsig";
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

    // The connection a phone registered over: "<transport>~<address>~<port>~<id>" with the
    // token, as the value of the flow param ("tcp~127.0.0.1~40312~17~<token>"). IPv6
    // addresses without brackets ('~', unreserved in a URI, keeps the fields apart).
    static constexpr std::string_view flow_param = "sipproxy-flow";
    struct Flow {
        std::string transport;  // lower case, e.g. "tcp"
        std::string address;
        std::uint16_t port = 0;
        std::uint64_t connection = 0;
    };
    std::string flow_value(const Flow& f) const;
    // The flow a value names, if its token is ours and intact; nullopt otherwise.
    std::optional<Flow> flow_of(std::string_view value) const;

  private:
    struct Key;
    std::string flow_token(const Flow& f) const;
    std::string sign(std::string_view label, std::initializer_list<std::string_view> fields) const;
    bool matches(std::string_view token, const std::string& expected) const;
    std::unique_ptr<Key> key_;
};

}  // namespace sipproxy::proxy
