#include "daemon/gateway_prober.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>

#include "base/log.hpp"
#include "proxy/forwarder.hpp"
#include "transaction/mailbox.hpp"

namespace sipproxy::daemon {

namespace {

// Collects the one final response (or failure) of a probe's client transaction.
class ProbeSink : public transaction::ResponseSink {
public:
    explicit ProbeSink(const asio::any_io_executor& ex) : done(ex) {}
    void on_response(std::size_t, sip::Message r) override {
        if (r.status() >= 200) done.push({r.status(), std::string(r.reason())});
    }
    void on_failure(std::size_t, int status, std::string_view reason) override {
        done.push({-status, std::string(reason)});  // negative: no response at all
    }
    struct Outcome {
        int status;
        std::string reason;
    };
    transaction::Mailbox<Outcome> done;
};

}  // namespace

GatewayProber::GatewayProber(transaction::TransactionLayer& layer,
                             routing::GatewayHealthTable& table)
    : layer_(layer), table_(table) {}

void GatewayProber::start() {
    asio::co_spawn(layer_.executor(), loop(), asio::detached);
}

void GatewayProber::stop() { *stopped_ = true; }

asio::awaitable<void> GatewayProber::loop() {
    auto stopped = stopped_;
    while (!*stopped) {
        const auto now = routing::HealthClock::now();
        for (auto& gw : table_.probed()) {
            auto snap = gw->snapshot();
            if (snap.last_probe && now - *snap.last_probe < snap.probe_interval) continue;
            // One probe at a time per gateway, however slow it is to answer.
            if (!in_flight_.insert(gw->name()).second) continue;
            asio::co_spawn(layer_.executor(), probe(gw), asio::detached);
        }
        co_await transaction::sleep_for(std::chrono::seconds(1));
    }
}

asio::awaitable<void> GatewayProber::probe(std::shared_ptr<routing::GatewayHealth> gw) {
    struct Done {
        std::unordered_set<std::string>& set;
        std::string name;
        ~Done() { set.erase(name); }
    } done{in_flight_, gw->name()};
    auto snap = gw->snapshot();
    auto uri = sip::parse_uri(snap.uri);
    if (!uri) {
        gw->record_probe(false, routing::HealthClock::now(), "bad gateway URI");
        co_return;
    }
    auto hops = co_await proxy::resolve_next_hops(*uri, false, layer_.transport());
    if (!hops) {
        gw->record_probe(false, routing::HealthClock::now(), hops.error().reason);
        co_return;
    }
    // Calls fail over across the gateway's RFC 3263 candidates, so a probe does too: the
    // gateway is alive when one of its addresses answers.
    bool ok = false;
    std::string result = "no usable address";
    for (const auto& hop : *hops) {
        auto outcome = co_await probe_one(*uri, hop);
        ok = outcome.status > 0 && outcome.status < 500;
        result = outcome.status > 0 ? std::to_string(outcome.status) + " " + outcome.reason
                                    : outcome.reason;
        if (ok) break;
        log::debug("gateway {}: probe of {} failed ({})", gw->name(), hop.to_string(), result);
    }
    if (gw->record_probe(ok, routing::HealthClock::now(), result))
        log::warn("gateway {} is now {} ({})", gw->name(), routing::to_string(gw->state()),
                  gw->snapshot().last_result);
}

asio::awaitable<GatewayProber::Outcome> GatewayProber::probe_one(const sip::Uri& uri,
                                                                const transport::Peer& hop) {
    const auto* local = layer_.transport().local_for(hop.protocol, hop.address.is_v6());
    if (!local) co_return Outcome{0, "no listener for its transport"};
    const std::string branch = layer_.new_branch(0);
    const std::string tag = layer_.new_tag();
    std::string target(uri.raw);
    std::string req;
    req.reserve(512);
    req += "OPTIONS " + target + " SIP/2.0\r\n";
    req += "Via: SIP/2.0/" + std::string(transport::via_name(hop.protocol)) + " " +
           local->hostport() + ";branch=" + branch + "\r\n";
    req += "Max-Forwards: 70\r\n";
    req += "From: <sip:sipproxy@" + local->hostport() + ">;tag=" + tag + "\r\n";
    req += "To: <" + target + ">\r\n";
    req += "Call-ID: probe-" + tag + "@" + local->host + "\r\n";
    req += "CSeq: 1 OPTIONS\r\nUser-Agent: sipproxy\r\nContent-Length: 0\r\n\r\n";

    auto sink = std::make_shared<ProbeSink>(layer_.executor());
    layer_.start_client(hop, std::move(req), sip::Method::Options, branch, sink, 0);
    auto outcome = co_await sink->done.pop_for(std::chrono::seconds(64));
    if (!outcome) co_return Outcome{0, "timeout"};
    // Any answer but a server failure means the gateway is alive (a 404 or 405 to OPTIONS
    // still shows a working SIP stack); no answer at all is negative (408, 503).
    if (outcome->status < 0)
        co_return Outcome{0, std::to_string(-outcome->status) + " " + outcome->reason};
    co_return Outcome{outcome->status, outcome->reason};
}

}  // namespace sipproxy::daemon
