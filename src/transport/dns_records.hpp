#pragma once
// The DNS records RFC 3263 reads: SRV (RFC 2782) and NAPTR (RFC 3403).
#include <cstdint>
#include <string>

namespace sipproxy::transport {

struct SrvTarget {
    std::string host;
    std::uint16_t port = 0;
    std::uint16_t priority = 0;
    std::uint16_t weight = 0;
};

struct NaptrRecord {
    std::uint16_t order = 0;
    std::uint16_t preference = 0;
    std::string flags;
    std::string service;
    std::string replacement;
};

}  // namespace sipproxy::transport
