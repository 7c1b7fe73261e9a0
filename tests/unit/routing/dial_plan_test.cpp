#include "routing/dial_plan.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <set>

using namespace sipproxy::routing;

namespace {

std::vector<GatewaySpec> two_gateways() {
    return {{"gw-a", "sip:127.0.0.1:5070", 1, {}}, {"gw-b", "sip:127.0.0.1:5071", 1, {}}};
}

RouteSpec prefix_route(std::string name, std::string prefix) {
    RouteSpec r;
    r.name = std::move(name);
    r.prefix = std::move(prefix);
    r.gateways = {"gw-a"};
    return r;
}

RouteSpec regex_route(std::string name, std::string regex) {
    RouteSpec r;
    r.name = std::move(name);
    r.regex = std::move(regex);
    r.gateways = {"gw-a"};
    return r;
}

DialPlan plan_of(const std::vector<RouteSpec>& routes,
                 const std::vector<GatewaySpec>& gateways = two_gateways()) {
    auto plan = DialPlan::build(routes, gateways, {42});
    INFO((plan ? std::string() : plan.error()));
    REQUIRE(plan.has_value());
    return std::move(plan).value();
}

// "" when nothing matches.
std::string route_for(const DialPlan& plan, std::string_view user, std::string_view domain = "",
                      std::string_view from = "", std::string_view source = "192.0.2.1") {
    auto m = plan.match({user, domain, from, source});
    return m ? m->route->spec.name : std::string();
}

std::string build_error(const std::vector<RouteSpec>& routes,
                        const std::vector<GatewaySpec>& gateways = two_gateways()) {
    auto plan = DialPlan::build(routes, gateways);
    REQUIRE_FALSE(plan.has_value());
    return plan.error();
}

}  // namespace

TEST_CASE("First match wins across regex and prefix routes in configuration order") {
    auto plan = plan_of({
        prefix_route("intl", "00"),
        regex_route("four-digit-9", "^9[0-9]{3}$"),
        prefix_route("pstn", "9"),
        regex_route("any-9", "^9"),      // shadowed by pstn
        prefix_route("long-9", "9123"),  // shadowed by pstn too: order beats length
        regex_route("star-codes", "^\\*[0-9]+$"),
        prefix_route("catch-all", ""),
        prefix_route("after-catch-all", "5"),
    });
    CHECK(route_for(plan, "0044123") == "intl");
    CHECK(route_for(plan, "9123") == "four-digit-9");  // regex configured before prefix
    CHECK(route_for(plan, "91234") == "pstn");         // prefix configured before regex
    CHECK(route_for(plan, "9") == "pstn");
    CHECK(route_for(plan, "*72") == "star-codes");
    CHECK(route_for(plan, "555") == "catch-all");
    CHECK(route_for(plan, "") == "catch-all");
    CHECK(route_for(plan, "alice") == "catch-all");
    CHECK(plan.match({"0044", "", "", ""})->route->index == 0);
}

TEST_CASE("A route with neither regex nor prefix matches every user; none means no match") {
    auto plan = plan_of({prefix_route("nine", "9"), regex_route("plus", "^\\+")});
    CHECK(route_for(plan, "9") == "nine");
    CHECK(route_for(plan, "+4930") == "plus");
    CHECK(route_for(plan, "8") == "");
    CHECK(route_for(plan, "") == "");
    CHECK_FALSE(plan.match({"8", "", "", ""}).has_value());
}

TEST_CASE("A route with both a prefix and a regex needs both") {
    auto r = prefix_route("nine-digits-after-9", "9");
    r.regex = "^9[0-9]{8}$";
    auto plan = plan_of({r, prefix_route("other-9", "9")});
    CHECK(route_for(plan, "912345678") == "nine-digits-after-9");
    CHECK(route_for(plan, "91234") == "other-9");
}

TEST_CASE("Strip, then prepend, rewrites the user part") {
    auto pstn = prefix_route("pstn", "9");
    pstn.strip = 1;
    pstn.prepend = "+1";
    auto greedy = prefix_route("greedy", "8");
    greedy.strip = 10;
    greedy.prepend = "x";
    auto as_is = prefix_route("as-is", "7");
    auto cut = regex_route("cut", "^00");
    cut.strip = 2;
    cut.prepend = "+";
    auto plan = plan_of({pstn, greedy, as_is, cut});

    CHECK(plan.match({"95551234", "", "", ""})->user == "+15551234");
    CHECK(plan.match({"9", "", "", ""})->user == "+1");
    CHECK(plan.match({"8123", "", "", ""})->user == "x");  // strip past the end leaves ""
    CHECK(plan.match({"7123", "", "", ""})->user == "7123");
    CHECK(plan.match({"004930123", "", "", ""})->user == "+4930123");
    CHECK(plan.routes()[0].translate("9abc") == "+1abc");
}

TEST_CASE("Conditions filter candidates: source networks") {
    auto office = prefix_route("office", "9");
    office.sources = {"10.0.0.0/8", "2001:db8::/32"};
    auto plan = plan_of({office, prefix_route("everyone", "9")});
    CHECK(route_for(plan, "91", "", "", "10.1.2.3") == "office");
    CHECK(route_for(plan, "91", "", "", "::ffff:10.1.2.3") == "office");
    CHECK(route_for(plan, "91", "", "", "2001:db8::7") == "office");
    CHECK(route_for(plan, "91", "", "", "192.0.2.1") == "everyone");
    CHECK(route_for(plan, "91", "", "", "not-an-ip") == "everyone");
    CHECK(route_for(plan, "91", "", "", "") == "everyone");
}

TEST_CASE("Conditions filter candidates: authenticated users") {
    auto vip = prefix_route("vip", "");
    vip.users = {"alice", "carol"};
    auto plan = plan_of({vip, regex_route("rest", ".*")});
    CHECK(route_for(plan, "123", "", "alice") == "vip");
    CHECK(route_for(plan, "123", "", "carol") == "vip");
    CHECK(route_for(plan, "123", "", "bob") == "rest");
    CHECK(route_for(plan, "123", "", "Alice") == "rest");  // user names are case-sensitive
    CHECK(route_for(plan, "123", "", "") == "rest");       // unauthenticated
}

TEST_CASE("Conditions filter candidates: Request-URI domains, case-insensitive") {
    auto a = regex_route("a-only", "^1");
    a.domains = {"A.Example.TEST"};
    auto b = prefix_route("b-only", "1");
    b.domains = {"b.example.test", "c.example.test"};
    auto plan = plan_of({a, b, prefix_route("fallback", "")});
    CHECK(route_for(plan, "100", "a.example.test") == "a-only");
    CHECK(route_for(plan, "100", "A.EXAMPLE.test") == "a-only");
    CHECK(route_for(plan, "100", "c.example.test") == "b-only");
    CHECK(route_for(plan, "100", "d.example.test") == "fallback");
    CHECK(route_for(plan, "200", "a.example.test") == "fallback");
}

TEST_CASE("Conditions combine (all must hold) and filter among routes of the same prefix") {
    auto strict = prefix_route("strict", "44");
    strict.users = {"alice"};
    strict.sources = {"192.0.2.0/24"};
    strict.domains = {"example.test"};
    auto plan = plan_of({strict, prefix_route("uk", "44"), prefix_route("uk-short", "4")});
    CHECK(route_for(plan, "4420", "example.test", "alice", "192.0.2.9") == "strict");
    CHECK(route_for(plan, "4420", "example.test", "alice", "198.51.100.1") == "uk");
    CHECK(route_for(plan, "4420", "other.test", "alice", "192.0.2.9") == "uk");
    CHECK(route_for(plan, "4420", "example.test", "bob", "192.0.2.9") == "uk");
    CHECK(route_for(plan, "4", "example.test", "alice", "192.0.2.9") == "uk-short");
}

TEST_CASE("Regex routes are not tried on overlong user parts") {
    auto plan = plan_of({regex_route("any", "^(a|b)*$"), prefix_route("fallback", "")});
    CHECK(route_for(plan, std::string(DialPlan::kMaxRegexSubject, 'a')) == "any");
    CHECK(route_for(plan, std::string(DialPlan::kMaxRegexSubject + 1, 'a')) == "fallback");
}

TEST_CASE("Prefixes may contain any characters") {
    auto plan = plan_of({prefix_route("plus", "+49"), prefix_route("star", "*7"),
                         prefix_route("alpha", "sales"), prefix_route("high", "\xc3\xa9")});
    CHECK(route_for(plan, "+4930") == "plus");
    CHECK(route_for(plan, "*72") == "star");
    CHECK(route_for(plan, "sales-desk") == "alpha");
    CHECK(route_for(plan, "\xc3\xa9t\xc3\xa9") == "high");
    CHECK(route_for(plan, "+4") == "");
}

TEST_CASE("A trie node with many children (searched by bisection) finds each of them") {
    std::vector<RouteSpec> routes;
    for (int c = 1; c < 256; ++c)
        routes.push_back(
            prefix_route(std::to_string(c), std::string(1, static_cast<char>(c)) + "x"));
    auto plan = plan_of(routes);
    for (int c = 1; c < 256; ++c) {
        std::string user = std::string(1, static_cast<char>(c)) + "xy";
        CHECK(route_for(plan, user) == std::to_string(c));
        CHECK(route_for(plan, user.substr(0, 1)) == "");
    }
}

TEST_CASE("build reports configuration errors naming the route or gateway") {
    CHECK(build_error({prefix_route("r", "1"), prefix_route("r", "2")}) ==
          "route 'r' is defined twice");
    auto unknown = prefix_route("pstn", "9");
    unknown.gateways = {"gw-a", "carrier-x"};
    CHECK(build_error({unknown}) == "route 'pstn': unknown gateway 'carrier-x'");
    auto twice = prefix_route("pstn", "9");
    twice.gateways = {"gw-a", "gw-a"};
    CHECK(build_error({twice}) == "route 'pstn': gateway 'gw-a' is listed twice");
    auto none = prefix_route("pstn", "9");
    none.gateways.clear();
    CHECK(build_error({none}) == "route 'pstn': no gateways");
    CHECK(build_error({prefix_route("", "9")}) == "route #1 has no name");
    CHECK_THAT(build_error({regex_route("bad", "^(9")}),
               Catch::StartsWith("route 'bad': bad regex '^(9': "));
    auto net = prefix_route("net", "9");
    net.sources = {"10.0.0.1/8"};
    CHECK_THAT(build_error({net}), Catch::StartsWith("route 'net': bad CIDR '10.0.0.1/8'"));
    CHECK(build_error({}, {{"gw", "sip:a", 1, {}}, {"gw", "sip:b", 1, {}}}) ==
          "gateway 'gw' is defined twice");
    CHECK(build_error({}, {{"gw", "", 1, {}}}) == "gateway 'gw': no uri");
}

TEST_CASE("An empty plan matches nothing") {
    auto plan = plan_of({}, {});
    CHECK_FALSE(plan.match({"123", "example.test", "", "192.0.2.1"}).has_value());
    CHECK(plan.routes().empty());
}

TEST_CASE("Routes keep their gateways, strategy and timeout") {
    auto r = prefix_route("pstn", "9");
    r.gateways = {"gw-b", "gw-a"};
    r.strategy = Strategy::round_robin;
    r.timeout = std::chrono::milliseconds(8000);
    auto plan = plan_of({r});
    const Route& route = *plan.match({"91", "", "", ""})->route;
    CHECK(route.gateways.strategy() == Strategy::round_robin);
    REQUIRE(route.gateways.gateways().size() == 2);
    CHECK(route.gateways.gateways()[0]->name == "gw-b");
    CHECK(route.gateways.gateways()[0]->uri == "sip:127.0.0.1:5071");
    CHECK(route.gateways.gateways()[0] == plan.find_gateway("gw-b"));
    CHECK(route.spec.timeout == std::chrono::milliseconds(8000));
    CHECK(plan.find_gateway("nope") == nullptr);
    CHECK(plan.gateway_count() == 2);
}

TEST_CASE("Strategy names") {
    CHECK(parse_strategy("failover") == Strategy::failover);
    CHECK(parse_strategy("round-robin") == Strategy::round_robin);
    CHECK(parse_strategy("round_robin") == Strategy::round_robin);
    CHECK(parse_strategy("weighted") == Strategy::weighted);
    CHECK_FALSE(parse_strategy("random").has_value());
    CHECK(to_string(Strategy::round_robin) == "round-robin");
}

namespace {

// The specification of "first match wins", the slow way.
std::string reference_match(const std::vector<RouteSpec>& routes, std::string_view user,
                            std::string_view domain) {
    for (const auto& r : routes) {
        if (user.substr(0, r.prefix.size()) != r.prefix) continue;
        if (!r.domains.empty() &&
            std::find(r.domains.begin(), r.domains.end(), domain) == r.domains.end())
            continue;
        return r.name;
    }
    return {};
}

std::string random_digits(std::mt19937& rng, std::size_t min_len, std::size_t max_len) {
    std::uniform_int_distribution<std::size_t> len(min_len, max_len);
    std::uniform_int_distribution<int> digit(0, 9);
    std::string s(len(rng), '0');
    for (char& c : s) c = static_cast<char>('0' + digit(rng));
    return s;
}

}  // namespace

TEST_CASE("100k prefix routes: the first configured matching route wins, like a linear scan") {
    std::mt19937 rng(7);
    std::vector<RouteSpec> routes;
    routes.reserve(100000);
    for (int i = 0; i < 100000; ++i) {
        auto r = prefix_route("r" + std::to_string(i), random_digits(rng, 1, 8));
        if (i % 10 == 0) r.domains = {"b.test"};  // some routes filtered by a condition
        routes.push_back(std::move(r));
    }
    auto plan = plan_of(routes);
    CHECK(plan.routes().size() == 100000);

    std::vector<std::string> users;
    for (int i = 0; i < 1500; ++i) users.push_back(random_digits(rng, 0, 12));
    for (int i = 0; i < 500; ++i) users.push_back(routes[rng() % routes.size()].prefix);
    for (const auto& user : users) {
        for (std::string_view domain : {"a.test", "b.test"}) {
            INFO(user << " @ " << domain);
            REQUIRE(route_for(plan, user, domain) == reference_match(routes, user, domain));
        }
    }
}

TEST_CASE("100k prefix routes listed longest first give longest-prefix match") {
    std::mt19937 rng(11);
    std::set<std::string> unique;
    while (unique.size() < 100000) unique.insert(random_digits(rng, 1, 9));
    std::vector<std::string> prefixes(unique.begin(), unique.end());
    std::stable_sort(prefixes.begin(), prefixes.end(),
                     [](const auto& a, const auto& b) { return a.size() > b.size(); });
    std::vector<RouteSpec> routes;
    routes.reserve(prefixes.size());
    for (const auto& p : prefixes) routes.push_back(prefix_route(p, p));  // named by prefix
    auto plan = plan_of(routes);

    for (int i = 0; i < 5000; ++i) {
        std::string user = random_digits(rng, 1, 12);
        std::string longest;
        for (std::size_t n = user.size(); n > 0 && longest.empty(); --n)
            if (unique.count(user.substr(0, n))) longest = user.substr(0, n);
        INFO(user);
        REQUIRE(route_for(plan, user) == longest);
    }
}
