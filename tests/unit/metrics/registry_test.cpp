// The metrics registry: counters summed across the shards of several threads, labelled
// series, values read at scrape, histograms, and the same values under their Prometheus
// and `show stats` names.
#include "metrics/registry.hpp"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

using namespace sipproxy::metrics;

TEST_CASE("registry: a counter counted on many threads is their sum") {
    Registry r;
    auto& c = r.counter("x_total", "X.", {"kind"}, {{{"a"}, "x.a"}, {{"b"}, "x.b"}});
    std::vector<std::thread> threads;
    for (int t = 0; t < 20; ++t)  // more threads than shards: some share one
        threads.emplace_back([&c] {
            for (int i = 0; i < 1000; ++i) c.inc(0);
            c.inc(1, 5);
        });
    for (auto& t : threads) t.join();
    CHECK(c.value(0) == 20000);
    CHECK(c.value(1) == 100);
    const auto json = r.json_values();
    CHECK(json.at("x.a") == 20000);
    CHECK(json.at("x.b") == 100);
}

TEST_CASE("registry: /metrics and show stats read the same series") {
    Registry r;
    auto& requests = r.counter("sipproxy_requests_total", "SIP requests received, by method.",
                               {"method"}, {{{"INVITE"}, "requests.INVITE"}, {{"BYE"}, "requests.BYE"}},
                               true);
    requests.inc(0, 3);
    double bindings = 7;
    r.gauge_from("sipproxy_registrar_bindings", "Registered contacts.", "registrar.bindings",
                 [&bindings] { return bindings; });
    r.counter_from("sipproxy_blocked_total", "Dropped.", {"reason"},
                   {{{{"flood"}, "blocked.flood"}, [] { return 4.0; }},
                    {{{"deny"}, ""}, [] { return 1.0; }}});  // no json name: /metrics only
    bindings = 9;  // read at scrape, not at registration

    const auto families = r.collect();
    REQUIRE(families.size() == 3);
    CHECK(families[0].name == "sipproxy_requests_total");
    CHECK(families[0].type == MetricType::Counter);
    REQUIRE(families[0].samples.size() == 1);  // BYE at 0 is hidden
    CHECK(families[0].samples[0].labels[0].name == "method");
    CHECK(families[0].samples[0].labels[0].value == "INVITE");
    CHECK(families[0].samples[0].value == 3);
    CHECK(families[1].type == MetricType::Gauge);
    CHECK(families[1].samples[0].value == 9);
    CHECK(families[2].samples.size() == 2);

    const auto json = r.json_values();
    CHECK(json == std::map<std::string, double>{
                      {"requests.INVITE", 3}, {"registrar.bindings", 9}, {"blocked.flood", 4}});

    const auto text = render(families);
    CHECK(text.find("sipproxy_requests_total{method=\"INVITE\"} 3\n") != std::string::npos);
    CHECK(text.find("BYE") == std::string::npos);
    CHECK(text.find("sipproxy_registrar_bindings 9\n") != std::string::npos);
    CHECK(text.find("sipproxy_blocked_total{reason=\"deny\"} 1\n") != std::string::npos);
}

TEST_CASE("registry: histograms merge their shards; show stats has count and sum in ms") {
    Registry r;
    auto& h = r.histogram("t_seconds", "T.", {0.1, 1}, {"method"},
                          {{{"INVITE"}, "t.INVITE"}, {{"REGISTER"}, "t.REGISTER"}});
    std::thread other([&h] { h.observe(0, 0.5); });
    other.join();
    h.observe(0, 0.05);
    h.observe(0, 5);
    h.observe(1, 0.2);
    const auto families = r.collect();
    REQUIRE(families.size() == 1);
    REQUIRE(families[0].histograms.size() == 2);
    const auto& d = families[0].histograms[0].data;
    CHECK(d.counts == std::vector<std::uint64_t>{1, 1, 1});
    CHECK(d.count == 3);
    CHECK(d.sum == Approx(5.55));
    const auto json = r.json_values();
    CHECK(json.at("t.INVITE.count") == 3);
    CHECK(json.at("t.INVITE.sum_ms") == 5550);
    CHECK(json.at("t.REGISTER.count") == 1);
    const auto text = render(families);
    CHECK(text.find("t_seconds_bucket{method=\"INVITE\",le=\"+Inf\"} 3\n") != std::string::npos);
}

TEST_CASE("registry: label values must match the label names") {
    Registry r;
    CHECK_THROWS(r.counter("x_total", "X.", {"a", "b"}, {{{"only one"}, "x"}}));
}

TEST_CASE("registry: families rendered by their owner come out in registration order") {
    Registry r;
    r.counter("a_total", "A.", "a");
    r.families_from([] {
        return std::vector<Family>{{"process_open_fds", "FDs.", MetricType::Gauge, {{{}, 3}}, {}}};
    });
    const auto families = r.collect();
    REQUIRE(families.size() == 2);
    CHECK(families[1].name == "process_open_fds");
    CHECK(r.json_values() == std::map<std::string, double>{{"a", 0}});
}
