#pragma once
// A place to send a request (RFC 3261 16.5): the Request-URI it gets, Route values to
// put in front (a registered device's Path, RFC 3327), and where to send it when that is
// known already (a registered device behind NAT is reached where its REGISTER came from,
// RFC 3581 / RFC 5626).
#include <optional>
#include <string>
#include <vector>

#include "transport/peer.hpp"

namespace sipproxy::proxy {

struct Target {
    std::string request_uri;          // "" keeps the Request-URI
    std::vector<std::string> routes;  // Route values, first is the next hop
    std::optional<transport::Peer> destination;
    std::string label;                // for logs: "binding sip:...", "gateway carrier-a"
    std::string gateway;              // the [[gateways]] name, for health accounting
};

// How a response context moves through its groups of targets.
enum class FailoverPolicy {
    AnyFailure,      // registered devices: the next group after any non-2xx but 6xx
    ServerFailures,  // gateways: only after 408, 500, 502, 503, 504 or no answer
};

}  // namespace sipproxy::proxy
