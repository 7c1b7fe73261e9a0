#pragma once
// Locating a SIP server (RFC 3263 4.1 transport, 4.2 port and address): from a URI's
// host, port and transport param to an ordered list of next hops to try.
#include <asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "transport/dns_resolver.hpp"
#include "transport/peer.hpp"

namespace sipproxy::transport {

// What RFC 3263 looks at in a SIP URI (maddr, when present, replaces the host).
struct SipServerTarget {
    std::string host;                    // a name or a numeric address (IPv6 may be bracketed)
    std::uint16_t port = 0;              // 0: none in the URI
    std::optional<Protocol> transport;   // the transport param, when present
    bool secure = false;                 // sips: TLS on every hop (RFC 3261 26.2)
};

// The transports the caller can send on (those with a listener).
struct SupportedTransports {
    bool udp = true;
    bool tcp = true;
    bool tls = true;
};

// The candidate next hops, best first (the caller tries the first and fails over to the
// next). Empty when the name does not resolve. Numeric hosts need no DNS.
asio::awaitable<std::vector<Peer>> locate_sip_server(SipServerTarget target,
                                                     SupportedTransports supported,
                                                     DnsLookups& dns);

}  // namespace sipproxy::transport
