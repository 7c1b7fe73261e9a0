#include "daemon/daemon.hpp"

#include <asio/co_spawn.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <asio/detached.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <limits>
#include <set>
#include <stdexcept>
#include <thread>

#include "auth/node_secret.hpp"
#include "daemon/user_commands.hpp"
#include "daemon/limit_commands.hpp"
#include "daemon/reload_answer.hpp"
#include "base/log.hpp"
#include "daemon/security_policy.hpp"
#include "daemon/trace_command.hpp"
#include "proxy/pending_commit.hpp"
#include "proxy/registration_log.hpp"
#include "registrar/memory_location_store.hpp"
#include "registrar/registrar.hpp"
#include "registrar/sqlite_location_store.hpp"
#include "transport/dns_resolver.hpp"

// jemalloc's control entry point when sipproxyd is linked with it (null otherwise).
extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp,
                       std::size_t newlen) __attribute__((weak));

namespace sipproxy::daemon {

using nlohmann::json;

namespace {

std::string aor_argument(std::string s) {
    if (s.rfind("sip:", 0) == 0) s = s.substr(4);
    if (s.find('@') == std::string::npos)
        throw control::CommandError("AOR must be user@domain, got '" + s + "'");
    return registrar::canonical_aor(s);
}

// JSON answers say "none" with null, never with "" (sipproxyctl(8), JSON OUTPUT).
json text_or_null(const std::string& s) {
    if (s.empty()) return nullptr;
    return s;
}

std::string iso8601(std::chrono::steady_clock::time_point t) {
    const auto wall = std::chrono::system_clock::now() -
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(
                          std::chrono::steady_clock::now() - t);
    std::time_t tt = std::chrono::system_clock::to_time_t(wall);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// Whether a listener could be opened, as the workers will (SO_REUSEPORT); the error names
// the address.
std::optional<std::string> try_bind(const transport::Local& l) {
    asio::io_context io;
    asio::error_code ec;
    int one = 1;
    const std::string name = std::string(transport::uri_name(l.protocol)) + "://" + l.hostport();
    if (l.protocol == transport::Protocol::Udp) {
        asio::ip::udp::socket s(io);
        asio::ip::udp::endpoint ep(l.address, l.port);
        s.open(ep.protocol(), ec);
        if (!ec) ::setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (!ec) s.bind(ep, ec);
    } else {
        asio::ip::tcp::acceptor a(io);
        asio::ip::tcp::endpoint ep(l.address, l.port);
        a.open(ep.protocol(), ec);
        if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) ::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (!ec) a.bind(ep, ec);
    }
    if (ec) return "cannot listen on " + name + ": " + ec.message();
    return std::nullopt;
}

}  // namespace

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
}

void Daemon::apply_log_level(const config::Config& cfg) {
    log::set_level(log_level_override_ ? *log_level_override_ : cfg.server.log_level);
    log::set_syslog(cfg.server.log_syslog, cfg.server.syslog_facility);
}

void Daemon::start() {
    const auto& cfg = *config_;
    apply_log_level(cfg);

    std::error_code ec;
    std::filesystem::create_directories(cfg.server.state_dir, ec);
    if (ec)
        throw std::runtime_error("cannot create state_dir " + cfg.server.state_dir.string() +
                                 ": " + ec.message());
    if (cfg.registrar.store == "memory") {
        store_ = std::make_unique<registrar::MemoryLocationStore>();
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

    auto snap = build_snapshot(config_, inputs_);
    if (!snap) throw std::runtime_error(snap.error());
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
    admission_.bans().on_ban([this](const Cidr& network) {
        for (auto& w : workers_) {
            Worker* worker = w.get();
            asio::post(worker->io(), [worker, network]() {
                worker->transport().close_connections_from(network);
            });
        }
    });
    for (auto& w : workers_) w->start();

    prober_ = std::make_unique<GatewayProber>(workers_.front()->layer(), gateways_);
    asio::post(workers_.front()->io(), [this]() { prober_->start(); });

    started_socket_ = cfg.control.socket;
    control_ = std::make_unique<control::ControlServer>(main_io_, cfg.control.socket, commands(),
                                                        control::ControlLimits{},
                                                        waiting_commands(),
                                                        control::StreamCommandTable{
                                                            {"trace", trace_command(tracer_, main_io_)}});
    std::string listening;
    for (const auto& l : cfg.server.listen) listening += (listening.empty() ? "" : ", ") + l.text;
    log::info("sipproxyd {} started: {} worker(s), listening on {}, control socket {}",
              SIPPROXY_VERSION, n, listening, cfg.control.socket.string());
}

void Daemon::schedule_purge() {
    purge_timer_->expires_after(std::chrono::seconds(30));
    purge_timer_->async_wait([this](const asio::error_code& ec) {
        if (ec) return;
        const auto removed = store_->purge_expired(
            std::chrono::system_clock::now(),
            [](const registrar::Binding& b) { log::info("{}", proxy::expired_line(b)); });
        if (removed) log::debug("registrar: {} expired bindings purged", removed);
        if (auto n = services_.call_events.expire(std::chrono::steady_clock::now(),
                                                  config_->cdr.max_call_duration))
            log::info("{} call(s) without a BYE ended after cdr.max_call_duration", n);
        // Give memory freed after a load peak back to the system: jemalloc (the release
        // build's allocator) purges its dirty pages at once instead of over its decay
        // time; glibc (sanitizer builds) would keep them in its per-thread arenas.
        if (mallctl) mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);  // all arenas
        else ::malloc_trim(0);
        schedule_purge();
    });
}

// Applied at start and by every reload (for the transactions to come).
void Daemon::set_fair_shares(const config::Config& cfg) {
    shares_->max_per_source.store(cfg.security.max_pending_per_source, std::memory_order_relaxed);
    shares_->max_per_destination.store(cfg.security.max_pending_per_destination,
                                       std::memory_order_relaxed);
}

void Daemon::save_bans(bool force) {
    if (auto saved = admission_.bans().save(bans_file(), force); !saved)
        log::error("bans: {}", saved.error());
}

// Bans end on time, and reach the disk within a second of a change.
void Daemon::schedule_ban_sweep() {
    ban_timer_->expires_after(std::chrono::seconds(1));
    ban_timer_->async_wait([this](const asio::error_code& ec) {
        if (ec) return;
        admission_.bans().expire();
        save_bans(false);
        schedule_ban_sweep();
    });
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
        main_io_.stop();
    };
    signals.async_wait(on_signal);
    purge_timer_ = std::make_unique<asio::steady_timer>(main_io_);
    schedule_purge();
    ban_timer_ = std::make_unique<asio::steady_timer>(main_io_);
    schedule_ban_sweep();
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

json Daemon::reload() {
    auto loaded = config::load_file(config_->file);
    if (!loaded) throw control::CommandError(loaded.error().to_string());
    auto next = loaded.value();
    // A new realm needs the users of that realm (built aside; kept only if all is well).
    SnapshotInputs inputs = inputs_;
    try {
        inputs.subscribers = subscribers_for(*next);
    } catch (const std::exception& e) {
        throw control::CommandError(e.what());
    }
    auto snap = build_snapshot(next, inputs);
    if (!snap) throw control::CommandError(config_->file.string() + ": " + snap.error());
    const auto changes = config::changes(*config_, *next);
    // New listeners must be bindable before anything changes (SO_REUSEPORT lets the
    // test bind succeed next to our own sockets, and fail next to somebody else's).
    const auto new_locals = locals_of(*next);
    for (const auto& l : new_locals) {
        if (auto err = try_bind(l)) throw control::CommandError(*err);
    }
    // control.socket moved: the new socket opens now (before anything changes: another
    // daemon may answer there), the old one stays for scripts that name it until restart.
    std::unique_ptr<control::ControlServer> moved_control;
    const auto& socket = next->control.socket;
    if (socket != started_socket_ &&
        std::none_of(moved_control_.begin(), moved_control_.end(),
                     [&](const auto& m) { return m.first == socket; })) {
        try {
            moved_control = std::make_unique<control::ControlServer>(
                main_io_, socket, commands(), control::ControlLimits{}, waiting_commands());
        } catch (const std::exception& e) {
            throw control::CommandError(e.what());
        }
    }
    std::unique_ptr<MetricsServer> metrics;
    const bool metrics_moved = next->metrics.listen != config_->metrics.listen;
    if (metrics_moved) {
        if (metrics_) metrics_->stop();  // the new address may be the old one's port
        try {
            metrics = open_metrics(*next);
        } catch (const std::exception& e) {
            try {
                metrics_ = open_metrics(*config_);  // back to what ran
            } catch (const std::exception& again) {
                log::error("metrics endpoint closed: {}", again.what());
            }
            throw control::CommandError(e.what());
        }
    }
    services_.snapshots.publish(*snap);
    inputs_ = std::move(inputs);
    admission_.set_policy(security_policy(*next));
    set_fair_shares(*next);
    services_.guesses.configure(next->security.auth_failures, next->security.auth_window,
                                next->security.auth_ban_time);
    const auto message_timeout = next->security.message_timeout;
    if (metrics_moved) metrics_ = std::move(metrics);
    if (moved_control) {
        log::info("control: also listening on {} (control.socket; {} stays until the next start)",
                  socket.string(), started_socket_.string());
        moved_control_.emplace_back(socket, std::move(moved_control));
    }
    // Reopened at every reload (and SIGHUP): logrotate moves the file away first.
    cdr_.open(next->cdr.path);
    for (auto& w : workers_) {
        Worker* worker = w.get();
        asio::post(worker->io(), [worker, new_locals, message_timeout]() {
            worker->transport().reconfigure(new_locals);
            worker->transport().set_message_timeout(message_timeout);
        });
    }
    gateways_.sync(gateway_specs(*next));
    apply_log_level(*next);
    for (const auto& w : next->warnings) log::warn("{}: {}", next->file.string(), w);
    config_ = next;
    for (const auto& c : changes) log::info("reload: {}", c.text);
    if (changes.empty()) log::info("reload: no change");
    return reload_answer(changes);
}

control::CommandTable Daemon::commands() {
    control::CommandTable t;
    t["status"] = [this](const json&) { return status(); };
    t["show_registrations"] = [this](const json& a) { return show_registrations(a); };
    t["show_routes"] = [this](const json&) { return show_routes(); };
    t["show_gateways"] = [this](const json&) { return show_gateways(); };
    t["show_calls"] = [this](const json&) { return show_calls(); };
    t["show_stats"] = [this](const json&) { return show_stats(); };
    t["reload"] = [this](const json&) {
        log::info("reload (sipproxyctl): reloading {}", config_->file.string());
        try {
            return reload();
        } catch (const std::exception& e) {
            // As for SIGHUP: the operator's log says why nothing changed.
            log::error("reload (sipproxyctl) failed, keeping the running config: {}", e.what());
            throw;
        }
    };
    add_user_commands(t, {[this] { return config_; }, [this] { return inputs_.subscribers; }});
    add_limit_commands(t, {[this] { return config_; }, &services_.fraud});
    t["show_bans"] = [this](const json&) { return show_bans(); };
    t["ban_add"] = [this](const json& a) { return ban_add(a); };
    t["ban_remove"] = [this](const json& a) { return ban_remove(a); };
    t["call_end"] = [this](const json& a) {
        auto call_id = control::required_string(a, "call_id");
        const auto n = services_.call_events.end_by_operator(call_id, std::chrono::steady_clock::now());
        if (n == 0) throw control::CommandError("no call with Call-ID '" + call_id + "'");
        log::info("call {} ended by the operator (no BYE sent)", call_id);
        return json{{"ended", n}};
    };
    t["gateway_enable"] = [this](const json& a) {
        auto name = control::required_string(a, "name");
        if (!gateways_.enable(name)) throw control::CommandError("no gateway named '" + name + "'");
        log::info("gateway {} enabled by the operator", name);
        return json::object();
    };
    t["gateway_disable"] = [this](const json& a) {
        auto name = control::required_string(a, "name");
        if (!gateways_.disable(name)) throw control::CommandError("no gateway named '" + name + "'");
        log::info("gateway {} disabled by the operator", name);
        return json::object();
    };
    return t;
}

control::AsyncCommandTable Daemon::waiting_commands() {
    control::AsyncCommandTable t;
    t["registration_add"] = [this](json a) { return registration_add(std::move(a)); };
    t["registration_remove"] = [this](json a) { return registration_remove(std::move(a)); };
    return t;
}

json Daemon::status() const {
    json r;
    r["version"] = SIPPROXY_VERSION;
    r["pid"] = static_cast<long>(::getpid());
    r["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::steady_clock::now() - started_)
                        .count();
    r["config_file"] = config_->file.string();
    r["workers"] = workers_.size();
    r["auth_enabled"] = config_->auth.has_value();
    json listeners = json::array();
    for (const auto& l : config_->server.listen) listeners.push_back(l.text);
    r["listeners"] = listeners;
    std::size_t transactions = 0;
    for (const auto& w : workers_) transactions += w->layer().live();
    r["counts"] = {{"registrations", store_->aor_count()},
                   {"bindings", store_->count()},
                   {"transactions", transactions},
                   {"calls", services_.call_events.active()}};
    return r;
}

json Daemon::show_registrations(const json& args) const {
    // Without `aor` the listing pages by AOR: `limit` AORs after the `after` cursor, and
    // `next` to continue from (docs/control-protocol.md).
    auto aor = control::optional_string(args, "aor");
    auto after = control::optional_string(args, "after");
    auto limit = control::optional_integer(args, "limit");
    if (limit && *limit < 1) throw control::CommandError("limit must be at least 1");
    const auto now = std::chrono::system_clock::now();
    std::vector<registrar::Binding> list;
    json next = nullptr;
    if (aor) {
        list = store_->lookup(aor_argument(*aor), now);
    } else {
        auto page = store_->list_after(
            after ? aor_argument(*after) : std::string(), now,
            limit ? static_cast<std::size_t>(*limit) : std::numeric_limits<std::size_t>::max());
        list = std::move(page.bindings);
        if (!page.next.empty()) next = "sip:" + page.next;
    }
    json regs = json::array();
    for (const auto& b : list) {
        json path = json::array();
        for (const auto& p : b.path) path.push_back(p);
        std::string source;
        if (!b.source_address.empty())
            source = (b.source_address.find(':') != std::string::npos ? "[" + b.source_address + "]"
                                                                       : b.source_address) +
                     ":" + std::to_string(b.source_port);
        regs.push_back({{"aor", "sip:" + b.aor},
                        {"contact", b.contact},
                        {"expires_in", b.expires_in(now)},
                        {"q", b.q_permille / 1000.0},
                        {"transport", b.transport},
                        {"source", text_or_null(source)},
                        {"user_agent", text_or_null(b.user_agent)},
                        {"instance", text_or_null(b.instance)},
                        {"path", path}});
    }
    json result{{"registrations", regs}};
    // Only a client that pages gets `next`: the answer to the old request is unchanged.
    if (!aor && (limit || after)) result["next"] = next;
    return result;
}

json Daemon::show_routes() const {
    auto snap = services_.snapshots.get();
    json routes = json::array();
    for (const auto& r : snap->dial_plan->routes()) {
        routes.push_back({{"name", r.spec.name},
                          {"match", !r.spec.regex.empty() ? r.spec.regex : "prefix " + r.spec.prefix},
                          {"strip", r.spec.strip},
                          {"prefix", text_or_null(r.spec.prepend)},
                          {"gateways", r.spec.gateways},
                          {"strategy", std::string(routing::to_string(r.spec.strategy))}});
    }
    return {{"routes", routes}};
}

json Daemon::show_gateways() const {
    json gws = json::array();
    for (const auto& g : gateways_.snapshot()) {
        json last = nullptr;
        if (g.last_probe) last = iso8601(*g.last_probe);
        gws.push_back({{"name", g.name},
                       {"uri", g.uri},
                       {"state", std::string(routing::to_string(g.state))},
                       {"probing", g.probing},
                       {"last_probe", last},
                       {"last_result", text_or_null(g.last_result)}});
    }
    return {{"gateways", gws}};
}

json Daemon::show_calls() const {
    json calls = json::array();
    const auto now = std::chrono::steady_clock::now();
    for (const auto& c : services_.call_events.list()) {
        calls.push_back(
            {{"call_id", c.call_id},
             {"caller", c.caller},
             {"callee", c.callee},
             {"state", std::string(c.state())},
             {"duration_s",
              std::chrono::duration_cast<std::chrono::seconds>(now - c.created).count()}});
    }
    return {{"calls", calls}};
}

json Daemon::show_stats() const {
    json stats = json::object();
    for (const auto& [k, v] : services_.stats.snapshot()) stats[k] = v;
    std::size_t transactions = 0, failures = 0;
    for (const auto& w : workers_) {
        transactions += w->layer().live();
        failures += w->failures();
    }
    stats["workers.exceptions"] = failures;
    for (const auto& [k, v] : admission_.counters().snapshot()) stats[k] = v;
    stats["bans.active"] = admission_.bans().size();
    std::uint64_t accept_failures = 0, message_timeouts = 0;
    for (const auto& w : workers_) {
        accept_failures += w->transport().accept_failures();
        message_timeouts += w->transport().message_timeouts();
    }
    stats["tcp.accept_failures"] = accept_failures;
    stats["tcp.message_timeouts"] = message_timeouts;
    stats["tcp.connections"] = workers_.empty() ? 0 : workers_.front()->transport().connections();
    stats["transactions.active"] = transactions;
    stats["transactions.pending"] = workers_.empty() ? 0 : workers_.front()->layer().pending();
    stats["transactions.lingering"] = shares_->lingering.load(std::memory_order_relaxed);
    stats["transactions.linger_cut"] = shares_->linger_cut.load(std::memory_order_relaxed);
    stats["blocked.pending_per_source"] = shares_->refused_source.load(std::memory_order_relaxed);
    stats["blocked.pending_per_destination"] =
        shares_->refused_destination.load(std::memory_order_relaxed);
    stats["calls.active"] = services_.call_events.active();
    stats["registrar.bindings"] = store_->count();
    stats["cdr.written"] = cdr_.written();
    stats["cdr.dropped"] = cdr_.dropped();
    return {{"stats", stats}};
}

namespace {

std::string utc_text(ingress::WallClock::time_point t) {
    std::time_t tt = ingress::WallClock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

Cidr cidr_argument(const json& args) {
    auto text = control::required_string(args, "network");
    auto c = Cidr::parse(text);
    if (!c) throw control::CommandError(c.error());
    return *c;
}

}  // namespace

json Daemon::show_bans() const {
    json bans = json::array();
    const auto now = ingress::WallClock::now();
    auto list = admission_.bans().list();
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.since < b.since; });
    for (const auto& b : list) {
        json until = nullptr, left = nullptr;
        if (!b.forever) {
            until = utc_text(b.until);
            left = std::max<long long>(
                0, std::chrono::duration_cast<std::chrono::seconds>(b.until - now).count());
        }
        bans.push_back({{"network", b.network},
                        {"reason", b.reason},
                        {"note", text_or_null(b.note)},
                        {"since", utc_text(b.since)},
                        {"until", until},
                        {"expires_in", left},
                        {"hits", b.hits}});
    }
    return {{"bans", bans}};
}

json Daemon::ban_add(const json& args) {
    ingress::BanTable::Request r;
    r.network = cidr_argument(args);
    r.reason = "operator";
    r.note = control::optional_string(args, "reason").value_or("");
    r.automatic = false;
    if (auto d = control::optional_integer(args, "duration")) {
        if (*d < 0 || *d > 10LL * 365 * 86400)
            throw control::CommandError("duration must be 0 (until removed) to 3650 days, in seconds");
        r.duration = std::chrono::seconds(*d);
    }
    admission_.bans().add(r);
    save_bans(true);
    return {{"network", ingress::network_text(r.network)}};
}

json Daemon::ban_remove(const json& args) {
    const auto network = cidr_argument(args);
    if (!admission_.bans().remove(network))
        throw control::CommandError("no ban on " + ingress::network_text(network));
    save_bans(true);
    return {{"network", ingress::network_text(network)}};
}

namespace {

// A REGISTER made by the operator for one contact: a fresh Call-ID each time, so the
// registrar's Call-ID/CSeq ordering never refuses it.
registrar::RegisterRequest operator_register(std::string aor, std::string contact,
                                             std::optional<std::uint32_t> expires) {
    if (contact.size() > 2 && contact.front() == '<' && contact.back() == '>')
        contact = contact.substr(1, contact.size() - 2);
    registrar::RegisterRequest req;
    req.aor = std::move(aor);
    registrar::ContactSpec c;
    c.uri = std::move(contact);
    c.expires = expires;
    req.contacts.push_back(std::move(c));
    req.call_id = "sipproxyctl-" +
                  std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    req.cseq = 1;
    req.source.transport = "udp";
    req.user_agent = "sipproxyctl";
    return req;
}

// A LocationStore::Committed callback completing `commit`.
registrar::LocationStore::Committed completes(const std::shared_ptr<proxy::PendingCommit>& commit) {
    return [commit](const std::string& error) { commit->complete(error); };
}

// Waits, without blocking the control loop, until the change is on disk; a failed write
// (undone by the store) is the command's failure.
asio::awaitable<void> wait_until_saved(std::shared_ptr<proxy::PendingCommit> commit) {
    std::string error = co_await commit->wait();
    if (!error.empty())
        throw control::CommandError("not saved: location store write failed: " + error);
}

}  // namespace

asio::awaitable<json> Daemon::registration_add(json args) {
    std::optional<std::uint32_t> expires;
    if (auto e = control::optional_integer(args, "expires")) {
        if (*e <= 0 || *e > 0xffffffffll) throw control::CommandError("expires must be > 0");
        expires = static_cast<std::uint32_t>(*e);
    }
    auto req = operator_register(aor_argument(control::required_string(args, "aor")),
                                 control::required_string(args, "contact"), expires);
    const auto& uri = req.contacts.front().uri;
    if (uri.rfind("sip:", 0) != 0 && uri.rfind("sips:", 0) != 0)
        throw control::CommandError("contact must be a sip: or sips: URI, got '" + uri + "'");
    auto commit = std::make_shared<proxy::PendingCommit>();
    auto r = services_.snapshots.get()->registrar->handle(req, completes(commit));
    if (!r.ok())
        throw control::CommandError(std::to_string(r.status) + " " + r.reason +
                                    (r.status == 423 ? " (min_expires " +
                                                           std::to_string(r.min_expires) + ")"
                                                     : ""));
    co_await wait_until_saved(commit);
    co_return json::object();
}

asio::awaitable<json> Daemon::registration_remove(json args) {
    const auto aor = aor_argument(control::required_string(args, "aor"));
    auto contact = control::optional_string(args, "contact");
    auto commit = std::make_shared<proxy::PendingCommit>();
    std::size_t removed = 0;
    if (!contact) {
        removed = store_->remove_aor(aor, completes(commit));
    } else {
        const auto now = std::chrono::system_clock::now();
        const auto before = store_->lookup(aor, now).size();
        auto r = services_.snapshots.get()->registrar->handle(operator_register(aor, *contact, 0),
                                                              completes(commit));
        if (!r.ok()) throw control::CommandError(std::to_string(r.status) + " " + r.reason);
        removed = before - r.bindings.size();
    }
    co_await wait_until_saved(commit);
    co_return json{{"removed", removed}};
}

}  // namespace sipproxy::daemon
