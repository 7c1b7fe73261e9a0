#include "routing/route_spec.hpp"

namespace sipproxy::routing {

std::optional<Strategy> parse_strategy(std::string_view text) {
    if (text == "failover") return Strategy::failover;
    if (text == "round-robin" || text == "round_robin") return Strategy::round_robin;
    if (text == "weighted") return Strategy::weighted;
    return std::nullopt;
}

std::string_view to_string(Strategy strategy) {
    switch (strategy) {
        case Strategy::failover:
            return "failover";
        case Strategy::round_robin:
            return "round-robin";
        case Strategy::weighted:
            return "weighted";
    }
    return "failover";
}

}  // namespace sipproxy::routing
