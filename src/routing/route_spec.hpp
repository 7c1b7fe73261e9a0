#pragma once
// A route as configured ([[routes]] in sipproxy.toml), converted by the config layer.
// DialPlan::build validates and compiles these; they are plain data.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sipproxy::routing {

// How the gateways of one route are ordered for a call.
enum class Strategy : std::uint8_t {
    failover,     // configured order
    round_robin,  // configured order, rotated by one per call
    weighted,     // random order, each position drawn by weight among those left
};

// Accepts "failover", "round-robin" (also "round_robin") and "weighted".
std::optional<Strategy> parse_strategy(std::string_view text);
// "failover", "round-robin", "weighted" (the spelling of the config file).
std::string_view to_string(Strategy strategy);

struct RouteSpec {
    std::string name;
    // ECMAScript regex searched in the Request-URI user part ("^9" anchors it); "" = none.
    std::string regex;
    // Literal prefix of the Request-URI user part; "" = none. When both regex and prefix
    // are set, both must match. Neither = every user matches (a catch-all route).
    std::string prefix;
    unsigned strip = 0;                 // characters removed from the front of the user part...
    std::string prepend;                // ...then this is prepended
    std::vector<std::string> gateways;  // names, tried per `strategy`
    Strategy strategy = Strategy::failover;
    std::chrono::milliseconds timeout{0};  // no-answer timeout per gateway; 0 = timer C
    // Conditions; an empty list means "any".
    std::vector<std::string> sources;  // CIDRs the request must come from
    std::vector<std::string> users;    // authenticated users (From) allowed
    std::vector<std::string> domains;  // Request-URI domains (case-insensitive)
};

}  // namespace sipproxy::routing
