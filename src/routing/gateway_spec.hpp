#pragma once
// A gateway as configured ([[gateways]] in sipproxy.toml), converted by the config layer.
#include <chrono>
#include <string>

namespace sipproxy::routing {

struct ProbeSpec {
    bool enabled = false;  // OPTIONS health checks; without them a gateway is always up
    std::chrono::seconds interval{30};
    unsigned failures_before_down = 3;  // consecutive; 0 counts as 1
    unsigned successes_before_up = 2;   // consecutive; 0 counts as 1
};

struct GatewaySpec {
    std::string name;
    std::string uri;      // sip:host[:port][;transport=tcp], passed through as written
    unsigned weight = 1;  // strategy = weighted; 0 = only after all weighted ones
    ProbeSpec probe;
};

}  // namespace sipproxy::routing
