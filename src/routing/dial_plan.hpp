#pragma once
// The dial plan: which route a call takes and how its Request-URI user is rewritten.
// Immutable after build() (a config reload builds a new plan and swaps a
// shared_ptr<const DialPlan>); match() is const and thread-safe.
//
// First match wins in configuration order, across regex and prefix routes alike. Prefix
// routes sit in a trie, so matching costs one step per character of the user part plus
// the regex routes configured before the best prefix candidate, whatever the number of
// prefix routes.
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "base/cidr.hpp"
#include "base/expected.hpp"
#include "routing/gateway_set.hpp"
#include "routing/gateway_spec.hpp"
#include "routing/prefix_trie.hpp"
#include "routing/route_spec.hpp"

namespace sipproxy::routing {

// What a route is matched against; the proxy fills it from the request.
struct RouteQuery {
    std::string_view ruri_user;    // Request-URI user part
    std::string_view ruri_domain;  // Request-URI host
    std::string_view from_user;    // the authenticated user, "" if none
    std::string_view source_ip;    // the request's source address as text
};

struct Route {
    std::uint32_t index = 0;  // position in configuration order
    RouteSpec spec;           // as configured (for `show routes`)
    GatewaySet gateways;

    // Compiled conditions.
    std::optional<std::regex> regex;
    std::vector<Cidr> sources;
    std::vector<std::string> domains;  // lower case

    // Strip, then prepend. Stripping more than the user's length leaves "".
    std::string translate(std::string_view user) const;
};

struct RouteMatch {
    const Route* route = nullptr;  // valid while the DialPlan lives
    std::string user;              // the translated Request-URI user
};

struct DialPlanOptions {
    // Seeds the weighted strategy; 0 = random. Tests pass a fixed seed.
    std::uint64_t seed = 0;
};

class DialPlan {
  public:
    // Validates and compiles. Errors are one sentence naming the route or gateway, e.g.
    // "route 'pstn': unknown gateway 'carrier-x'".
    static Expected<DialPlan, std::string> build(const std::vector<RouteSpec>& routes,
                                                 const std::vector<GatewaySpec>& gateways,
                                                 DialPlanOptions options = {});

    DialPlan(DialPlan&&) noexcept = default;
    DialPlan& operator=(DialPlan&&) noexcept = default;
    DialPlan(const DialPlan&) = delete;
    DialPlan& operator=(const DialPlan&) = delete;

    // The first route, in configuration order, whose match and conditions accept the query.
    std::optional<RouteMatch> match(const RouteQuery& query) const;

    const std::vector<Route>& routes() const noexcept { return routes_; }  // match order
    const Gateway* find_gateway(std::string_view name) const;
    std::size_t gateway_count() const noexcept { return gateways_.size(); }

    // Regex routes are not tried on user parts longer than this: std::regex recurses per
    // character and the user part comes from the peer.
    static constexpr std::size_t kMaxRegexSubject = 256;

  private:
    DialPlan() = default;

    std::vector<std::unique_ptr<const Gateway>> gateways_;  // stable addresses for sets
    std::vector<Route> routes_;
    PrefixTrie trie_;                          // routes with a prefix or no match at all
    std::vector<std::uint32_t> regex_routes_;  // regex-only routes, ascending
};

}  // namespace sipproxy::routing
