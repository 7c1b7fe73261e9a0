#pragma once
// An IP address as one 128-bit value in the IPv6 space (IPv4 as ::ffff:a.b.c.d, RFC 4291
// 2.5.5.2), so IPv4 and IPv6 share one hash table and one prefix arithmetic. Used where a
// lookup runs for every datagram (access lists, bans, per-source rates): two integers to
// hash and compare, no text.
#include <cstddef>
#include <cstdint>
#include <functional>

#include "base/cidr.hpp"

namespace sipproxy {

struct AddressKey {
    std::uint64_t hi = 0;  // the first 64 bits (network order, most significant first)
    std::uint64_t lo = 0;

    friend bool operator==(const AddressKey&, const AddressKey&) = default;

    bool is_v4() const { return hi == 0 && (lo >> 32) == 0xffffu; }

    // The first `prefix` bits (0..128) kept, the rest zero.
    AddressKey masked(unsigned prefix) const {
        if (prefix >= 128) return *this;
        if (prefix == 0) return {};
        if (prefix <= 64) return {hi & (~0ull << (64 - prefix)), 0};
        return {hi, lo & (~0ull << (128 - prefix))};
    }

    static AddressKey from_bytes(const IpBytes& b, IpFamily family) {
        AddressKey k;
        if (family == IpFamily::v4) {
            k.lo = 0xffff00000000ull | (std::uint64_t(b[0]) << 24) | (std::uint64_t(b[1]) << 16) |
                   (std::uint64_t(b[2]) << 8) | b[3];
            return k;
        }
        for (int i = 0; i < 8; ++i) k.hi = (k.hi << 8) | b[i];
        for (int i = 8; i < 16; ++i) k.lo = (k.lo << 8) | b[i];
        return k;
    }
    static AddressKey from_v4(std::uint32_t host_order) {
        return {0, 0xffff00000000ull | host_order};
    }

    IpBytes bytes(IpFamily& family) const {
        IpBytes b{};
        if (is_v4()) {
            family = IpFamily::v4;
            for (int i = 0; i < 4; ++i) b[i] = static_cast<std::uint8_t>(lo >> (24 - 8 * i));
            return b;
        }
        family = IpFamily::v6;
        for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
        for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
        return b;
    }
};

struct AddressKeyHash {
    std::size_t operator()(const AddressKey& k) const {
        // Two rounds of a 64-bit mixer (splitmix64 finaliser): spoofed sources are
        // sequential, and the tables behind this are open-addressed.
        std::uint64_t x = k.hi * 0x9e3779b97f4a7c15ull ^ k.lo;
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebull;
        x ^= x >> 31;
        return static_cast<std::size_t>(x);
    }
};

// The network a Cidr names, in the same space: its key and its prefix over 128 bits.
inline AddressKey network_key(const Cidr& c) { return AddressKey::from_bytes(c.network, c.family); }
inline unsigned prefix_128(const Cidr& c) {
    return c.family == IpFamily::v4 ? c.prefix + 96 : c.prefix;
}

// What counts as one source for limits and bans: an IPv4 address, or an IPv6 /64 (one
// customer site or host usually has a whole /64, RFC 6177; counting per /128 would let one
// host use 2^64 addresses).
inline unsigned source_prefix_128(const AddressKey& k) { return k.is_v4() ? 128 : 64; }
inline AddressKey source_of(const AddressKey& k) { return k.masked(source_prefix_128(k)); }
// The same as a Cidr ("192.0.2.1/32", "2001:db8:1:2::/64").
inline Cidr source_cidr(const AddressKey& k) {
    Cidr c;
    c.network = source_of(k).bytes(c.family);
    c.prefix = c.family == IpFamily::v4 ? 32 : 64;
    return c;
}

}  // namespace sipproxy
