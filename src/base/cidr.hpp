#pragma once
// IP networks in CIDR notation ("10.0.0.0/8", "2001:db8::/32", a bare address = one host),
// used by access lists (auth.trusted, route sources). Plain text and raw bytes in, no
// sockets library: callers convert their own address types to bytes.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.hpp"

namespace sipproxy {

enum class IpFamily : std::uint8_t { v4, v6 };

// An address as raw bytes in network order: IPv4 uses bytes[0..3], IPv6 all 16.
using IpBytes = std::array<std::uint8_t, 16>;

struct Cidr {
    IpFamily family = IpFamily::v4;
    IpBytes network{};    // host bits are zero
    unsigned prefix = 0;  // 0..32 (v4) or 0..128 (v6)

    // Accepts "a.b.c.d/n", "v6addr/n" and bare addresses (prefix /32 or /128). Host bits
    // must be zero ("10.0.0.1/8" is an error naming 10.0.0.0/8). IPv4-mapped IPv6 networks
    // ("::ffff:10.0.0.0/104") are stored as their IPv4 equivalent. The error is a sentence
    // for the operator, e.g. "bad CIDR '10.0.0.0/33': prefix length must be 0..32".
    static Expected<Cidr, std::string> parse(std::string_view text);

    // An address as text ("192.0.2.1", "::1", "::ffff:192.0.2.1"); false if unparsable.
    // IPv4-mapped IPv6 addresses match IPv4 networks.
    bool contains(std::string_view ip) const;
    bool contains(const IpBytes& address, IpFamily address_family) const;

    // Canonical text, e.g. "10.0.0.0/8", "2001:db8::/32" (always with the prefix).
    std::string to_string() const;

    friend bool operator==(const Cidr&, const Cidr&) = default;
};

inline bool contains(const Cidr& net, std::string_view ip) {
    return net.contains(ip);
}
inline bool contains(const Cidr& net, const IpBytes& address, IpFamily family) {
    return net.contains(address, family);
}
// True when any of the networks contains the address (false for an empty list).
bool contains_any(const std::vector<Cidr>& nets, std::string_view ip);
bool contains_any(const std::vector<Cidr>& nets, const IpBytes& address, IpFamily family);

// Parses a literal IPv4 or IPv6 address (no brackets, no zone id) into bytes.
bool parse_ip(std::string_view text, IpBytes& out, IpFamily& family);

}  // namespace sipproxy
