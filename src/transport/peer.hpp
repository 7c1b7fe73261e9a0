#pragma once
// Where a message came from or goes to: protocol, address, port, and for connection
// transports the connection it travels on.
#include <asio/ip/address.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/address_key.hpp"
#include "transport/protocol.hpp"

namespace sipproxy::transport {

struct Peer {
    Protocol protocol = Protocol::Udp;
    asio::ip::address address;
    std::uint16_t port = 0;
    std::uint64_t connection = 0;  // connection id; 0 = any connection to address:port
    // The host name the next hop was found by (a URI's host): a new TLS connection
    // verifies the server's certificate against it (RFC 5922), or against the address
    // when empty. Not part of the peer's identity.
    std::string server_name;

    // Whether messages to it travel on a stream (no retransmissions, RFC 3261 17.1.1.2).
    bool reliable() const { return transport::reliable(protocol); }

    std::string to_string() const;  // "udp:127.0.0.1:5060", "tls:[::1]:5061"
};

// A local listening address as the proxy advertises it in Via and Record-Route.
struct Local {
    Protocol protocol = Protocol::Udp;
    asio::ip::address address;
    std::uint16_t port = 0;
    std::string host;  // address as written in a URI: IPv6 in brackets

    bool reliable() const { return transport::reliable(protocol); }

    // A listener on `address`:`port`, its host written as a URI needs it.
    static Local at(Protocol protocol, const asio::ip::address& address, std::uint16_t port);

    std::string hostport() const;  // "127.0.0.1:5060", "[::1]:5060"
};

// The address as one 128-bit key (IPv4 as ::ffff:a.b.c.d; an IPv4-mapped IPv6 address
// gives the same key as the IPv4 one).
inline AddressKey address_key(const asio::ip::address& a) {
    if (a.is_v4()) return AddressKey::from_v4(a.to_v4().to_uint());
    const auto b = a.to_v6().to_bytes();
    IpBytes bytes;
    for (std::size_t i = 0; i < 16; ++i) bytes[i] = b[i];
    return AddressKey::from_bytes(bytes, IpFamily::v6);
}

// The address as text ("192.0.2.1", "2001:db8::1"), as asio's to_string() but cheaper.
std::string address_text(const asio::ip::address& a);
// The address text for a URI/Via: brackets around IPv6.
std::string uri_host(const asio::ip::address& a);
// The other way: a URI or Via host without the brackets of an IPv6 reference.
std::string_view strip_brackets(std::string_view host);

}  // namespace sipproxy::transport
