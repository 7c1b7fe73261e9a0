#pragma once
// The gateways of one route and the order to try them in for a call (per strategy),
// leaving out those that are down or disabled. Thread-safe: select() is const and uses
// one atomic call counter (round-robin rotation, weighted draws).
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "routing/route_spec.hpp"

namespace sipproxy::routing {

class GatewayHealthTable;

// A gateway as the dial plan knows it (validated GatewaySpec without probe settings).
struct Gateway {
    std::string name;
    std::string uri;
    unsigned weight = 1;
};

class GatewaySet {
  public:
    // `gateways` must outlive the set (DialPlan owns both). `seed` drives the weighted
    // order: the same seed and sequence of calls give the same orders (tests).
    GatewaySet(Strategy strategy, std::vector<const Gateway*> gateways, std::uint64_t seed);
    GatewaySet(GatewaySet&& other) noexcept;
    GatewaySet& operator=(GatewaySet&&) = delete;

    Strategy strategy() const noexcept { return strategy_; }
    const std::vector<const Gateway*>& gateways() const noexcept { return gateways_; }

    // The gateways to try for one call, in order; empty when all are down or disabled
    // (the proxy then answers 503). Round-robin rotates over the usable gateways only, so
    // a down gateway's share spreads evenly over the others.
    std::vector<const Gateway*> select(const GatewayHealthTable& health) const;
    std::vector<const Gateway*> select(const std::function<bool(const Gateway&)>& usable) const;

  private:
    void order(std::vector<const Gateway*>& usable) const;

    Strategy strategy_;
    std::vector<const Gateway*> gateways_;
    std::uint64_t seed_;
    mutable std::atomic<std::uint64_t> calls_{0};
};

}  // namespace sipproxy::routing
