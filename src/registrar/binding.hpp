#pragma once
// One registered contact of an address-of-record (RFC 3261 10): where to reach a user agent,
// until when, and how (source address for NATed devices, RFC 3581; Path, RFC 3327; outbound
// flow, RFC 5626).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sipproxy::registrar {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

struct Binding {
    std::string aor;      // canonical "user@domain" (see canonical_aor)
    std::string contact;  // the Contact URI as sent, without <> and header params
    TimePoint expires_at{};
    std::uint16_t q_permille = 1000;  // q-value x 1000: q=0.5 -> 500 (see parse_qvalue)
    std::string call_id;
    std::uint32_t cseq = 0;
    // Where the REGISTER came from: requests for a NATed device go there (RFC 3581).
    std::string transport;       // "udp", "tcp", "tls", "ws", "wss"
    std::string source_address;  // literal IP, IPv6 without brackets
    std::uint16_t source_port = 0;
    std::uint64_t flow_id = 0;  // connection that carried the REGISTER; runtime only, 0 = none
    std::string user_agent;
    std::vector<std::string> path;  // Path URIs in header order (RFC 3327)
    std::string instance;           // +sip.instance without the quotes, e.g. "<urn:uuid:...>"
    std::uint32_t reg_id = 0;       // RFC 5626 reg-id, 0 = none
    TimePoint registered_at{};      // when this binding was last added or refreshed
    // The cluster node that holds this binding's connection (RFC 5626 flow) and took its
    // REGISTER; "" = this node (a single node, or not shared).
    std::string node;

    bool live(TimePoint now) const { return expires_at > now; }
    // Seconds until expiry rounded up (the value of the expires param in a 200 OK); 0 if expired.
    std::uint32_t expires_in(TimePoint now) const;
    bool outbound() const { return !instance.empty() && reg_id != 0; }
};

// "user@Example.COM" -> "user@example.com": the user part is case-sensitive, the host is not
// (RFC 3261 19.1.4). The AOR is the key of the location store.
std::string canonical_aor(std::string_view aor);

// RFC 3261 qvalue ("0", "0.5", "1.000") -> per mille; nullopt if malformed or > 1.
std::optional<std::uint16_t> parse_qvalue(std::string_view text);
// 500 -> "0.5", 1000 -> "1", 0 -> "0", 125 -> "0.125".
std::string format_qvalue(std::uint16_t q_permille);

// Order in which a proxy should try bindings: highest q first, then the most recently
// registered (RFC 3261 16.6 leaves equal q to the proxy).
void sort_by_preference(std::vector<Binding>& bindings);

}  // namespace sipproxy::registrar
