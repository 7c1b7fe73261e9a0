#include "routing/dial_plan.hpp"

#include <algorithm>
#include <limits>
#include <random>
#include <unordered_map>
#include <unordered_set>

namespace sipproxy::routing {
namespace {

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = lower(c);
    return out;
}

// `lower_case` is already lower case.
bool iequal(std::string_view text, std::string_view lower_case) {
    if (text.size() != lower_case.size()) return false;
    for (std::size_t i = 0; i < text.size(); ++i)
        if (lower(text[i]) != lower_case[i]) return false;
    return true;
}

// The query's source address, parsed at most once and only if a candidate asks.
class SourceAddress {
  public:
    explicit SourceAddress(std::string_view text) : text_(text) {}
    bool in(const std::vector<Cidr>& nets) {
        if (!parsed_) {
            parsed_ = true;
            valid_ = parse_ip(text_, bytes_, family_);
        }
        return valid_ && contains_any(nets, bytes_, family_);
    }

  private:
    std::string_view text_;
    bool parsed_ = false;
    bool valid_ = false;
    IpBytes bytes_{};
    IpFamily family_ = IpFamily::v4;
};

// Everything but the prefix, which the trie has already matched.
bool accepts(const Route& r, const RouteQuery& q, SourceAddress& source) {
    if (!r.domains.empty() && std::none_of(r.domains.begin(), r.domains.end(),
                                           [&](const auto& d) { return iequal(q.ruri_domain, d); }))
        return false;
    if (!r.spec.users.empty() &&
        (q.from_user.empty() ||
         std::find(r.spec.users.begin(), r.spec.users.end(), q.from_user) == r.spec.users.end()))
        return false;
    if (!r.sources.empty() && !source.in(r.sources)) return false;
    if (r.regex) {
        if (q.ruri_user.size() > DialPlan::kMaxRegexSubject) return false;
        try {
            return std::regex_search(q.ruri_user.begin(), q.ruri_user.end(), *r.regex);
        } catch (const std::regex_error&) {  // error_complexity / error_stack: no match
            return false;
        }
    }
    return true;
}

}  // namespace

std::string Route::translate(std::string_view user) const {
    std::string out;
    std::size_t cut = std::min<std::size_t>(spec.strip, user.size());
    out.reserve(spec.prepend.size() + user.size() - cut);
    out += spec.prepend;
    out += user.substr(cut);
    return out;
}

Expected<DialPlan, std::string> DialPlan::build(const std::vector<RouteSpec>& routes,
                                                const std::vector<GatewaySpec>& gateways,
                                                DialPlanOptions options) {
    if (routes.size() >= std::numeric_limits<std::uint32_t>::max())
        return Unexpected{std::string("too many routes")};
    std::uint64_t seed = options.seed;
    if (seed == 0) seed = (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}();

    DialPlan plan;
    std::unordered_map<std::string_view, const Gateway*> gateway_by_name;
    plan.gateways_.reserve(gateways.size());
    for (const auto& g : gateways) {
        if (g.name.empty()) return Unexpected{std::string("a gateway has no name")};
        if (g.uri.empty()) return Unexpected{"gateway '" + g.name + "': no uri"};
        auto gw = std::make_unique<const Gateway>(Gateway{g.name, g.uri, g.weight});
        if (!gateway_by_name.emplace(gw->name, gw.get()).second)
            return Unexpected{"gateway '" + g.name + "' is defined twice"};
        plan.gateways_.push_back(std::move(gw));
    }

    std::unordered_set<std::string_view> route_names;
    route_names.reserve(routes.size());
    plan.routes_.reserve(routes.size());
    std::vector<PrefixTrie::Entry> prefixed;
    prefixed.reserve(routes.size());
    for (std::size_t i = 0; i < routes.size(); ++i) {
        const RouteSpec& spec = routes[i];
        if (spec.name.empty())
            return Unexpected{"route #" + std::to_string(i + 1) + " has no name"};
        std::string where = "route '" + spec.name + "': ";
        if (!route_names.insert(spec.name).second)
            return Unexpected{"route '" + spec.name + "' is defined twice"};
        if (spec.gateways.empty()) return Unexpected{where + "no gateways"};

        std::vector<const Gateway*> members;
        members.reserve(spec.gateways.size());
        for (const auto& name : spec.gateways) {
            auto it = gateway_by_name.find(name);
            if (it == gateway_by_name.end())
                return Unexpected{where + "unknown gateway '" + name + "'"};
            if (std::find(members.begin(), members.end(), it->second) != members.end())
                return Unexpected{where + "gateway '" + name + "' is listed twice"};
            members.push_back(it->second);
        }

        std::optional<std::regex> regex;
        if (!spec.regex.empty()) {
            try {
                regex.emplace(spec.regex, std::regex::ECMAScript | std::regex::optimize);
            } catch (const std::regex_error& e) {
                return Unexpected{where + "bad regex '" + spec.regex + "': " + e.what()};
            }
        }
        std::vector<Cidr> sources;
        sources.reserve(spec.sources.size());
        for (const auto& text : spec.sources) {
            auto cidr = Cidr::parse(text);
            if (!cidr) return Unexpected{where + cidr.error()};
            sources.push_back(*cidr);
        }
        std::vector<std::string> domains;
        domains.reserve(spec.domains.size());
        for (const auto& d : spec.domains) domains.push_back(lowered(d));

        auto index = static_cast<std::uint32_t>(i);
        plan.routes_.push_back(Route{
            index, spec,
            GatewaySet(spec.strategy, std::move(members), seed ^ (index * 0x9e3779b97f4a7c15ULL)),
            std::move(regex), std::move(sources), std::move(domains)});
        // A route with a regex and no prefix is scanned; all others go in the trie (no
        // prefix at all = "" = the root, which every user passes through).
        if (spec.prefix.empty() && !spec.regex.empty())
            plan.regex_routes_.push_back(index);
        else
            prefixed.push_back({spec.prefix, index});
    }
    plan.trie_ = PrefixTrie::build(std::move(prefixed));
    return plan;
}

std::optional<RouteMatch> DialPlan::match(const RouteQuery& query) const {
    constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
    std::uint32_t best = kNone;
    SourceAddress source(query.source_ip);

    // Every prefix route matching the user lies on its path in the trie; each node lists
    // its routes in configuration order, so the first accepted one there is that node's
    // candidate, and anything at or past the current best can be skipped.
    trie_.walk(query.ruri_user, [&](std::span<const std::uint32_t> ids) {
        for (std::uint32_t id : ids) {
            if (id >= best) break;
            if (accepts(routes_[id], query, source)) {
                best = id;
                break;
            }
        }
        return best != 0;
    });
    // Regex routes only matter while they come before the best prefix candidate.
    for (std::uint32_t id : regex_routes_) {
        if (id >= best) break;
        if (accepts(routes_[id], query, source)) {
            best = id;
            break;
        }
    }
    if (best == kNone) return std::nullopt;
    const Route& r = routes_[best];
    return RouteMatch{&r, r.translate(query.ruri_user)};
}

const Gateway* DialPlan::find_gateway(std::string_view name) const {
    for (const auto& g : gateways_)
        if (g->name == name) return g.get();
    return nullptr;
}

}  // namespace sipproxy::routing
