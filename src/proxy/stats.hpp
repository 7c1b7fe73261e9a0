#pragma once
// Counters for `sipproxyctl show stats`, shared by every worker (relaxed atomics).
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>

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
    void request(sip::Method m) { bump(requests_[static_cast<std::size_t>(m)]); }
    void response_sent(int status) {
        if (status >= 100 && status < 700) bump(responses_[static_cast<std::size_t>(status - 100)]);
    }
    void parse_error() { bump(parse_errors_); }
    void auth_challenge() { bump(auth_challenges_); }
    void auth_failure() { bump(auth_failures_); }
    void auth_success() { bump(auth_successes_); }
    void call_started() { bump(calls_started_); }
    void call_answered() { bump(calls_answered_); }
    void call_failed() { bump(calls_failed_); }
    void stateless_forward() { bump(stateless_forwards_); }
    void registration() { bump(registrations_); }
    void refused(Refusal r) { bump(refused_[static_cast<std::size_t>(r)]); }
    void fraud_warning() { bump(fraud_warnings_); }

    // Flat name -> value map ("requests.INVITE", "responses.200", ...), zeros left out
    // for the per-method and per-code families.
    std::map<std::string, std::uint64_t> snapshot() const;

private:
    static void bump(std::atomic<std::uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
    std::array<std::atomic<std::uint64_t>, 16> requests_{};
    std::array<std::atomic<std::uint64_t>, 600> responses_{};
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Refusal::count_)> refused_{};
    std::atomic<std::uint64_t> parse_errors_{0}, auth_challenges_{0}, auth_failures_{0},
        auth_successes_{0}, calls_started_{0}, calls_answered_{0}, calls_failed_{0},
        stateless_forwards_{0}, registrations_{0}, fraud_warnings_{0};
};

}  // namespace sipproxy::proxy
