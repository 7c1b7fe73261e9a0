#include "routing/gateway_health.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

using namespace sipproxy::routing;
using namespace std::chrono_literals;

namespace {
const HealthClock::time_point t0{};

ProbeSpec probing(unsigned failures_before_down, unsigned successes_before_up) {
    return {true, 30s, failures_before_down, successes_before_up};
}
}  // namespace

TEST_CASE("A gateway without probing is up unless disabled") {
    GatewayHealth h("gw", "sip:10.0.0.1", {});
    CHECK(h.state() == GatewayState::up);
    CHECK_FALSE(h.record_probe(false, t0, "timeout"));  // ignored
    CHECK_FALSE(h.record_call_failure(t0, "408"));      // counted, no state change
    CHECK(h.usable());
    CHECK(h.snapshot().call_failures == 1);
    CHECK(h.snapshot().probes == 0);
    CHECK(h.disable(t0 + 1s));
    CHECK(h.state() == GatewayState::disabled);
    CHECK_FALSE(h.usable());
    CHECK_FALSE(h.disable(t0 + 2s));  // already
    CHECK(h.enable(t0 + 3s));
    CHECK(h.state() == GatewayState::up);
    CHECK(h.snapshot().last_change == t0 + 3s);
}

TEST_CASE("Consecutive probe failures take a gateway down, successes bring it back") {
    GatewayHealth h("gw", "sip:10.0.0.1", probing(3, 2));
    CHECK_FALSE(h.record_probe(false, t0 + 1s, "timeout"));
    CHECK_FALSE(h.record_probe(false, t0 + 2s, "timeout"));
    CHECK_FALSE(h.record_probe(true, t0 + 3s, "200 OK"));  // resets the failure count
    CHECK_FALSE(h.record_probe(false, t0 + 4s, "timeout"));
    CHECK_FALSE(h.record_probe(false, t0 + 5s, "503 Service Unavailable"));
    CHECK(h.state() == GatewayState::up);
    CHECK(h.record_probe(false, t0 + 6s, "timeout"));  // third in a row
    CHECK(h.state() == GatewayState::down);
    CHECK_FALSE(h.usable());
    CHECK_FALSE(h.record_probe(false, t0 + 7s, "timeout"));

    CHECK_FALSE(h.record_probe(true, t0 + 8s, "200 OK"));
    CHECK_FALSE(h.record_probe(false, t0 + 9s, "timeout"));  // resets the success count
    CHECK_FALSE(h.record_probe(true, t0 + 10s, "200 OK"));
    CHECK(h.state() == GatewayState::down);
    CHECK(h.record_probe(true, t0 + 11s, "200 OK"));  // second in a row
    CHECK(h.state() == GatewayState::up);

    auto s = h.snapshot();
    CHECK(s.name == "gw");
    CHECK(s.uri == "sip:10.0.0.1");
    CHECK(s.probing);
    CHECK(s.probe_interval == 30s);
    CHECK(s.last_probe == t0 + 11s);
    CHECK(s.last_probe_ok);
    CHECK(s.last_result == "200 OK");
    CHECK(s.last_change == t0 + 11s);
    CHECK(s.consecutive_successes == 2);
    CHECK(s.consecutive_failures == 0);
    CHECK(s.probes == 11);
    CHECK(s.probe_failures == 7);
}

TEST_CASE("Thresholds of 0 or 1 switch on the first probe") {
    GatewayHealth h("gw", "sip:x", probing(0, 0));
    CHECK(h.record_probe(false, t0));
    CHECK(h.state() == GatewayState::down);
    CHECK(h.record_probe(true, t0));
    CHECK(h.state() == GatewayState::up);
}

TEST_CASE("Probes count while disabled; enable returns to what they say") {
    GatewayHealth h("gw", "sip:x", probing(2, 1));
    CHECK(h.disable(t0));
    CHECK_FALSE(h.record_probe(false, t0 + 1s));
    CHECK_FALSE(h.record_probe(false, t0 + 2s));
    CHECK(h.state() == GatewayState::disabled);
    CHECK(h.enable(t0 + 3s));
    CHECK(h.state() == GatewayState::down);
    CHECK(h.record_probe(true, t0 + 4s));
    CHECK(h.state() == GatewayState::up);
}

TEST_CASE("Call failures count like failed probes for probed gateways") {
    GatewayHealth h("gw", "sip:x", probing(2, 1));
    CHECK_FALSE(h.record_call_failure(t0, "no answer"));
    CHECK(h.record_call_failure(t0 + 1s, "503"));
    CHECK(h.state() == GatewayState::down);
    CHECK(h.snapshot().last_result == "call: 503");
    CHECK(h.snapshot().call_failures == 2);
    CHECK(h.record_probe(true, t0 + 2s, "200 OK"));
}

TEST_CASE("The health table keeps state across reloads by gateway name") {
    std::vector<GatewaySpec> v1{{"a", "sip:10.0.0.1", 1, probing(1, 1)},
                                {"b", "sip:10.0.0.2", 1, probing(1, 1)},
                                {"c", "sip:10.0.0.3", 1, probing(1, 1)},
                                {"d", "sip:10.0.0.4", 1, {}}};
    GatewayHealthTable table(v1);
    table.find("a")->record_probe(false, t0);
    table.find("b")->record_probe(false, t0);
    table.find("c")->record_probe(false, t0);
    CHECK(table.disable("d") == true);
    CHECK(table.disable("nope") == std::nullopt);
    CHECK_FALSE(table.usable("a"));
    CHECK(table.usable("unknown"));
    CHECK(table.probed().size() == 3);

    // Reload: a kept as is, b moved to another host, c no longer probed, d kept (disabled),
    // e new, and a different order.
    std::vector<GatewaySpec> v2{{"e", "sip:10.0.0.5", 1, {}},
                                {"d", "sip:10.0.0.4", 1, {}},
                                {"c", "sip:10.0.0.3", 1, {}},
                                {"b", "sip:10.0.0.22", 1, probing(1, 1)},
                                {"a", "sip:10.0.0.1", 1, probing(5, 5)}};
    auto old_a = table.find("a");
    table.sync(v2);
    CHECK(table.find("a") == old_a);
    CHECK(table.find("a")->state() == GatewayState::down);
    CHECK(table.find("b")->state() == GatewayState::up);
    CHECK(table.find("c")->state() == GatewayState::up);
    CHECK(table.find("d")->state() == GatewayState::disabled);
    CHECK(table.find("e")->state() == GatewayState::up);
    CHECK(table.probed().size() == 2);

    auto snap = table.snapshot();
    REQUIRE(snap.size() == 5);
    CHECK(snap[0].name == "e");
    CHECK(snap[3].uri == "sip:10.0.0.22");
    CHECK(to_string(snap[4].state) == "down");

    table.sync({{"a", "sip:10.0.0.1", 1, probing(5, 5)}});  // the others are dropped
    CHECK(table.snapshot().size() == 1);
    CHECK(table.find("b") == nullptr);
    CHECK(table.enable("d") == std::nullopt);
}

TEST_CASE("Probes, operator commands, reloads and readers may run concurrently") {
    std::vector<GatewaySpec> specs{{"a", "sip:10.0.0.1", 1, probing(1, 1)},
                                   {"b", "sip:10.0.0.2", 1, {}}};
    GatewayHealthTable table(specs);
    std::atomic<bool> stop{false};
    std::thread prober([&] {
        for (int i = 0; i < 2000; ++i) table.find("a")->record_probe(i % 2 == 1, t0, "x");
        stop = true;
    });
    std::thread operator_([&] {
        while (!stop) {
            table.disable("b");
            table.enable("b");
            table.sync(specs);
        }
    });
    std::size_t seen = 0;
    do {
        seen += table.usable("a") + table.usable("b");
        seen += table.snapshot().size();
    } while (!stop);
    prober.join();
    operator_.join();
    CHECK(seen > 0);
    CHECK(table.find("a")->state() == GatewayState::up);  // the last probe succeeded
    CHECK(table.find("b")->state() == GatewayState::up);
    CHECK(table.find("a")->snapshot().probes == 2000);
}
