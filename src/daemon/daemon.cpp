// The daemon's life cycle: start (store, secret, workers, listeners), run until a signal
// (SIGTERM/SIGINT stop, SIGHUP reload), stop. Reload, the control commands, housekeeping
// and the metrics live in their own files.
#include "daemon/daemon.hpp"

#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <stdexcept>
#include <thread>

#include "auth/node_secret.hpp"
#include "base/log.hpp"
#include "daemon/security_policy.hpp"
#include "daemon/trace_command.hpp"
#include "proxy/registration_log.hpp"
#include "registrar/memory_location_store.hpp"
#include "registrar/redis_location_store.hpp"
#include "registrar/sqlite_location_store.hpp"
#include "transport/dns_resolver.hpp"

namespace sipproxy::daemon {

using nlohmann::json;

Daemon::Daemon(std::shared_ptr<const config::Config> config, std::optional<std::string> log_level)
    : config_(std::move(config)), log_level_override_(std::move(log_level)) {}

Daemon::~Daemon() {
    if (prober_) prober_->stop();
    for (auto& w : workers_) w->stop();
    services_.call_events.shutdown();
    cdr_.stop();
    // The resolver goes while every worker's io_context still exists (its pending
    // lookups complete onto them).
    for (auto& w : workers_) w->transport().set_resolver(nullptr);
    if (store_) store_->flush();
    // The Redis store's threads call into the ban table and the workers (cluster notices):
    // joined here, while everything they reach still exists.
    if (redis_store_) {
        redis_store_ = nullptr;
        store_.reset();
    }
}

void Daemon::apply_log_level(const config::Config& cfg) {
    log::set_level(log_level_override_ ? *log_level_override_ : cfg.server.log_level);
    log::set_syslog(cfg.server.log_syslog, cfg.server.syslog_facility);
}

void Daemon::start() {
    const auto& cfg = *config_;
    started_config_ = config_;
    apply_log_level(cfg);

    std::error_code ec;
    std::filesystem::create_directories(cfg.server.state_dir, ec);
    if (ec)
        throw std::runtime_error("cannot create state_dir " + cfg.server.state_dir.string() +
                                 ": " + ec.message());
    if (cfg.registrar.store == "memory") {
        store_ = std::make_unique<registrar::MemoryLocationStore>();
    } else if (cfg.registrar.store == "redis") {
        registrar::RedisStoreOptions o;
        o.host = cfg.redis.host;
        o.port = cfg.redis.port;
        o.db = cfg.redis.db;
        o.password = cfg.redis.password;
        for (const auto& a : cfg.redis.sentinel_addresses) o.sentinels.emplace_back(a.host, a.port);
        o.sentinel_master = cfg.redis.sentinel_master;
        o.sentinel_password = cfg.redis.sentinel_password;
        o.connect_timeout = cfg.redis.connect_timeout;
        o.command_timeout = cfg.redis.command_timeout;
        o.node_id = cfg.server.node_id;
        o.topics = {"nc", "ban", "abuse"};
        auto s = registrar::RedisLocationStore::open(std::move(o));
        if (!s) throw std::runtime_error(s.error());
        redis_store_ = s.value().get();
        log::info("location store {} (node {}): {} bindings loaded", redis_store_->url(),
                  cfg.server.node_id, s.value()->count());
        store_ = std::move(s.value());
    } else {
        const auto path = cfg.server.state_dir / "location.sqlite";
        auto s = registrar::SqliteLocationStore::open(path);
        if (!s) throw std::runtime_error(s.error());
        store_ = std::move(s.value());
        log::info("location store {}: {} bindings loaded", path.string(), store_->count());
    }
    services_.location = store_.get();
    inputs_.location = store_.get();
    inputs_.subscribers = subscribers_for(cfg);

    // The node secret signs the Record-Route and Via tokens; from a file so that calls
    // set up before a restart still end through the new process.
    std::string secret_warning;
    auto secret = auth::load_or_create_node_secret(cfg.security.secret_file, &secret_warning);
    if (!secret) throw std::runtime_error(secret.error());
    if (!secret_warning.empty()) log::warn("{}", secret_warning);
    services_.tokens = std::make_shared<const proxy::PathTokens>(*secret);

    if (redis_store_) {
        // One nonce secret for the cluster: a challenge from one node verifies at another.
        if (const auto& shared = redis_store_->nonce_secret(); shared.size() == inputs_.secret.bytes.size())
            std::copy(shared.begin(), shared.end(), inputs_.secret.bytes.begin());
        else
            log::warn("location store {}: no shared nonce secret (Redis unreachable at start): "
                      "challenges are answerable at this node only", redis_store_->url());
    }
    auto snap = build_snapshot(config_, inputs_);
    if (!snap) throw std::runtime_error(snap.error());
    if (redis_store_ && inputs_.nonce_counts) share_nonce_counts();
    services_.snapshots.publish(*snap);
    gateways_.sync(gateway_specs(cfg));
    services_.gateways = &gateways_;
    for (const auto& w : cfg.warnings) log::warn("{}: {}", cfg.file.string(), w);
    // Before the first worker runs: every call's record reaches the writer.
    services_.call_events.add(cdr_);
    cdr_.open(cfg.cdr.path);
    if (!cfg.cdr.path.empty()) log::info("call records to {}", cfg.cdr.path.string());
    metrics_ = open_metrics(cfg);

    unsigned n = cfg.server.workers ? cfg.server.workers : std::max(1u, std::thread::hardware_concurrency());
    transport::TransportOptions to;
    to.tcp_idle_timeout = cfg.tcp.idle_timeout;
    to.max_connections = cfg.tcp.max_connections;
    to.limits.max_message_size = cfg.server.max_message_size;
    to.message_timeout = cfg.security.message_timeout;
    to.websocket.allowed_origins = cfg.websocket.allowed_origins;
    to.websocket.keepalive = cfg.websocket.keepalive;
    to.handshake_timeout = cfg.tls.handshake_timeout;
    // Always: outbound TLS (sips: next hops) needs the client side even without [tls].
    auto tls = transport::load_tls(tls_settings(cfg));
    if (!tls) throw std::runtime_error(cfg.file.string() + ": " + tls.error());
    tls_->set(*tls);
    for (const auto& c : transport::certificates_of(**tls))
        log::info("tls: certificate {}{} ({}) valid until {}", c.file,
                  c.name.empty() ? "" : " for " + c.name, c.subject, transport::utc_text(c.not_after));

    admission_.set_policy(security_policy(cfg));
    services_.guesses.configure(cfg.security.auth_failures, cfg.security.auth_window,
                                cfg.security.auth_ban_time);
    // A source that guesses passwords too often is banned like a flooder: the ingress then
    // drops it before any digest is computed.
    services_.ban_guesser = [this](const asio::ip::address& source, const std::string& note) {
        ingress::BanTable::Request r;
        r.network = source_cidr(transport::address_key(source));
        r.reason = "auth";
        r.note = note;
        r.duration = services_.guesses.ban_time();
        admission_.bans().add(r);
    };
    if (auto loaded = admission_.bans().load(bans_file()); !loaded)
        log::error("bans: {}", loaded.error());
    else if (*loaded)
        log::info("bans: {} loaded from {}", *loaded, bans_file().string());
    transaction::LayerOptions lo;
    lo.timers.t1 = cfg.transaction.t1;
    lo.timers.t2 = cfg.transaction.t2;
    lo.timers.t4 = cfg.transaction.t4;
    lo.max_transactions = cfg.transaction.max_transactions;
    lo.pending = std::make_shared<std::atomic<std::size_t>>(0);
    lo.shares = shares_;
    set_fair_shares(cfg);
    for (unsigned i = 0; i < n; ++i)
        workers_.push_back(
            std::make_unique<Worker>(i, locals_of(cfg), to, lo, services_, admission_));
    std::vector<Worker*> all;
    for (auto& w : workers_) all.push_back(w.get());
    for (auto& w : workers_) w->link(all);
    for (auto& w : workers_) w->transport().set_tracer(tracer_.get());
    for (auto& w : workers_) w->transport().set_tls(tls_);
    register_metrics();
    // One DNS resolver thread for the process (RFC 3263 next hops), from resolv.conf.
    auto dns = std::make_shared<transport::DnsResolver>();
    for (auto& w : workers_) w->transport().set_resolver(dns);
    for (auto& w : workers_) {
        try {
            w->open();
        } catch (const std::system_error& e) {
            throw std::runtime_error("cannot listen on " + std::string(e.what()));
        }
    }
    // RFC 5626 flow failure: bindings that could only be reached over a closed
    // connection are dropped.
    for (auto& w : workers_) {
        w->transport().on_connection_closed([this](std::uint64_t flow) {
            auto snap = services_.snapshots.get();
            if (snap && snap->registrar)
                snap->registrar->flow_failed(flow, std::chrono::system_clock::now(),
                                             [](const registrar::Binding& b) {
                                                 log::info("{}", proxy::registration_log_line(
                                                                     "removed", b, 0, proxy::binding_source(b),
                                                                     b.user_agent, "connection"));
                                             });
        });
    }
    // A ban closes the source's TCP connections on every worker.
    admission_.bans().on_ban([this](const ingress::Ban& b) {
        for (auto& w : workers_) {
            Worker* worker = w.get();
            asio::post(worker->io(), [worker, network = b.network]() {
                worker->transport().close_connections_from(network);
            });
        }
    });
    // Cluster: bans and limits hold for every node (replaces the on_ban above with one
    // that also tells the other nodes).
    if (redis_store_) share_abuse();
    for (auto& w : workers_) w->start();

    prober_ = std::make_unique<GatewayProber>(workers_.front()->layer(), gateways_);
    asio::post(workers_.front()->io(), [this]() { prober_->start(); });

    started_socket_ = cfg.control.socket;
    control_ = std::make_unique<control::ControlServer>(main_io_, cfg.control.socket, commands(),
                                                        control::ControlLimits{},
                                                        waiting_commands(), stream_commands());
    std::string listening;
    for (const auto& l : cfg.server.listen) listening += (listening.empty() ? "" : ", ") + l.text;
    log::info("sipproxyd {} started: {} worker(s), listening on {}, control socket {}",
              SIPPROXY_VERSION, n, listening, cfg.control.socket.string());
}

int Daemon::run() {
    asio::signal_set signals(main_io_, SIGINT, SIGTERM, SIGHUP);
    std::function<void(const asio::error_code&, int)> on_signal;
    on_signal = [&](const asio::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
            try {
                log::info("SIGHUP: reloading {}", config_->file.string());
                reload();
            } catch (const std::exception& e) {
                log::error("reload (SIGHUP) failed, keeping the running config: {}", e.what());
            }
            signals.async_wait(on_signal);
            return;
        }
        log::info("signal {}: stopping", sig);
        if (control_) control_->stop();
        for (auto& m : moved_control_) m.second->stop();
        if (metrics_) metrics_->stop();
        purge_timer_->cancel();
        ban_timer_->cancel();
        if (spread_timer_) spread_timer_->cancel();
        if (share_timer_) share_timer_->cancel();
        main_io_.stop();
    };
    signals.async_wait(on_signal);
    purge_timer_ = std::make_unique<asio::steady_timer>(main_io_);
    schedule_purge();
    ban_timer_ = std::make_unique<asio::steady_timer>(main_io_);
    schedule_ban_sweep();
    if (workers_.size() > 1) {
        spread_timer_ = std::make_unique<asio::steady_timer>(main_io_);
        spreading_ = std::make_unique<transport::RequestSpreading>(
            static_cast<unsigned>(workers_.size()));
        spread_looked_ = std::chrono::steady_clock::now();
        for (auto& w : workers_) worker_cpu_.push_back(w->cpu_time());
        schedule_spreading();
    }
    main_io_.run();

    if (prober_) prober_->stop();
    for (auto& w : workers_) w->stop();
    // Calls still up get their record (ended_by shutdown), written before we exit.
    services_.call_events.shutdown();
    cdr_.stop();
    if (store_ && !store_->flush()) log::error("location store: pending writes could not be saved");
    save_bans(true);  // with their hit counts
    log::info("stopped");
    return 0;
}

std::shared_ptr<auth::SubscriberStore> Daemon::subscribers_for(const config::Config& cfg) const {
    if (!cfg.auth) return nullptr;
    if (inputs_.subscribers && inputs_.subscribers->realm() == cfg.auth->realm)
        return inputs_.subscribers;
    const auto path = cfg.server.state_dir / "users.db";
    auto s = auth::SubscriberStore::open(path, cfg.auth->realm);
    if (!s) throw std::runtime_error(s.error());
    log::info("user database {}: {} users of realm {}", path.string(), (*s)->size(),
              cfg.auth->realm);
    if ((*s)->other_realm())
        log::warn("user database {}: {} users of another realm are left out (their HA1s "
                  "were made with it)",
                  path.string(), (*s)->other_realm());
    return std::shared_ptr<auth::SubscriberStore>(std::move(s.value()));
}

}  // namespace sipproxy::daemon
