#pragma once
// OPTIONS health checks of the gateways that have `probe = true`: each is asked at its
// interval with a real non-INVITE client transaction (so timer F is the timeout), and
// the outcome feeds its GatewayHealth (failures_before_down / successes_before_up).
// A gateway named by a host name is alive when one of its RFC 3263 addresses answers.
// Runs on worker 0's event loop.
#include <asio/awaitable.hpp>

#include <memory>
#include <string>
#include <unordered_set>

#include "proxy/snapshot.hpp"
#include "routing/gateway_health.hpp"
#include "sip/uri.hpp"
#include "transport/peer.hpp"
#include "transaction/transaction_layer.hpp"

namespace sipproxy::daemon {

class GatewayProber {
public:
    GatewayProber(transaction::TransactionLayer& layer, routing::GatewayHealthTable& table);
    void start();
    void stop();

private:
    asio::awaitable<void> loop();
    asio::awaitable<void> probe(std::shared_ptr<routing::GatewayHealth> gw);
    // One OPTIONS to one address: its status (0: no answer) and reason or failure text.
    struct Outcome {
        int status;
        std::string reason;
    };
    asio::awaitable<Outcome> probe_one(const sip::Uri& uri, const transport::Peer& hop);

    transaction::TransactionLayer& layer_;
    routing::GatewayHealthTable& table_;
    std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
    std::unordered_set<std::string> in_flight_;  // gateways being probed now
};

}  // namespace sipproxy::daemon
