#pragma once
// What the ingress admits, from [security] (and auth.trusted): immutable, replaced as a
// whole on reload. Defaults and their reasons: man/sipproxy.toml.5, conf/sipproxy.toml.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ingress/cidr_map.hpp"

namespace sipproxy::ingress {

struct Policy {
    // security.allow and auth.trusted: exempt from every limit, deny and ban included (a
    // busy PBX or carrier must never be locked out by a rate).
    CidrMap<bool> allow;
    // security.deny and the networks of security.deny_file: dropped silently.
    CidrMap<bool> deny;
    // More than flood_requests requests from one source (an IPv4 address, an IPv6 /64)
    // within any flood_window bans it for ban_time. 0: no flood limit.
    std::chrono::milliseconds flood_window{2000};
    std::uint32_t flood_requests = 1000;
    std::chrono::seconds ban_time{300};
    // Lower-case substrings of User-Agent: a request carrying one is dropped silently and
    // its source banned. Empty: no scanner check.
    std::vector<std::string> scanner_user_agents;
    // Open TCP connections from one source (0: no limit).
    std::size_t max_connections_per_source = 256;
};

}  // namespace sipproxy::ingress
