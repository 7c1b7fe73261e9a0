#include "routing/gateway_set.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <thread>

#include "routing/dial_plan.hpp"
#include "routing/gateway_health.hpp"

using namespace sipproxy::routing;

namespace {

struct Fixture {
    std::vector<Gateway> storage;
    explicit Fixture(std::vector<unsigned> weights) {
        for (std::size_t i = 0; i < weights.size(); ++i)
            storage.push_back(
                {"gw" + std::to_string(i), "sip:10.0.0." + std::to_string(i), weights[i]});
    }
    GatewaySet set(Strategy s, std::uint64_t seed = 1) const {
        std::vector<const Gateway*> ptrs;
        for (const auto& g : storage) ptrs.push_back(&g);
        return GatewaySet(s, std::move(ptrs), seed);
    }
};

bool all_up(const Gateway&) {
    return true;
}

std::vector<std::string> names(const std::vector<const Gateway*>& gws) {
    std::vector<std::string> out;
    for (const auto* g : gws) out.push_back(g->name);
    return out;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("Failover tries gateways in configured order, skipping unusable ones") {
    Fixture f({1, 1, 1});
    auto set = f.set(Strategy::failover);
    for (int i = 0; i < 3; ++i) CHECK(names(set.select(all_up)) == Names{"gw0", "gw1", "gw2"});
    CHECK(names(set.select([](const Gateway& g) { return g.name != "gw0"; })) ==
          Names{"gw1", "gw2"});
    CHECK(set.select([](const Gateway&) { return false; }).empty());
}

TEST_CASE("Round-robin rotates the start: 1000 selections spread exactly") {
    Fixture f({1, 1, 1, 1});
    auto set = f.set(Strategy::round_robin);
    CHECK(names(set.select(all_up)) == Names{"gw0", "gw1", "gw2", "gw3"});
    CHECK(names(set.select(all_up)) == Names{"gw1", "gw2", "gw3", "gw0"});
    std::map<std::string, int> first;
    for (int i = 2; i < 1000; ++i) ++first[set.select(all_up).front()->name];
    ++first["gw0"];
    ++first["gw1"];
    CHECK(first ==
          std::map<std::string, int>{{"gw0", 250}, {"gw1", 250}, {"gw2", 250}, {"gw3", 250}});
}

TEST_CASE("Round-robin over three gateways, one of them down, spreads over the other two") {
    Fixture f({1, 1, 1});
    auto set = f.set(Strategy::round_robin);
    std::map<std::string, int> first;
    for (int i = 0; i < 1000; ++i) ++first[set.select(all_up).front()->name];
    CHECK(first == std::map<std::string, int>{{"gw0", 334}, {"gw1", 333}, {"gw2", 333}});

    first.clear();
    auto not_gw1 = [](const Gateway& g) { return g.name != "gw1"; };
    for (int i = 0; i < 1000; ++i) {
        auto order = set.select(not_gw1);
        REQUIRE(order.size() == 2);
        ++first[order.front()->name];
    }
    CHECK(first == std::map<std::string, int>{{"gw0", 500}, {"gw2", 500}});
}

TEST_CASE("Round-robin stays exact under concurrent callers") {
    Fixture f({1, 1, 1, 1});
    auto set = f.set(Strategy::round_robin);
    std::vector<std::map<std::string, int>> counts(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 1000; ++i) ++counts[t][set.select(all_up).front()->name];
        });
    for (auto& t : threads) t.join();
    std::map<std::string, int> total;
    for (const auto& c : counts)
        for (const auto& [name, n] : c) total[name] += n;
    CHECK(total ==
          std::map<std::string, int>{{"gw0", 1000}, {"gw1", 1000}, {"gw2", 1000}, {"gw3", 1000}});
}

TEST_CASE("Weighted: first choice follows the weights, every order is a permutation") {
    Fixture f({1, 2, 7});
    auto set = f.set(Strategy::weighted, 12345);
    std::map<std::string, int> first;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
        auto order = names(set.select(all_up));
        REQUIRE(std::set<std::string>(order.begin(), order.end()).size() == 3);
        ++first[order.front()];
    }
    CHECK(first["gw0"] == Approx(n * 0.1).margin(n * 0.015));
    CHECK(first["gw1"] == Approx(n * 0.2).margin(n * 0.015));
    CHECK(first["gw2"] == Approx(n * 0.7).margin(n * 0.015));
}

TEST_CASE("Weighted: second choice is drawn by weight among the rest") {
    // Given gw2 (weight 7) first, gw1 (2) should be second 2/3 of the time.
    Fixture f({1, 2, 7});
    auto set = f.set(Strategy::weighted, 99);
    int gw2_first = 0, then_gw1 = 0;
    for (int i = 0; i < 20000; ++i) {
        auto order = names(set.select(all_up));
        if (order[0] != "gw2") continue;
        ++gw2_first;
        if (order[1] == "gw1") ++then_gw1;
    }
    CHECK(static_cast<double>(then_gw1) / gw2_first == Approx(2.0 / 3).margin(0.02));
}

TEST_CASE("Weighted: deterministic for a seed, different across seeds") {
    Fixture f({3, 3, 3, 1});
    auto a = f.set(Strategy::weighted, 7);
    auto b = f.set(Strategy::weighted, 7);
    auto c = f.set(Strategy::weighted, 8);
    std::vector<Names> seq_a, seq_b, seq_c;
    for (int i = 0; i < 50; ++i) {
        seq_a.push_back(names(a.select(all_up)));
        seq_b.push_back(names(b.select(all_up)));
        seq_c.push_back(names(c.select(all_up)));
    }
    CHECK(seq_a == seq_b);
    CHECK(seq_a != seq_c);
}

TEST_CASE("Weighted: weight 0 gateways come last, in configured order; down ones skipped") {
    Fixture f({0, 5, 0, 5});
    auto set = f.set(Strategy::weighted, 3);
    for (int i = 0; i < 100; ++i) {
        auto order = names(set.select(all_up));
        REQUIRE(order.size() == 4);
        CHECK(Names(order.begin() + 2, order.end()) == Names{"gw0", "gw2"});
    }
    auto no_gw3 = [](const Gateway& g) { return g.name != "gw3"; };
    for (int i = 0; i < 100; ++i) CHECK(names(set.select(no_gw3)) == Names{"gw1", "gw0", "gw2"});
}

TEST_CASE("Selection through the health table skips down and disabled gateways") {
    std::vector<GatewaySpec> specs{
        {"a", "sip:10.0.0.1", 1, {true, std::chrono::seconds(30), 1, 1}},
        {"b", "sip:10.0.0.2", 1, {}},
        {"c", "sip:10.0.0.3", 1, {}},
    };
    RouteSpec route;
    route.name = "pstn";
    route.gateways = {"a", "b", "c"};
    auto plan = DialPlan::build({route}, specs, {1});
    REQUIRE(plan.has_value());
    GatewayHealthTable health(specs);
    const GatewaySet& set = plan->routes()[0].gateways;

    CHECK(names(set.select(health)) == Names{"a", "b", "c"});
    health.find("a")->record_probe(false, HealthClock::now(), "timeout");
    CHECK(names(set.select(health)) == Names{"b", "c"});
    health.disable("c");
    CHECK(names(set.select(health)) == Names{"b"});
    health.disable("b");
    CHECK(set.select(health).empty());  // the proxy answers 503
    health.enable("c");
    CHECK(names(set.select(health)) == Names{"c"});
    health.find("a")->record_probe(true, HealthClock::now(), "200 OK");
    CHECK(names(set.select(health)) == Names{"a", "c"});

    GatewayHealthTable empty;  // not synced: nothing known to be down
    CHECK(names(set.select(empty)) == Names{"a", "b", "c"});
}
