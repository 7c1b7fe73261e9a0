// The control commands by name (the one table sipproxyctl's requests are looked up in),
// and the small ones: status, show routes/gateways/calls. Registrations, bans, users and
// stats have their own files.
#include "daemon/daemon.hpp"

#include <unistd.h>

#include <ctime>

#include "base/log.hpp"
#include "daemon/limit_commands.hpp"
#include "daemon/trace_command.hpp"
#include "daemon/user_commands.hpp"
#include "registrar/redis_location_store.hpp"

namespace sipproxy::daemon {

using nlohmann::json;

namespace {

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

}  // namespace

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

control::StreamCommandTable Daemon::stream_commands() {
    return {{"trace", trace_command(tracer_, main_io_)}};
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
    // Each certificate served, with its expiry (renew before it; `reload` picks it up).
    json certificates = json::array();
    if (auto tls = tls_->get()) {
        const auto now = std::chrono::system_clock::now();
        for (const auto& c : transport::certificates_of(*tls))
            certificates.push_back(
                {{"name", c.name.empty() ? json(nullptr) : json(c.name)},
                 {"file", c.file},
                 {"subject", c.subject},
                 {"not_after", transport::utc_text(c.not_after)},
                 {"expires_in_s",
                  std::chrono::duration_cast<std::chrono::seconds>(c.not_after - now).count()}});
    }
    r["tls_certificates"] = certificates;
    std::size_t transactions = 0;
    for (const auto& w : workers_) transactions += w->layer().live();
    r["node_id"] = config_->server.node_id;
    json store{{"kind", config_->registrar.store}};
    if (redis_store_) {
        auto h = redis_store_->health();
        store["url"] = redis_store_->url();
        store["connected"] = h.connected;
        store["primary"] = control::text_or_null(h.primary);
        store["primary_from"] = h.from_sentinel ? "sentinel" : "url";
        store["subscribed"] = h.subscribed;
        store["last_error"] = control::text_or_null(h.last_error);
        store["reconnects"] = h.reconnects;
        store["writes"] = h.writes;
        store["write_failures"] = h.write_failures;
        store["notices"] = h.notices;
        store["peers"] = h.peers;
        store["abuse_notices_sent"] = shared_abuse_sent_.load();
        store["abuse_notices_received"] = shared_abuse_received_.load();
    }
    r["store"] = store;
    r["counts"] = {{"registrations", store_->aor_count()},
                   {"bindings", store_->count()},
                   {"transactions", transactions},
                   {"calls", services_.call_events.active()}};
    return r;
}

json Daemon::show_routes() const {
    auto snap = services_.snapshots.get();
    json routes = json::array();
    for (const auto& r : snap->dial_plan->routes()) {
        routes.push_back({{"name", r.spec.name},
                          {"match", !r.spec.regex.empty() ? r.spec.regex : "prefix " + r.spec.prefix},
                          {"strip", r.spec.strip},
                          {"prefix", control::text_or_null(r.spec.prepend)},
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
                       {"last_result", control::text_or_null(g.last_result)}});
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

}  // namespace sipproxy::daemon
