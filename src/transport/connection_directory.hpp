#pragma once
// Which connection, on which worker, reaches a remote protocol, address and port (a TLS
// connection to 192.0.2.1:5061 is not a TCP one to the same address): shared by
// every worker's Transport, so a message for a peer goes over the connection that peer
// already has with the proxy, whichever worker owns it (a phone's REGISTER flow, RFC 5626
// 4.1; RFC 3261 18.1.1 reuse). A connection the peer opened and that has closed leaves a
// tombstone for a while: its remote port was the peer's ephemeral one, so the proxy must
// not connect() to it (the flow failed, RFC 5626 5.3), only report that it is gone.
// Thread-safe; consulted only when the sending worker does not own the connection.
#include <asio/ip/address.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/address_key.hpp"
#include "transport/protocol.hpp"

namespace sipproxy::transport {

class ConnectionDirectory {
public:
    using Clock = std::chrono::steady_clock;
    struct Options {
        std::chrono::seconds tombstone_ttl{3600};
        std::size_t max_tombstones = 100000;
    };

    ConnectionDirectory() : ConnectionDirectory(Options{}) {}
    explicit ConnectionDirectory(Options o) : options_(o) {}

    // `reserved`: an inbound connection already counted by reserve_inbound().
    void add(Protocol p, const asio::ip::address& a, std::uint16_t port, std::uint64_t id,
             bool inbound, bool reserved = false);
    void remove(Protocol p, const asio::ip::address& a, std::uint16_t port, std::uint64_t id,
                Clock::time_point now = Clock::now());

    struct Lookup {
        std::uint64_t connection = 0;  // a live connection to the peer, 0 = none
        bool flow_gone = false;        // none, and the last one was opened by the peer
    };
    Lookup find(Protocol p, const asio::ip::address& a, std::uint16_t port,
                Clock::time_point now = Clock::now()) const;

    // Live connections across all workers and protocols (the tcp.max_connections cap is
    // on this).
    std::size_t size() const;
    // Live connections of one protocol (the metrics, by transport).
    std::size_t size(Protocol p) const;
    // Live inbound connections from the source of `a` (its IPv4 address or IPv6 /64),
    // across all workers and protocols (security.max_connections_per_source is on this:
    // the abuse limits apply to every transport).
    std::size_t inbound_from(const asio::ip::address& a) const;
    // An accepted connection counted at once, before it is judged, so that two workers
    // accepting from one source at the same moment cannot both pass the cap: returns the
    // count before this one. release_inbound() takes it back if the connection is refused;
    // add(..., reserved = true) keeps it.
    std::size_t reserve_inbound(const asio::ip::address& a);
    void release_inbound(const asio::ip::address& a);

private:
    struct Endpoint {
        std::array<std::uint8_t, 16> address{};
        std::uint16_t port = 0;
        Protocol protocol = Protocol::Tcp;
        bool v6 = false;
        bool operator==(const Endpoint&) const = default;
    };
    struct EndpointHash {
        std::size_t operator()(const Endpoint& e) const;
    };
    struct Entry {
        std::vector<std::pair<std::uint64_t, bool>> live;  // id, inbound
        Clock::time_point gone_until{};                    // tombstone while live is empty
    };
    static Endpoint endpoint(Protocol p, const asio::ip::address& a, std::uint16_t port);
    void trim(Clock::time_point now);  // drops expired or excess tombstones (locked)

    Options options_;
    mutable std::mutex mutex_;
    std::unordered_map<Endpoint, Entry, EndpointHash> entries_;
    std::deque<std::pair<Clock::time_point, Endpoint>> tombstones_;  // in expiry order
    std::size_t live_ = 0;
    std::array<std::size_t, kProtocolCount> live_by_protocol_{};
    std::unordered_map<AddressKey, std::size_t, AddressKeyHash> inbound_per_source_;
};

}  // namespace sipproxy::transport
