// What the daemon adds to the metrics registry (the proxy's counters are registered by
// proxy::Stats and proxy::CallMetrics), and its two readers: GET /metrics and `sipproxyctl
// show stats`. Both iterate the same registry, so they cannot disagree.
//
// To add a gauge or a counter kept by another part (the ingress, the CDR writer, the
// transport): one registration in register_metrics() with its Prometheus name, help, labels
// and `show stats` name.
#include <asio/ip/address.hpp>

#include <cmath>

#include "base/log.hpp"
#include "daemon/daemon.hpp"
#include "registrar/redis_location_store.hpp"
#include "metrics/exposition.hpp"
#include "metrics/process.hpp"
#include "transport/connection_directory.hpp"

namespace sipproxy::daemon {

using nlohmann::json;
using metrics::Family;
using metrics::MetricType;

namespace {

double number(std::uint64_t v) { return static_cast<double>(v); }
template <typename T>
double number(const std::atomic<T>& c) {
    return static_cast<double>(c.load(std::memory_order_relaxed));
}

}  // namespace

void Daemon::register_metrics() {
    auto& r = services_.metrics;
    auto sum = [this](auto of) {
        return [this, of]() {
            double total = 0;
            for (const auto& w : workers_) total += static_cast<double>(of(*w));
            return total;
        };
    };

    r.counter_from("sipproxy_cdr_written_total", "Call records written to the CDR file.",
                   "cdr.written", [this] { return number(cdr_.written()); });
    r.counter_from("sipproxy_cdr_dropped_total",
                   "Call records lost (queue full or CDR file not writable).", "cdr.dropped",
                   [this] { return number(cdr_.dropped()); });
    r.counter_from("sipproxy_worker_exceptions_total",
                   "Exceptions caught on the worker threads (never expected).",
                   "workers.exceptions", sum([](Worker& w) { return w.failures(); }));
    r.gauge_from("sipproxy_calls_active", "Calls in progress (from INVITE to the BYE's 200).",
                 "calls.active", [this] { return number(services_.call_events.active()); });
    r.gauge_from("sipproxy_registrar_bindings", "Registered contacts.", "registrar.bindings",
                 [this] { return number(store_->count()); });
    r.gauge_from("sipproxy_registrar_aors", "Addresses of record with a registered contact.",
                 "registrar.aors", [this] { return number(store_->aor_count()); });
    if (redis_store_) {
        r.gauge_from("sipproxy_location_store_up",
                     "1 when the shared location store (Redis) is reachable, else 0.",
                     "store.up", [this] { return redis_store_->health().connected ? 1.0 : 0.0; });
        r.counter_from("sipproxy_location_store_write_failures_total",
                       "Location store changes refused or undone (store unreachable or failing).",
                       "store.write_failures",
                       [this] { return number(redis_store_->health().write_failures); });
        r.counter_from("sipproxy_cluster_abuse_notices_sent_total",
                       "Ban notices and batches of failure and call counts sent to the other nodes.",
                       "cluster.abuse_sent", [this] { return number(shared_abuse_sent_.load()); });
        r.counter_from("sipproxy_cluster_abuse_notices_received_total",
                       "Ban notices and batches of failure and call counts applied from other nodes.",
                       "cluster.abuse_received",
                       [this] { return number(shared_abuse_received_.load()); });
    }
    r.gauge_from("sipproxy_transactions_active", "Live SIP transactions.", "transactions.active",
                 sum([](Worker& w) { return w.layer().live(); }));
    // One count shared by every worker's layer: read from the first.
    r.gauge_from("sipproxy_transactions_pending",
                 "Transactions whose request is still being processed.", "transactions.pending",
                 [this] { return workers_.empty() ? 0.0 : number(workers_.front()->layer().pending()); });

    // Fair shares of the transaction table (shared by the workers).
    r.gauge_from("sipproxy_transactions_lingering",
                 "Finished transactions kept to absorb retransmissions (bounded by max_transactions).",
                 "transactions.lingering", [this] { return number(shares_->lingering); });
    r.counter_from("sipproxy_transactions_linger_cut_total",
                   "Finished transactions that ended at once: the lingering bound was reached.",
                   "transactions.linger_cut", [this] { return number(shares_->linger_cut); });

    // Transports. The connection table is shared by the workers: read from the first.
    auto open = [this](transport::Protocol p) {
        return workers_.empty() ? 0.0 : number(workers_.front()->transport().directory()->size(p));
    };
    r.gauge_from("sipproxy_connections_open", "Open SIP connections, by transport.",
                 {"transport"},
                 {{{{"tcp"}, "tcp.connections"}, [open] { return open(transport::Protocol::Tcp); }},
                  {{{"tls"}, "tls.connections"}, [open] { return open(transport::Protocol::Tls); }}});
    r.counter_from("sipproxy_tcp_accept_failures_total", "TCP accepts that failed.",
                   "tcp.accept_failures",
                   sum([](Worker& w) { return w.transport().accept_failures(); }));
    r.counter_from("sipproxy_tls_handshake_failures_total",
                   "Inbound TLS connections closed because their handshake failed or timed out.",
                   "tls.handshake_failures",
                   sum([](Worker& w) { return w.transport().handshake_failures(); }));
    // The soonest expiry among the certificates served (status lists each one).
    r.gauge_from("sipproxy_tls_certificate_expiry_seconds",
                 "Seconds until the first of the served TLS certificates expires (-1: none).",
                 "tls.certificate_expiry_s", [this] {
                     auto tls = tls_->get();
                     if (!tls) return -1.0;
                     double soonest = -1.0;
                     const auto now = std::chrono::system_clock::now();
                     for (const auto& c : transport::certificates_of(*tls)) {
                         // Whole seconds: `show stats` keeps it an integer.
                         const double left = std::floor(
                             std::chrono::duration<double>(c.not_after - now).count());
                         if (soonest < 0 || left < soonest) soonest = left;
                     }
                     return soonest;
                 });
    // Each served certificate's expiry, as Prometheus exporters give it (an alert compares
    // it with time()); the set changes with reload, so it is collected at scrape.
    r.families_from([this] {
        Family f{"sipproxy_tls_certificate_not_after_timestamp_seconds",
                 "When each served TLS certificate expires (Unix time), by SNI name (empty: "
                 "the default certificate) and file.",
                 MetricType::Gauge,
                 {},
                 {}};
        if (auto tls = tls_->get())
            for (const auto& c : transport::certificates_of(*tls))
                f.samples.push_back(
                    {{{"sni", c.name}, {"file", c.file}},
                     std::floor(std::chrono::duration<double>(c.not_after.time_since_epoch())
                                    .count())});
        std::vector<Family> out;
        if (!f.samples.empty()) out.push_back(std::move(f));
        return out;
    });
    r.counter_from("sipproxy_tcp_message_timeouts_total",
                   "TCP connections closed for a message not completed in time.",
                   "tcp.message_timeouts",
                   sum([](Worker& w) { return w.transport().message_timeouts(); }));

    // Abuse protection (the ingress): what it dropped, by reason, and the bans.
    const auto& c = admission_.counters();
    auto blocked = [&c](const char* reason, const std::atomic<std::uint64_t>& n) {
        return metrics::Registry::ReadSeries{{{reason}, std::string("blocked.") + reason},
                                             [&n] { return number(n); }};
    };
    r.counter_from("sipproxy_blocked_total",
                   "Messages and connections dropped by the ingress, by reason.", {"reason"},
                   {blocked("flood", c.flood), blocked("banned", c.banned), blocked("deny", c.deny),
                    blocked("scanner", c.scanner), blocked("connections", c.connections),
                    {{{"pending_per_source"}, "blocked.pending_per_source"},
                     [this] { return number(shares_->refused_source); }},
                    {{{"pending_per_destination"}, "blocked.pending_per_destination"},
                     [this] { return number(shares_->refused_destination); }}});
    r.counter_from("sipproxy_bans_added_total", "Sources banned (any reason).", "bans.added",
                   [&c] { return number(c.bans); });
    r.gauge_from("sipproxy_bans_active", "Sources banned now.", "bans.active",
                 [this] { return number(admission_.bans().size()); });

    r.families_from([] {
        auto out = metrics::process_families();
        out.push_back(Family{"sipproxy_build_info",
                             "sipproxyd build: version.",
                             MetricType::Gauge,
                             {{{{"version", SIPPROXY_VERSION}}, 1}},
                             {}});
        return out;
    });
}

std::unique_ptr<MetricsServer> Daemon::open_metrics(const config::Config& cfg) {
    if (cfg.metrics.listen.empty()) return nullptr;
    asio::error_code ec;
    const auto address = asio::ip::make_address(cfg.metrics.host, ec);
    if (ec) throw std::runtime_error("metrics.listen: bad address " + cfg.metrics.listen);
    try {
        auto server = std::make_unique<MetricsServer>(
            main_io_, asio::ip::tcp::endpoint(address, cfg.metrics.port),
            [this]() { return render_metrics(); });
        log::info("metrics at http://{}/metrics", cfg.metrics.listen);
        return server;
    } catch (const std::system_error& e) {
        throw std::runtime_error("cannot listen on metrics.listen " + cfg.metrics.listen + ": " +
                                 e.code().message());
    }
}

std::string Daemon::render_metrics() const {
    return metrics::render(services_.metrics.collect());
}

json Daemon::show_stats() const {
    json stats = json::object();
    for (const auto& [name, v] : services_.metrics.json_values()) {
        // Counts stay JSON integers; only sums of seconds have a fraction.
        if (v >= 0 && v == std::floor(v) && v < 9.0e15)
            stats[name] = static_cast<std::uint64_t>(v);
        else if (v == std::floor(v) && v > -9.0e15)
            stats[name] = static_cast<std::int64_t>(v);  // -1: "none" (tls.certificate_expiry_s)
        else
            stats[name] = v;
    }
    return {{"stats", stats}};
}

}  // namespace sipproxy::daemon
