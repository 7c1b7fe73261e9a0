#pragma once
// The running daemon: the workers, the location store, gateway health and its prober,
// the control socket, the CDR writer, the metrics endpoint, signals (SIGTERM/SIGINT stop, SIGHUP reload) and reload itself.
// The main thread runs the control plane; the workers run SIP.
//
// One file per concern: daemon.cpp (life cycle), reload.cpp, housekeeping.cpp (timers),
// control_commands.cpp (the command table, status, show routes/gateways/calls),
// registration_commands.cpp, ban_commands.cpp, user_commands.cpp, daemon_metrics.cpp
// (show stats and /metrics).
#include <asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cdr/cdr_writer.hpp"
#include "config/config.hpp"
#include "control/control_server.hpp"
#include "daemon/gateway_prober.hpp"
#include "daemon/metrics_server.hpp"
#include "daemon/snapshot_builder.hpp"
#include "daemon/worker.hpp"
#include "ingress/admission.hpp"
#include "proxy/services.hpp"
#include "registrar/location_store.hpp"
#include "routing/gateway_health.hpp"
#include "trace/tracer.hpp"
#include "transport/response_steering.hpp"

namespace sipproxy::registrar {
class RedisLocationStore;
}

namespace sipproxy::daemon {

class Daemon {
public:
    // log_level overrides server.log_level (the -l flag).
    Daemon(std::shared_ptr<const config::Config> config, std::optional<std::string> log_level);
    ~Daemon();

    // Opens the store, the sockets and the control socket; throws std::runtime_error with
    // a message for the operator when something cannot be opened.
    void start();
    // Runs until SIGTERM/SIGINT. Returns the exit code.
    int run();

    // The control commands (also what SIGHUP calls for reload).
    nlohmann::json reload();

private:
    control::CommandTable commands();
    // The commands that answer only once the location store has the change on disk.
    control::AsyncCommandTable waiting_commands();
    // The commands that stream lines until the client closes (trace).
    control::StreamCommandTable stream_commands();
    nlohmann::json status() const;
    nlohmann::json show_registrations(const nlohmann::json& args) const;
    nlohmann::json show_routes() const;
    nlohmann::json show_gateways() const;
    nlohmann::json show_calls() const;
    nlohmann::json show_stats() const;
    nlohmann::json show_bans() const;
    nlohmann::json ban_add(const nlohmann::json& args);
    nlohmann::json ban_remove(const nlohmann::json& args);
    void schedule_ban_sweep();
    // Every 250 ms: requests on one worker while it keeps up, on all once it is busy.
    void schedule_spreading();
    void save_bans(bool force);
    void set_fair_shares(const config::Config& cfg);
    std::filesystem::path bans_file() const { return config_->server.state_dir / "bans"; }
    // The daemon's families in services_.metrics (daemon_metrics.cpp): once the workers exist.
    void register_metrics();
    // GET /metrics: the Prometheus text (daemon_metrics.cpp).
    std::string render_metrics() const;
    // Opens [metrics] listen (nothing when empty); throws std::runtime_error naming it.
    std::unique_ptr<MetricsServer> open_metrics(const config::Config& cfg);
    asio::awaitable<nlohmann::json> registration_add(nlohmann::json args);
    asio::awaitable<nlohmann::json> registration_remove(nlohmann::json args);
    void schedule_purge();
    // The users.db of `cfg`'s realm: the open one when the realm is the same, else a new
    // one (null without [auth]). Throws std::runtime_error naming the file.
    std::shared_ptr<auth::SubscriberStore> subscribers_for(const config::Config& cfg) const;
    void apply_log_level(const config::Config& cfg);
    // Cluster: nonce counts accepted here are published, and those of the other nodes
    // remembered (cluster_nonce_counts.cpp).
    void share_nonce_counts();
    // Cluster: bans, failed-auth scores and fraud counters shared (cluster_abuse.cpp).
    void share_abuse();
    void schedule_abuse_batch();
    void publish_abuse_batch();  // main thread
    void kick_abuse_batch();     // any thread: publish soon
    // Cluster: deletes an expired ban from Redis (if no other node banned it again since).
    void forget_shared_ban(const Cidr& network);

    std::shared_ptr<const config::Config> config_;
    // The config the daemon started with: what the restart-only keys still are (reload.cpp).
    std::shared_ptr<const config::Config> started_config_;
    std::optional<std::string> log_level_override_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    asio::io_context main_io_;
    cdr::CdrWriter cdr_;  // listens to services_.call_events: declared before it
    proxy::Services services_;
    ingress::Admission admission_;
    // Every worker's transaction layer: pending transactions per source and destination.
    std::shared_ptr<transaction::FairShares> shares_ = std::make_shared<transaction::FairShares>();
    std::unique_ptr<registrar::LocationStore> store_;
    registrar::RedisLocationStore* redis_store_ = nullptr;  // store_ when it is Redis
    routing::GatewayHealthTable gateways_;
    SnapshotInputs inputs_;  // inputs_.subscribers: users.db of the realm in force
    // Shared with the trace sessions of the control socket, which may outlive the workers.
    std::shared_ptr<trace::Tracer> tracer_ = std::make_shared<trace::Tracer>();
    // The TLS certificates and contexts in force, shared by the workers' transports.
    std::shared_ptr<transport::TlsStore> tls_ = std::make_shared<transport::TlsStore>();
    std::vector<std::unique_ptr<Worker>> workers_;
    std::unique_ptr<GatewayProber> prober_;
    std::unique_ptr<control::ControlServer> control_;
    // Sockets a reload moved control.socket to: opened at once, so `sipproxyctl -c FILE`
    // reaches the daemon; the first one (control_) stays until the next start.
    std::vector<std::pair<std::filesystem::path, std::unique_ptr<control::ControlServer>>>
        moved_control_;
    std::filesystem::path started_socket_;  // control_'s path
    std::unique_ptr<MetricsServer> metrics_;
    std::unique_ptr<asio::steady_timer> purge_timer_;
    std::unique_ptr<asio::steady_timer> ban_timer_;
    std::unique_ptr<asio::steady_timer> spread_timer_;
    std::unique_ptr<transport::RequestSpreading> spreading_;
    std::vector<std::chrono::nanoseconds> worker_cpu_;  // each worker's, at the last look
    std::chrono::steady_clock::time_point spread_looked_{};  // set with spreading_
    std::unique_ptr<asio::steady_timer> share_timer_;  // cluster: abuse counts every 20 ms
    std::chrono::steady_clock::time_point last_heartbeat_{};
    std::atomic<std::chrono::steady_clock::rep> last_abuse_batch_{0};
    std::atomic<bool> abuse_kicked_{false};
    std::atomic<std::uint64_t> shared_abuse_sent_{0};      // ban notices and count batches
    std::atomic<std::uint64_t> shared_abuse_received_{0};  // from the other nodes
};

}  // namespace sipproxy::daemon
