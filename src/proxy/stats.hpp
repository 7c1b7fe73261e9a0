#pragma once
// What the proxy counts, as families of the metrics registry (metrics/registry.hpp): the
// same counters feed GET /metrics and `sipproxyctl show stats`. Each count is one relaxed
// add on this worker's shard.
//
// To add a counter: a method here, its metrics::Counter& member, and its registration (name,
// help, labels, show-stats name) in the constructor in stats.cpp.
#include <chrono>
#include <cstdint>
#include <string_view>

#include "metrics/registry.hpp"
#include "sip/message.hpp"

namespace sipproxy::proxy {

// Why the proxy refused to relay or accept something a peer sent (issue #11): counted as
// "refused.<name>" in `show stats`.
enum class Refusal : std::uint8_t {
    InDialog,        // To-tag but no valid dialog token of ours: not relayed as in-dialog
    Ack,             // ACK without a valid dialog token: dropped
    StrayResponse,   // response without a transaction and without a valid via token
    PreloadedRoute,  // unauthenticated request with a Route to a third party
    DigestUri,       // digest-uri names another target than the Request-URI
    NonceSpent,      // right password on a nonce spent by failed attempts
    Credentials,     // wrong password, unknown user, bad nonce: an authentication failure
    Identity,        // authenticated, but as another user than the To/From one
    Fraud,           // a call past a critical [[fraud]] threshold (403)
    UserThrottled,   // credentials for a throttled user from a source it does not know
    count_
};
std::string_view refusal_name(Refusal r);

class Stats {
public:
    explicit Stats(metrics::Registry& registry);

    void request(sip::Method m) { requests_.inc(static_cast<std::size_t>(m)); }
    void response_sent(int status) {
        if (status >= 100 && status < 700) responses_.inc(static_cast<std::size_t>(status - 100));
    }
    void parse_error() { parse_errors_.inc(0); }
    void auth_challenge() { auth_challenges_.inc(0); }
    void auth_failure() { auth_failures_.inc(0); }
    void auth_success() { auth_successes_.inc(0); }
    void call_started() { calls_started_.inc(0); }
    void call_answered() { calls_answered_.inc(0); }
    void call_failed() { calls_failed_.inc(0); }
    void stateless_forward() { stateless_forwards_.inc(0); }
    void registration() { registrations_.inc(0); }
    void refused(Refusal r) { refused_.inc(static_cast<std::size_t>(r)); }
    void fraud_warning() { fraud_warnings_.inc(0); }
    // A server transaction's final response, `elapsed` after its request; a REGISTER
    // accepted (2xx) also counts as REGISTER processing time (store write included).
    void transaction_final(sip::Method m, int status, std::chrono::steady_clock::duration elapsed) {
        const double s = std::chrono::duration<double>(elapsed).count();
        transaction_time_.observe(static_cast<std::size_t>(m), s);
        if (m == sip::Method::Register && status < 300) register_time_.observe(0, s);
    }

private:
    metrics::Counter& requests_;
    metrics::Counter& responses_;
    metrics::Counter& refused_;
    metrics::Counter& parse_errors_;
    metrics::Counter& auth_challenges_;
    metrics::Counter& auth_failures_;
    metrics::Counter& auth_successes_;
    metrics::Counter& calls_started_;
    metrics::Counter& calls_answered_;
    metrics::Counter& calls_failed_;
    metrics::Counter& stateless_forwards_;
    metrics::Counter& registrations_;
    metrics::Counter& fraud_warnings_;
    metrics::ShardedHistogram& transaction_time_;  // series by sip::Method
    metrics::ShardedHistogram& register_time_;
};

}  // namespace sipproxy::proxy
