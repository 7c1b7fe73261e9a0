// What a reload changes, one line per key, in the words of the config file (TOML key
// names). Secrets (passwords, HA1 hashes) are never printed, only that they changed.
#include <algorithm>
#include <set>

#include "config/changes.hpp"

namespace sipproxy::config {
namespace {

std::string text(const std::string& s) {
    return s;
}
std::string text(const std::filesystem::path& p) {
    return p.string();
}
std::string text(bool b) {
    return b ? "true" : "false";
}
template <class Rep, class Period>
std::string text(std::chrono::duration<Rep, Period> d) {
    return std::to_string(d.count());
}
template <class T>
requires std::is_integral_v<T> std::string text(T v) {
    return std::to_string(v);
}
std::string text(const std::vector<std::string>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
    return out + "]";
}

ChangeValue data(const std::string& s) { return s; }
ChangeValue data(const std::filesystem::path& p) { return p.string(); }
ChangeValue data(bool b) { return b; }
template <class Rep, class Period>
ChangeValue data(std::chrono::duration<Rep, Period> d) {
    return static_cast<std::int64_t>(d.count());
}
template <class T>
requires std::is_integral_v<T> ChangeValue data(T v) {
    return static_cast<std::int64_t>(v);
}
ChangeValue data(const std::vector<std::string>& v) { return v; }

class Changes {
  public:
    template <class T>
    void value(const std::string& key, const T& before, const T& after) {
        if (before != after)
            out_.push_back({key, data(before), data(after),
                            key + ": " + text(before) + " -> " + text(after)});
    }

    // Unordered members (listen addresses, domains, CIDRs): added / removed.
    void members(const std::string& key, const std::vector<std::string>& before,
                 const std::vector<std::string>& after) {
        for (const auto& b : before)
            if (std::find(after.begin(), after.end(), b) == after.end())
                out_.push_back({key, b, {}, key + ": removed " + b});
        for (const auto& a : after)
            if (std::find(before.begin(), before.end(), a) == before.end())
                out_.push_back({key, {}, a, key + ": added " + a});
    }

    void add(Change c) { out_.push_back(std::move(c)); }
    std::vector<Change> take() { return std::move(out_); }

  private:
    std::vector<Change> out_;
};

// The fields of one named entry (a gateway, a route, a user): "routes['pstn'].strip".
class FieldChanges {
  public:
    FieldChanges(Changes& c, std::string prefix) : c_(c), prefix_(std::move(prefix)) {}
    template <class T>
    void value(const char* key, const T& before, const T& after) {
        if (before == after) return;
        const std::string k = prefix_ + "." + key;
        c_.add({k, data(before), data(after), k + ": " + text(before) + " -> " + text(after)});
    }
    void secret(const char* key, const std::string& before, const std::string& after) {
        if (before == after) return;
        const std::string k = prefix_ + "." + key;
        c_.add({k, std::string(kHidden), std::string(kHidden), k + ": changed"});
    }

  private:
    Changes& c_;
    std::string prefix_;
};

void gateway_fields(FieldChanges& f, const Gateway& a, const Gateway& b) {
    f.value("uri", a.uri, b.uri);
    f.value("probe", a.probe, b.probe);
    f.value("probe_interval", a.probe_interval, b.probe_interval);
    f.value("failures_before_down", a.failures_before_down, b.failures_before_down);
    f.value("successes_before_up", a.successes_before_up, b.successes_before_up);
    f.value("weight", a.weight, b.weight);
}

void route_fields(FieldChanges& f, const Route& a, const Route& b) {
    f.value("match", a.match, b.match);
    f.value("match_prefix", a.match_prefix, b.match_prefix);
    f.value("strip", a.strip, b.strip);
    f.value("prefix", a.prefix, b.prefix);
    f.value("gateways", a.gateways, b.gateways);
    f.value("strategy", a.strategy, b.strategy);
    f.value("timeout_ms", a.timeout, b.timeout);
    f.value("sources", a.sources, b.sources);
    f.value("users", a.users, b.users);
    f.value("domains", a.domains, b.domains);
}

void user_fields(FieldChanges& f, const User& a, const User& b) {
    f.secret("password", a.password, b.password);
    f.secret("ha1_md5", a.ha1_md5, b.ha1_md5);
    f.secret("ha1_sha256", a.ha1_sha256, b.ha1_sha256);
    f.value("algorithms", a.algorithms, b.algorithms);
}

// Named entries (gateways, routes, users): removed, added, changed. `quote` puts the
// name in quotes ("routes: added 'pstn'"); user names are printed bare.
template <class T, class Name, class Fields>
void named(Changes& c, const std::string& key, const std::vector<T>& before,
           const std::vector<T>& after, Name name, Fields fields, bool quote) {
    auto q = [&](const std::string& n) { return quote ? "'" + n + "'" : n; };
    auto find = [&](const std::vector<T>& v, const std::string& n) {
        return std::find_if(v.begin(), v.end(), [&](const T& x) { return name(x) == n; });
    };
    for (const auto& b : before)
        if (find(after, name(b)) == after.end())
            c.add({key, name(b), {}, key + ": removed " + q(name(b))});
    for (const auto& a : after)
        if (find(before, name(a)) == before.end())
            c.add({key, {}, name(a), key + ": added " + q(name(a))});
    for (const auto& a : after) {
        auto b = find(before, name(a));
        if (b == before.end()) continue;
        FieldChanges f(c, key + "['" + name(a) + "']");
        fields(f, *b, a);
    }
}

// A [[fraud]] rule in one line: "user=* route=intl scope=user calls_per_minute=8/10".
std::string fraud_text(const FraudRule& r) {
    std::string out = "user=" + r.user + " route=" + (r.route.empty() ? "*" : r.route) +
                      " scope=" + (r.total ? "total" : "user");
    auto limit = [&](const char* name, const FraudThreshold& t) {
        if (!t.warning && !t.critical) return;
        auto n = [](std::uint32_t v) { return v ? std::to_string(v) : std::string("-"); };
        out += std::string(" ") + name + "=" + n(t.warning) + "/" + n(t.critical);
    };
    limit("calls_per_minute", r.calls_per_minute);
    limit("calls_per_day", r.calls_per_day);
    limit("concurrent_calls", r.concurrent_calls);
    return out;
}

}  // namespace

std::vector<std::string> diff(const Config& a, const Config& b) {
    std::vector<std::string> lines;
    for (auto& c : changes(a, b)) lines.push_back(std::move(c.text));
    return lines;
}

std::vector<Change> changes(const Config& a, const Config& b) {
    Changes c;
    c.value("file", a.file, b.file);

    auto listen_texts = [](const Server& s) {
        std::vector<std::string> out;
        for (const auto& l : s.listen) out.push_back(l.text);
        return out;
    };
    c.members("server.listen", listen_texts(a.server), listen_texts(b.server));
    c.members("server.domains", a.server.domains, b.server.domains);
    c.value("server.workers", a.server.workers, b.server.workers);
    c.value("server.state_dir", a.server.state_dir, b.server.state_dir);
    c.value("server.log_level", a.server.log_level, b.server.log_level);
    c.value("server.log_syslog", a.server.log_syslog, b.server.log_syslog);
    c.value("server.syslog_facility", a.server.syslog_facility, b.server.syslog_facility);
    c.value("server.max_message_size", a.server.max_message_size, b.server.max_message_size);

    c.value("control.socket", a.control.socket, b.control.socket);

    c.value("registrar.min_expires", a.registrar.min_expires, b.registrar.min_expires);
    c.value("registrar.max_expires", a.registrar.max_expires, b.registrar.max_expires);
    c.value("registrar.default_expires", a.registrar.default_expires, b.registrar.default_expires);
    c.value("registrar.max_contacts", a.registrar.max_contacts, b.registrar.max_contacts);
    c.value("registrar.store", a.registrar.store, b.registrar.store);
    c.value("redis.url", a.redis.url, b.redis.url);
    if (a.redis.password != b.redis.password)  // never the password itself
        c.value("redis.password", std::string("(hidden)"), std::string("(changed)"));
    c.value("redis.sentinels", a.redis.sentinels, b.redis.sentinels);
    c.value("redis.sentinel_master", a.redis.sentinel_master, b.redis.sentinel_master);
    if (a.redis.sentinel_password != b.redis.sentinel_password)
        c.value("redis.sentinel_password", std::string("(hidden)"), std::string("(changed)"));
    c.value("server.node_id", a.server.node_id, b.server.node_id);

    // "auth": whether there is an [auth] section.
    if (a.auth && !b.auth) {
        c.add({"auth", true, false, "auth: removed (nobody is authenticated now)"});
    } else if (!a.auth && b.auth) {
        c.add({"auth", false, true, "auth: added (requests are authenticated now)"});
    }
    if (b.auth) {
        static const Auth none;  // compare an added [auth] against nothing
        const Auth& x = a.auth ? *a.auth : none;
        const Auth& y = *b.auth;
        if (a.auth) {
            c.value("auth.realm", x.realm, y.realm);
            c.value("auth.algorithms", x.algorithms, y.algorithms);
            c.value("auth.nonce_ttl", x.nonce_ttl, y.nonce_ttl);
        }
        c.members("auth.trusted", x.trusted, y.trusted);
        named(
            c, "auth.users", x.users, y.users, [](const User& u) { return u.user; }, user_fields,
            false);
    }

    c.value("transaction.t1_ms", a.transaction.t1, b.transaction.t1);
    c.value("transaction.t2_ms", a.transaction.t2, b.transaction.t2);
    c.value("transaction.t4_ms", a.transaction.t4, b.transaction.t4);
    c.value("transaction.timer_c", a.transaction.timer_c, b.transaction.timer_c);
    c.value("transaction.fork_timeout", a.transaction.fork_timeout, b.transaction.fork_timeout);
    c.value("transaction.max_transactions", a.transaction.max_transactions,
            b.transaction.max_transactions);

    c.value("tcp.idle_timeout", a.tcp.idle_timeout, b.tcp.idle_timeout);
    c.value("tcp.max_connections", a.tcp.max_connections, b.tcp.max_connections);
    c.value("security.secret_file", a.security.secret_file, b.security.secret_file);
    c.value("tls.certificate", a.tls.certificate, b.tls.certificate);
    c.value("tls.private_key", a.tls.private_key, b.tls.private_key);
    c.value("tls.ca_file", a.tls.ca_file, b.tls.ca_file);
    c.value("tls.verify_clients", a.tls.verify_clients, b.tls.verify_clients);
    c.value("tls.ciphers", a.tls.ciphers, b.tls.ciphers);
    c.value("tls.handshake_timeout", a.tls.handshake_timeout, b.tls.handshake_timeout);
    {
        auto names = [](const std::vector<TlsCertificate>& v) {
            std::vector<std::string> out;
            for (const auto& s : v) out.push_back(s.name + " " + s.certificate.string());
            return out;
        };
        c.members("tls.sni", names(a.tls.sni), names(b.tls.sni));
    }
    c.value("cdr.path", a.cdr.path, b.cdr.path);
    c.value("cdr.max_call_duration", a.cdr.max_call_duration, b.cdr.max_call_duration);
    c.value("metrics.listen", a.metrics.listen, b.metrics.listen);

    c.members("security.allow", a.security.allow, b.security.allow);
    c.members("security.deny", a.security.deny, b.security.deny);
    c.value("security.deny_file", a.security.deny_file, b.security.deny_file);
    {
        // A deny file may hold thousands of lines: counts, not members.
        auto texts = [](const std::vector<Cidr>& v) {
            std::set<std::string> out;
            for (const auto& n : v) out.insert(n.to_string());
            return out;
        };
        const auto x = texts(a.security.deny_file_networks);
        const auto y = texts(b.security.deny_file_networks);
        std::size_t added = 0, removed = 0;
        for (const auto& n : y) added += !x.count(n);
        for (const auto& n : x) removed += !y.count(n);
        // The numbers of networks before and after.
        if (added || removed)
            c.add({"security.deny_file.networks", static_cast<std::int64_t>(x.size()),
                   static_cast<std::int64_t>(y.size()),
                   "security.deny_file: " + std::to_string(added) + " added, " +
                       std::to_string(removed) + " removed (" + std::to_string(y.size()) +
                       " networks)"});
    }
    c.value("security.flood_window", a.security.flood_window, b.security.flood_window);
    c.value("security.flood_requests", a.security.flood_requests, b.security.flood_requests);
    c.value("security.ban_time", a.security.ban_time, b.security.ban_time);
    c.value("security.scanner_user_agents", a.security.scanner_user_agents,
            b.security.scanner_user_agents);
    c.value("security.max_connections_per_source", a.security.max_connections_per_source,
            b.security.max_connections_per_source);
    c.value("security.message_timeout", a.security.message_timeout, b.security.message_timeout);
    c.value("websocket.allowed_origins", a.websocket.allowed_origins, b.websocket.allowed_origins);
    c.value("websocket.keepalive", a.websocket.keepalive, b.websocket.keepalive);
    c.value("security.max_pending_per_source", a.security.max_pending_per_source,
            b.security.max_pending_per_source);
    c.value("security.max_pending_per_destination", a.security.max_pending_per_destination,
            b.security.max_pending_per_destination);
    c.value("security.auth_failures", a.security.auth_failures, b.security.auth_failures);
    c.value("security.auth_window", a.security.auth_window, b.security.auth_window);
    c.value("security.auth_ban_time", a.security.auth_ban_time, b.security.auth_ban_time);
    c.value("security.user_auth_failures", a.security.user_auth_failures, b.security.user_auth_failures);
    c.value("security.user_known_time", a.security.user_known_time, b.security.user_known_time);

    named(
        c, "gateways", a.gateways, b.gateways, [](const Gateway& g) { return g.name; },
        gateway_fields, true);
    named(
        c, "routes", a.routes, b.routes, [](const Route& r) { return r.name; }, route_fields, true);

    // First match wins, so the order of the routes both versions have matters.
    std::vector<std::string> order_a, order_b;
    for (const auto& r : a.routes)
        if (std::any_of(b.routes.begin(), b.routes.end(),
                        [&](auto& o) { return o.name == r.name; }))
            order_a.push_back(r.name);
    for (const auto& r : b.routes)
        if (std::any_of(a.routes.begin(), a.routes.end(),
                        [&](auto& o) { return o.name == r.name; }))
            order_b.push_back(r.name);
    if (order_a != order_b)
        c.add({"routes.order", order_a, order_b,
               "routes: order changed: " + text(order_a) + " -> " + text(order_b)});

    {
        // Rules have no names: each is its text (warning/critical per limit).
        std::vector<std::string> x, y;
        for (const auto& r : a.fraud) x.push_back(fraud_text(r));
        for (const auto& r : b.fraud) y.push_back(fraud_text(r));
        c.members("fraud", x, y);
    }

    return c.take();
}

namespace {
// Read once at start; everything else is applied by a reload.
const char* const at_start[] = {
        "server.workers",           "server.state_dir",
        "server.max_message_size",
        "registrar.store",          "transaction.t1_ms",
        "redis.url",                "redis.password",
        "redis.sentinels",          "redis.sentinel_master",
        "redis.sentinel_password",
        "server.node_id",
        "transaction.t2_ms",        "transaction.t4_ms",
        "transaction.max_transactions", "tcp.idle_timeout",
        "tcp.max_connections",      "security.secret_file",
};
}  // namespace

std::vector<std::string> restart_keys(const std::vector<Change>& changes) {
    std::vector<std::string> out;
    for (const auto& c : changes)
        for (const char* k : at_start)
            if (c.key == k && std::find(out.begin(), out.end(), c.key) == out.end())
                out.push_back(c.key);
    return out;
}

std::vector<std::string> restart_needed(const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (const auto& line : lines) {
        const auto key = line.substr(0, line.find(':'));
        for (const char* k : at_start)
            if (key == k) out.push_back(key + " changed: takes effect at the next start");
    }
    return out;
}

std::vector<std::string> restart_pending(const Config& running, const Config& next) {
    return restart_keys(changes(running, next));
}

}  // namespace sipproxy::config
