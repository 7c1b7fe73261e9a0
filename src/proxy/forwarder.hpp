#pragma once
// Forwarding a request to one target (RFC 3261 16.6): the copy with its new
// Request-URI, Route set, Max-Forwards, Record-Route and Via, and the next hop it goes to
// (RFC 3263 for the transport; 18.1.1 moves a large request from UDP to TCP).
#include <asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/expected.hpp"
#include "proxy/path_tokens.hpp"
#include "proxy/target.hpp"
#include "sip/message.hpp"
#include "transport/peer.hpp"
#include "transport/transport.hpp"
#include "transport/via_stamp.hpp"

namespace sipproxy::proxy {

// What route preprocessing (16.4) decided for the request.
struct RouteEdit {
    std::size_t own_routes = 0;      // leading Route values that name this proxy: removed
    bool strict_fix = false;         // previous hop was a strict router (16.4): the last
                                     // Route value becomes the Request-URI and is removed
    // The Proxy-Authorization line this proxy verified (index into headers()): consumed,
    // not forwarded (its realm is ours; credentials for other realms go on).
    std::optional<std::size_t> consumed_credentials;
};

struct Forwarded {
    std::string bytes;
    transport::Peer destination;
    std::string branch;
    // The other RFC 3263 candidates of the next hop, best first: where a new copy goes
    // when `destination` fails (RFC 3263 4.3). Empty when the next hop was an address.
    std::vector<transport::Peer> alternatives;
};

struct ForwardFailure {
    int status;
    std::string reason;
};

struct ForwardInput {
    const sip::Message* request;
    RouteEdit route_edit;
    const Target* target;
    const transport::Local* inbound;  // where the request came in
    const transport::Peer* source;
    bool record_route = false;
    std::string branch;
    // The next hop when it is known already (an alternative of an earlier Forwarded for the
    // same target): no resolution then.
    const transport::Peer* next_hop = nullptr;
    // Signs the Record-Route (dialog token) and the branch (via token); none: unsigned.
    const PathTokens* tokens = nullptr;
};

// RFC 3261 18.1.1: a request larger than 1300 bytes goes over a congestion-controlled
// transport. Decided on the request as received: forwarding adds a Via and up to two
// Record-Routes (about 300 bytes at most), so a request received larger than 1000 bytes
// counts as large.
constexpr std::size_t kLargeRequestAsReceived = 1000;
inline bool is_large(const sip::Message& request) {
    return request.bytes().size() > kLargeRequestAsReceived;
}

// Resolves a URI to its next hops, best first: numeric hosts directly, names by DNS
// without blocking the event loop (RFC 3263 NAPTR/SRV/A/AAAA through
// transport.resolver(), else A/AAAA only); only candidates that are allowed and have a
// listener. The transport from the transport param or DNS, else UDP (TCP when `large`
// and a TCP listener exists, RFC 3261 18.1.1, with the UDP candidate right after it as
// the fallback when TCP is refused). When none is usable: why the first is not.
asio::awaitable<Expected<std::vector<transport::Peer>, ForwardFailure>> resolve_next_hops(
    const sip::Uri& uri, bool large, const transport::Transport& transport);

// The first of resolve_next_hops().
asio::awaitable<Expected<transport::Peer, ForwardFailure>> resolve_next_hop(
    const sip::Uri& uri, bool large, const transport::Transport& transport);

asio::awaitable<Expected<Forwarded, ForwardFailure>> forward_request(
    const ForwardInput& in, transport::Transport& transport);

}  // namespace sipproxy::proxy
