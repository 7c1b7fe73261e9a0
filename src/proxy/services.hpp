#pragma once
// What every worker's proxy shares: counters, the call events and the calls in progress,
// the current config snapshot, the registrar and its location store, gateway health, auth
// failure counts, the tokens that sign the paths the proxy creates, the refusal log.
// Owned by the daemon; outlives the workers.
#include <asio/ip/address.hpp>

#include <functional>
#include <memory>

#include "auth/failure_counters.hpp"
#include "auth/guess_limiter.hpp"
#include "auth/user_throttle.hpp"
#include "base/throttled_log.hpp"
#include "metrics/registry.hpp"
#include "proxy/call_events.hpp"
#include "proxy/call_log.hpp"
#include "proxy/call_metrics.hpp"
#include "proxy/fraud_call_listener.hpp"
#include "proxy/path_tokens.hpp"
#include "proxy/snapshot.hpp"
#include "proxy/stats.hpp"

namespace sipproxy::registrar {
class Registrar;
class LocationStore;
}  // namespace sipproxy::registrar
namespace sipproxy::routing {
class GatewayHealthTable;
}

namespace sipproxy::proxy {

struct Services {
    Services() {
        call_events.add(call_metrics);
        call_events.add(fraud_holds);
        call_events.add(call_log);
    }
    Services(const Services&) = delete;
    Services& operator=(const Services&) = delete;

    // What is counted, for /metrics and `show stats` alike: the proxy's families are
    // registered by Stats and CallMetrics, the daemon's (gauges, ingress, CDR) by the daemon.
    metrics::Registry metrics;
    Stats stats{metrics};
    // A call's life is told here once; it also holds the calls in progress (show calls),
    // `call_metrics` and `call_log` listen, and the daemon adds the CDR writer.
    CallEvents call_events;
    CallMetrics call_metrics{stats, metrics};
    // [[fraud]] counters: the pipeline's check_fraud_limits counts and refuses; every
    // call's end gives back its concurrent counts (fraud_holds listens).
    fraud::CallLimits fraud;
    ThrottledLog fraud_alerts;  // one line per scope, limit and level per 10 s
    FraudCallListener fraud_holds{fraud};
    CallLog call_log;  // one info line per finished call attempt
    SnapshotSource snapshots;
    auth::FailureCounters auth_failures;
    // Password guessing per source (configured from [security] auth_*), and how a source
    // that guessed too often is banned (set by the daemon: the ingress's ban table).
    auth::GuessLimiter guesses;
    std::function<void(const asio::ip::address& source, const std::string& note)> ban_guesser;
    // Password guessing per user name from many sources ([security] user_auth_failures).
    auth::UserThrottle user_throttle;
    ThrottledLog refusals;  // one line per source and reason per 10 s
    // Keyed by the node secret; the daemon replaces this random one before the workers
    // start (the secret must survive restarts: auth/node_secret.hpp).
    std::shared_ptr<const PathTokens> tokens =
        std::make_shared<const PathTokens>(auth::NodeSecret::random());
    registrar::LocationStore* location = nullptr;
    registrar::Registrar* registrar = nullptr;
    routing::GatewayHealthTable* gateways = nullptr;
};

}  // namespace sipproxy::proxy
