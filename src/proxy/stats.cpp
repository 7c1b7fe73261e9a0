#include "proxy/stats.hpp"

#include <string>
#include <vector>

namespace sipproxy::proxy {

std::string_view refusal_name(Refusal r) {
    switch (r) {
    case Refusal::InDialog: return "in_dialog";
    case Refusal::Ack: return "ack";
    case Refusal::StrayResponse: return "stray_response";
    case Refusal::PreloadedRoute: return "preloaded_route";
    case Refusal::DigestUri: return "digest_uri";
    case Refusal::NonceSpent: return "nonce_spent";
    case Refusal::Credentials: return "credentials";
    case Refusal::Identity: return "identity";
    case Refusal::Fraud: return "fraud";
    case Refusal::UserThrottled: return "user_throttled";
    case Refusal::count_: break;
    }
    return "other";
}

namespace {

// Series i is sip::Method i ("other" for an extension method).
std::vector<metrics::SeriesSpec> by_method() {
    std::vector<metrics::SeriesSpec> out;
    for (std::size_t i = 0; i <= static_cast<std::size_t>(sip::Method::Publish); ++i) {
        auto name = std::string(sip::method_name(static_cast<sip::Method>(i)));
        if (name.empty()) name = "other";
        out.push_back({{name}, "requests." + name});
    }
    return out;
}

// Series i is status 100 + i.
std::vector<metrics::SeriesSpec> by_status() {
    std::vector<metrics::SeriesSpec> out;
    for (int code = 100; code < 700; ++code) {
        const auto text = std::to_string(code);
        out.push_back({{text, text.substr(0, 1) + "xx"}, "responses." + text});
    }
    return out;
}

// Series for /metrics only (per-method timings would add 30 keys to `show stats`).
std::vector<metrics::SeriesSpec> without_json_names(std::vector<metrics::SeriesSpec> s) {
    for (auto& x : s) x.json_name.clear();
    return s;
}

std::vector<metrics::SeriesSpec> by_refusal() {
    std::vector<metrics::SeriesSpec> out;
    for (std::size_t i = 0; i < static_cast<std::size_t>(Refusal::count_); ++i) {
        const auto name = std::string(refusal_name(static_cast<Refusal>(i)));
        out.push_back({{name}, "refused." + name});
    }
    return out;
}

}  // namespace

// Per-method and per-code families leave their zeros out (as `show stats` always did).
Stats::Stats(metrics::Registry& r)
    : requests_(r.counter("sipproxy_requests_total", "SIP requests received, by method.",
                          {"method"}, by_method(), true)),
      responses_(r.counter("sipproxy_responses_total", "SIP responses sent, by status code.",
                           {"code", "class"}, by_status(), true)),
      refused_(r.counter("sipproxy_refused_total",
                         "Requests and responses refused by the relay rules, by reason.",
                         {"reason"}, by_refusal())),
      parse_errors_(r.counter("sipproxy_messages_parse_errors_total",
                              "Messages that did not parse.", "messages.parse_errors")),
      auth_challenges_(r.counter("sipproxy_auth_challenges_total",
                                 "Digest challenges sent (401/407).", "auth.challenges")),
      auth_failures_(r.counter("sipproxy_auth_failures_total",
                               "Digest credentials that failed verification.", "auth.failures")),
      auth_successes_(r.counter("sipproxy_auth_successes_total", "Digest credentials verified.",
                                "auth.successes")),
      calls_started_(r.counter("sipproxy_calls_started_total",
                               "Calls (INVITEs out of dialog) accepted for routing.",
                               "calls.started")),
      calls_answered_(
          r.counter("sipproxy_calls_answered_total", "Calls answered (2xx).", "calls.answered")),
      calls_failed_(r.counter("sipproxy_calls_failed_total",
                              "Calls that ended without an answer (incl. cancelled).",
                              "calls.failed")),
      stateless_forwards_(r.counter("sipproxy_responses_forwarded_stateless_total",
                                    "Responses forwarded without a transaction.",
                                    "responses.forwarded_stateless")),
      registrations_(r.counter("sipproxy_registrar_registers_accepted_total",
                               "REGISTER requests accepted.", "registrar.registers_accepted")),
      fraud_warnings_(r.counter("sipproxy_fraud_warnings_total",
                                "Calls past a warning threshold of a [[fraud]] limit (let through).",
                                "fraud.warnings")),
      transaction_time_(r.histogram(
          "sipproxy_transaction_seconds",
          "Time from a request to the final response of its server transaction, by method.",
          {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180}, {"method"},
          without_json_names(by_method()))),
      register_time_(r.histogram("sipproxy_register_seconds",
                                 "Time from a REGISTER to its 2xx (store write included).",
                                 {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
                                 {}, {{{}, "registrar.register_seconds"}})) {}

}  // namespace sipproxy::proxy
