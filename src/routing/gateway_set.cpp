#include "routing/gateway_set.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "routing/gateway_health.hpp"

namespace sipproxy::routing {
namespace {

// splitmix64: a stateless mix, so a draw depends only on (seed, call number, position)
// and concurrent calls need no lock.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// Uniform in (0, 1].
double unit(std::uint64_t x) {
    return static_cast<double>((x >> 11) + 1) * 0x1.0p-53;
}

}  // namespace

GatewaySet::GatewaySet(Strategy strategy, std::vector<const Gateway*> gateways, std::uint64_t seed)
    : strategy_(strategy), gateways_(std::move(gateways)), seed_(seed) {}

GatewaySet::GatewaySet(GatewaySet&& other) noexcept
    : strategy_(other.strategy_),
      gateways_(std::move(other.gateways_)),
      seed_(other.seed_),
      calls_(other.calls_.load(std::memory_order_relaxed)) {}

std::vector<const Gateway*> GatewaySet::select(const GatewayHealthTable& health) const {
    return select([&](const Gateway& g) { return health.usable(g.name); });
}

std::vector<const Gateway*> GatewaySet::select(
    const std::function<bool(const Gateway&)>& usable) const {
    std::vector<const Gateway*> out;
    out.reserve(gateways_.size());
    for (const Gateway* g : gateways_)
        if (usable(*g)) out.push_back(g);
    if (!out.empty()) order(out);
    return out;
}

void GatewaySet::order(std::vector<const Gateway*>& usable) const {
    switch (strategy_) {
        case Strategy::failover:
            return;
        case Strategy::round_robin: {
            auto n = calls_.fetch_add(1, std::memory_order_relaxed);
            std::rotate(usable.begin(), usable.begin() + static_cast<long>(n % usable.size()),
                        usable.end());
            return;
        }
        case Strategy::weighted: {
            // Weighted random order without replacement (Efraimidis-Spirakis): key_i =
            // -ln(u_i) / w_i, ascending. P(first = i) = w_i / sum(w), and so on for the
            // rest. Weight 0 sorts last, in configured order (stable sort).
            auto call = mix(seed_ ^ mix(calls_.fetch_add(1, std::memory_order_relaxed)));
            std::vector<std::pair<double, const Gateway*>> keyed;
            keyed.reserve(usable.size());
            for (std::size_t i = 0; i < usable.size(); ++i) {
                const Gateway* g = usable[i];
                double key = g->weight == 0
                                 ? std::numeric_limits<double>::infinity()
                                 : -std::log(unit(mix(call + i))) / static_cast<double>(g->weight);
                keyed.emplace_back(key, g);
            }
            std::stable_sort(keyed.begin(), keyed.end(),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
            for (std::size_t i = 0; i < keyed.size(); ++i) usable[i] = keyed[i].second;
            return;
        }
    }
}

}  // namespace sipproxy::routing
