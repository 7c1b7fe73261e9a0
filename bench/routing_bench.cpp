// Dial plan load and match cost on a carrier-sized rate table: 100,000 random digit
// prefixes plus a few regex routes (some before the table, so every lookup pays for
// them, some after). Usage: routing_bench [routes] [lookups]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "routing/dial_plan.hpp"
#include "routing/gateway_health.hpp"

using namespace sipproxy::routing;
using Clock = std::chrono::steady_clock;

namespace {

std::string digits(std::mt19937_64& rng, std::size_t min_len, std::size_t max_len) {
    std::string s(min_len + rng() % (max_len - min_len + 1), '0');
    for (char& c : s) c = static_cast<char>('0' + rng() % 10);
    return s;
}

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t route_count = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100000;
    std::size_t lookups = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1000000;
    std::mt19937_64 rng(2024);

    std::vector<GatewaySpec> gateways;
    for (int i = 0; i < 8; ++i)
        gateways.push_back({"carrier-" + std::to_string(i),
                            "sip:10.0.0." + std::to_string(i + 1) + ":5060",
                            1u + i % 3,
                            {}});

    std::vector<RouteSpec> routes;
    routes.reserve(route_count + 5);
    auto regex_route = [&](std::string name, std::string re) {
        RouteSpec r;
        r.name = std::move(name);
        r.regex = std::move(re);
        r.gateways = {"carrier-0"};
        routes.push_back(std::move(r));
    };
    // Before the table: tried on every lookup whose best prefix candidate comes later.
    regex_route("feature-codes", "^\\*[0-9]{2,3}$");
    regex_route("emergency", "^(112|911|999)$");
    regex_route("short-codes", "^1[0-9]{3}$");
    for (std::size_t i = 0; i < route_count; ++i) {
        RouteSpec r;
        r.name = "rate-" + std::to_string(i);
        r.prefix = digits(rng, 2, 9);
        r.strip = 0;
        r.prepend = "+";
        r.gateways = {gateways[i % 8].name, gateways[(i + 1) % 8].name};
        r.strategy = i % 2 ? Strategy::weighted : Strategy::failover;
        routes.push_back(std::move(r));
    }
    regex_route("e164", "^\\+[1-9][0-9]{6,14}$");
    regex_route("anything", ".*");

    auto start = Clock::now();
    auto plan = DialPlan::build(routes, gateways);
    double build_ms = ms_since(start);
    if (!plan) {
        std::fprintf(stderr, "build failed: %s\n", plan.error().c_str());
        return 1;
    }

    std::vector<std::string> users;
    for (int i = 0; i < 4096; ++i) users.push_back(digits(rng, 11, 13));
    auto time_matches = [&](const DialPlan& p, std::size_t& checksum) {
        auto t = Clock::now();
        for (std::size_t i = 0; i < lookups; ++i) {
            const auto& user = users[i & 4095];
            auto m = p.match({user, "example.test", "alice", "192.0.2.10"});
            if (m) checksum += m->route->index + m->user.size();
        }
        return ms_since(t) * 1000.0 / static_cast<double>(lookups);
    };
    std::size_t checksum = 0;
    double match_us = time_matches(*plan, checksum);

    // The same table without the three leading regex routes: the trie walk alone.
    std::vector<RouteSpec> table_only(routes.begin() + 3, routes.end());
    auto plain = DialPlan::build(table_only, gateways);
    double trie_us = time_matches(*plain, checksum);

    GatewayHealthTable health(gateways);
    auto time_select = [&](const GatewaySet& set, std::size_t& n) {
        auto t = Clock::now();
        for (std::size_t i = 0; i < lookups; ++i) n += set.select(health).size();
        return ms_since(t) * 1000.0 / static_cast<double>(lookups);
    };
    double failover_us = time_select(plan->routes()[3].gateways, checksum);
    double weighted_us = time_select(plan->routes()[4].gateways, checksum);

    std::printf("routes            %zu prefix + 5 regex\n", route_count);
    std::printf("build             %.1f ms\n", build_ms);
    std::printf("match             %.3f us average over %zu lookups (3 regex routes first)\n",
                match_us, lookups);
    std::printf("match, table only %.3f us average (trie walk, no regex before it)\n", trie_us);
    std::printf("gateway select    %.3f us failover, %.3f us weighted (2 gateways, health table)\n",
                failover_us, weighted_us);
    std::printf("(checksum %zu)\n", checksum);
    return 0;
}
