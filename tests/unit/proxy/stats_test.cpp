// proxy::Stats on the metrics registry: the names `show stats` has always used, the
// Prometheus families behind them, and the transaction timings.
#include "proxy/stats.hpp"

#include <catch2/catch.hpp>

using namespace sipproxy;

TEST_CASE("stats: show-stats names are the old ones, zeros of per-method and per-code left out") {
    metrics::Registry registry;
    proxy::Stats stats(registry);
    stats.request(sip::Method::Invite);
    stats.request(sip::Method::Invite);
    stats.request(sip::Method::Unknown);
    stats.response_sent(200);
    stats.response_sent(99);  // not a status: not counted
    stats.refused(proxy::Refusal::InDialog);
    stats.auth_failure();
    stats.registration();
    const auto json = registry.json_values();
    CHECK(json.at("requests.INVITE") == 2);
    CHECK(json.at("requests.other") == 1);
    CHECK(json.count("requests.BYE") == 0);
    CHECK(json.at("responses.200") == 1);
    CHECK(json.count("responses.404") == 0);
    CHECK(json.at("refused.in_dialog") == 1);
    CHECK(json.at("refused.ack") == 0);  // every reason listed
    CHECK(json.at("auth.failures") == 1);
    CHECK(json.at("registrar.registers_accepted") == 1);
    CHECK(json.at("calls.started") == 0);
    CHECK(json.at("messages.parse_errors") == 0);

    const auto text = metrics::render(registry.collect());
    CHECK(text.find("sipproxy_requests_total{method=\"INVITE\"} 2\n") != std::string::npos);
    CHECK(text.find("sipproxy_responses_total{code=\"200\",class=\"2xx\"} 1\n") !=
          std::string::npos);
    CHECK(text.find("sipproxy_refused_total{reason=\"in_dialog\"} 1\n") != std::string::npos);
    CHECK(text.find("sipproxy_auth_failures_total 1\n") != std::string::npos);
}

TEST_CASE("stats: transaction time by method, REGISTER processing time for accepted ones") {
    metrics::Registry registry;
    proxy::Stats stats(registry);
    using std::chrono::milliseconds;
    stats.transaction_final(sip::Method::Register, 401, milliseconds(1));  // a challenge
    stats.transaction_final(sip::Method::Register, 200, milliseconds(3));
    stats.transaction_final(sip::Method::Invite, 486, milliseconds(2000));
    const auto json = registry.json_values();
    CHECK(json.at("registrar.register_seconds.count") == 1);
    CHECK(json.at("registrar.register_seconds.sum_ms") == 3);
    const auto text = metrics::render(registry.collect());
    CHECK(text.find("sipproxy_transaction_seconds_count{method=\"REGISTER\"} 2\n") !=
          std::string::npos);
    CHECK(text.find("sipproxy_transaction_seconds_bucket{method=\"INVITE\",le=\"1\"} 0\n") !=
          std::string::npos);
    CHECK(text.find("sipproxy_transaction_seconds_bucket{method=\"INVITE\",le=\"2.5\"} 1\n") !=
          std::string::npos);
    CHECK(text.find("sipproxy_register_seconds_count 1\n") != std::string::npos);
}
