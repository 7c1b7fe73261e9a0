// Reload (sipproxyctl reload and SIGHUP): the new config is checked whole before anything
// changes, then applied; the reply lists the changes and the keys that wait for a restart.
#include "daemon/daemon.hpp"

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>

#include "base/log.hpp"
#include "daemon/reload_answer.hpp"
#include "daemon/security_policy.hpp"

#include <algorithm>

namespace sipproxy::daemon {

using nlohmann::json;

namespace {

// Whether a listener could be opened, as the workers will (SO_REUSEPORT); the error names
// the address.
std::optional<std::string> try_bind(const transport::Local& l) {
    asio::io_context io;
    asio::error_code ec;
    int one = 1;
    const std::string name = std::string(transport::uri_name(l.protocol)) + "://" + l.hostport();
    if (!l.reliable()) {
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


// A certificate served under the same name whose file now holds another certificate
// (a renewal): "tls.certificate: reloaded /etc/x.pem (valid until ...)".
std::vector<config::Change> tls_changes(const transport::TlsContexts& before,
                                        const transport::TlsContexts& after) {
    std::vector<config::Change> out;
    const auto old = transport::certificates_of(before);
    for (const auto& c : transport::certificates_of(after)) {
        auto same = std::find_if(old.begin(), old.end(), [&](const auto& o) {
            return o.name == c.name && o.file == c.file;
        });
        if (same == old.end() || same->fingerprint == c.fingerprint) continue;
        const std::string key = c.name.empty() ? "tls.certificate" : "tls.sni['" + c.name + "'].certificate";
        out.push_back({key, same->fingerprint, c.fingerprint,
                       key + ": reloaded " + c.file + " (" + c.subject + ", valid until " +
                           transport::utc_text(c.not_after) + ")"});
    }
    return out;
}

}  // namespace

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
    auto changes = config::changes(*config_, *next);
    // The certificate files are read again even when their names did not change (a
    // renewal replaces the file): a bad one refuses the whole reload, naming it.
    auto tls = transport::load_tls(tls_settings(*next));
    if (!tls) throw control::CommandError(next->file.string() + ": " + tls.error());
    for (auto& c : tls_changes(*tls_->get(), **tls)) changes.push_back(std::move(c));
    // New listeners must be bindable before anything changes (SO_REUSEPORT lets the
    // test bind succeed next to our own sockets, and fail next to somebody else's).
    const auto new_locals = locals_of(*next);
    for (const auto& l : new_locals) {
        if (auto err = try_bind(l)) throw control::CommandError(*err);
    }
    // Against the config of the start, not the last reload: a restart-only key changed by
    // an earlier reload is still not in force (issue #13 item 6).
    const auto pending = config::restart_pending(*started_config_, *next);
    // control.socket moved: the new socket opens now (before anything changes: another
    // daemon may answer there), the old one stays for scripts that name it until restart.
    std::unique_ptr<control::ControlServer> moved_control;
    const auto& socket = next->control.socket;
    if (socket != started_socket_ &&
        std::none_of(moved_control_.begin(), moved_control_.end(),
                     [&](const auto& m) { return m.first == socket; })) {
        try {
            moved_control = std::make_unique<control::ControlServer>(
                main_io_, socket, commands(), control::ControlLimits{}, waiting_commands(),
                stream_commands());
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
    const auto handshake_timeout = next->tls.handshake_timeout;
    // New connections use the new certificates; open ones keep their session.
    tls_->set(*tls);
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
        transport::WebSocketOptions websocket;
        websocket.allowed_origins = next->websocket.allowed_origins;
        websocket.keepalive = next->websocket.keepalive;
        asio::post(worker->io(), [worker, new_locals, message_timeout, handshake_timeout,
                                  websocket = std::move(websocket)]() mutable {
            worker->transport().reconfigure(new_locals);
            worker->transport().set_message_timeout(message_timeout);
            worker->transport().set_handshake_timeout(handshake_timeout);
            worker->transport().set_websocket(std::move(websocket));
        });
    }
    gateways_.sync(gateway_specs(*next));
    apply_log_level(*next);
    for (const auto& w : next->warnings) log::warn("{}: {}", next->file.string(), w);
    config_ = next;
    for (const auto& c : changes) log::info("reload: {}", c.text);
    if (changes.empty()) log::info("reload: no change");
    for (const auto& key : pending)
        log::warn("reload: {} changed: takes effect at the next start", key);
    return reload_answer(changes, pending);
}

// Applied at start and by every reload (for the transactions to come).
void Daemon::set_fair_shares(const config::Config& cfg) {
    shares_->max_per_source.store(cfg.security.max_pending_per_source, std::memory_order_relaxed);
    shares_->max_per_destination.store(cfg.security.max_pending_per_destination,
                                       std::memory_order_relaxed);
}

}  // namespace sipproxy::daemon
