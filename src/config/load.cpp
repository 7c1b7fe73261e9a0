// Builds the validated Config from TOML: one function per section, then the checks that
// span sections (names a route refers to). Defaults live in config.hpp and are documented
// in man/sipproxy.toml.5 and conf/sipproxy.toml.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "config/addresses.hpp"
#include "config/config.hpp"
#include "config/fraud_rules.hpp"
#include "config/includes.hpp"
#include "config/toml_reader.hpp"
#include "base/log.hpp"

namespace sipproxy::config {
namespace fs = std::filesystem;
using detail::Errors;
using detail::TableReader;

namespace {

constexpr std::int64_t kMaxU32 = 0xffffffffLL;
// sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
constexpr std::size_t kMaxSocketPath = 107;

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::string index_key(const std::string& base, std::size_t i) {
    return base + "[" + std::to_string(i) + "]";
}

// Names of gateways and routes appear in CLI tables and logs: keep them plain.
bool is_plain_name(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}

bool is_hex(std::string_view s, std::size_t len) {
    if (s.size() != len) return false;
    for (char c : s)
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

class Loader {
  public:
    Loader(Errors& errors, const toml::table& root, fs::path file)
        : errors_(errors), root_(errors, &root, ""), file_(std::move(file)) {
        config_.file = file_;
    }

    void run() {
        server();
        control();
        registrar();
        redis();
        auth();
        transaction();
        tcp();
        websocket();
        tls();
        security();
        cdr();
        metrics();
        gateways();
        routes();
        detail::read_fraud_rules(errors_, root_, config_);
        root_.node("include");  // read by merge_includes
        root_.finish();
        warnings();
    }

    Config take() { return std::move(config_); }

  private:
    fs::path resolve(const std::string& text) const {
        fs::path p(text);
        if (p.is_relative()) p = file_.parent_path() / p;
        p = p.lexically_normal();
        if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
        return p;
    }

    const toml::table* section(std::string_view key) { return detail::sub_table(root_, key); }

    void server() {
        TableReader t(errors_, section("server"), "server");
        Server& s = config_.server;

        std::vector<std::string> listen;
        std::vector<const toml::node*> where;
        if (t.get("listen", listen, &where)) {
            if (listen.empty()) t.fail("listen", "must name at least one address");
            for (std::size_t i = 0; i < listen.size(); ++i) {
                auto l = parse_listen(listen[i]);
                std::string key = index_key(t.key_path("listen"), i);
                if (!l) {
                    t.fail_at(where[i], key, l.error());
                    continue;
                }
                auto same = [&](const Listen& o) {
                    return o.scheme == l->scheme && o.host == l->host && o.port == l->port;
                };
                if (std::any_of(s.listen.begin(), s.listen.end(), same)) {
                    t.fail_at(where[i], key, "duplicate listen address '" + listen[i] + "'");
                    continue;
                }
                s.listen.push_back(std::move(*l));
            }
        } else {
            for (const char* d : {"udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"})
                s.listen.push_back(*parse_listen(d));
        }

        std::vector<std::string> domains;
        if (t.get("domains", domains, &where)) {
            for (std::size_t i = 0; i < domains.size(); ++i) {
                std::string d = lower(domains[i]);
                std::string key = index_key(t.key_path("domains"), i);
                if (!is_domain_name(d)) {
                    t.fail_at(
                        where[i], key,
                        "expected a domain name such as example.test, got '" + domains[i] + "'");
                } else if (std::find(s.domains.begin(), s.domains.end(), d) != s.domains.end()) {
                    t.fail_at(where[i], key, "duplicate domain '" + d + "'");
                } else {
                    s.domains.push_back(std::move(d));
                }
            }
        }

        t.get_uint("workers", s.workers, 0, 1024);

        std::string state_dir = "var";
        if (t.get("state_dir", state_dir) && state_dir.empty())
            t.fail("state_dir", "must not be empty");
        s.state_dir = resolve(state_dir.empty() ? "var" : state_dir);

        if (t.get("log_level", s.log_level)) {
            static const char* levels[] = {"trace", "debug", "info", "warn", "error"};
            if (std::none_of(std::begin(levels), std::end(levels),
                             [&](const char* l) { return s.log_level == l; })) {
                t.fail("log_level",
                       "expected trace|debug|info|warn|error, got '" + s.log_level + "'");
                s.log_level = "info";
            }
        }
        t.get("log_syslog", s.log_syslog);
        if (t.get("syslog_facility", s.syslog_facility) && log::syslog_facility(s.syslog_facility) < 0) {
            t.fail("syslog_facility",
                   "expected daemon|user|local0..local7, got '" + s.syslog_facility + "'");
            s.syslog_facility = "daemon";
        }
        t.get_uint("max_message_size", s.max_message_size, 1024, 1048576);
        if (t.get("node_id", s.node_id) && s.node_id.empty()) t.fail("node_id", "must not be empty");
        if (s.node_id.empty()) {
            char host[256] = {};
            s.node_id = ::gethostname(host, sizeof host - 1) == 0 && host[0] ? host : "sipproxy";
        }
        t.finish();
    }

    void control() {
        TableReader t(errors_, section("control"), "control");
        std::string socket;
        bool given = t.get("socket", socket);
        if (given && socket.empty()) t.fail("socket", "must not be empty");
        config_.control.socket =
            given && !socket.empty() ? resolve(socket) : config_.server.state_dir / "sipproxy.sock";
        std::size_t len = config_.control.socket.native().size();
        if (len > kMaxSocketPath) {
            t.fail("socket", "path is too long for a Unix socket (" + std::to_string(len) +
                                 " bytes, at most " + std::to_string(kMaxSocketPath) +
                                 "): " + config_.control.socket.string());
        }
        t.finish();
    }

    void redis() {
        TableReader t(errors_, section("redis"), "redis");
        Redis& r = config_.redis;
        bool url_given = t.get("url", r.url);
        bool url_ok = true;
        if (url_given) {
            // redis://HOST[:PORT][/DB]; redis:///DB (no host) with sentinels
            std::string_view u = r.url;
            bool ok = u.starts_with("redis://");
            if (ok) u.remove_prefix(8);
            auto slash = u.find('/');
            std::string_view hostport = u.substr(0, slash);
            if (slash != std::string_view::npos) {
                std::string_view db = u.substr(slash + 1);
                r.db = 0;
                for (char c : db) {
                    if (c < '0' || c > '9' || r.db > 1000) ok = false;
                    else r.db = r.db * 10 + (c - '0');
                }
            }
            std::string_view host = hostport;
            if (auto colon = hostport.rfind(':'); colon != std::string_view::npos &&
                                                  hostport.find(']') == std::string_view::npos) {
                host = hostport.substr(0, colon);
                unsigned port = 0;
                auto p = hostport.substr(colon + 1);
                for (char c : p) {
                    if (c < '0' || c > '9' || port > 65535) ok = false;
                    else port = port * 10 + static_cast<unsigned>(c - '0');
                }
                if (p.empty() || port == 0 || port > 65535 || host.empty()) ok = false;
                r.port = static_cast<std::uint16_t>(port);
            }
            r.host = std::string(host);
            if (!ok) t.fail("url", "expected redis://HOST:PORT/DB, got '" + r.url + "'");
            url_ok = ok;
        }
        t.get("password", r.password);
        std::int64_t ms = 0;
        if (t.get_int("connect_timeout_ms", ms, 10, 60000)) r.connect_timeout = std::chrono::milliseconds(ms);
        if (t.get_int("command_timeout_ms", ms, 10, 60000)) r.command_timeout = std::chrono::milliseconds(ms);

        std::vector<const toml::node*> where;
        bool sentinels_given = t.get("sentinels", r.sentinels, &where);
        bool master_given = t.get("sentinel_master", r.sentinel_master);
        t.get("sentinel_password", r.sentinel_password);
        for (std::size_t i = 0; i < r.sentinels.size(); ++i) {
            auto a = parse_sentinel(r.sentinels[i]);
            if (!a) {
                t.fail_at(where[i], index_key(t.key_path("sentinels"), i),
                          "expected HOST:PORT of a Redis Sentinel, got '" + r.sentinels[i] + "'");
                continue;
            }
            r.sentinel_addresses.push_back(std::move(*a));
        }
        if (sentinels_given && r.sentinels.empty())
            t.fail("sentinels", "is empty: list at least one sentinel, or remove the key");
        if (!r.sentinels.empty()) {
            if (!master_given || r.sentinel_master.empty())
                t.fail(master_given ? "sentinel_master" : "sentinels",
                       "sentinels need sentinel_master, the name the sentinels monitor the "
                       "primary under");
            // The primary comes from the sentinels: a host in url would be a second answer.
            if (url_given && url_ok && !r.host.empty())
                t.fail("url", "names a host, and sentinels are set: use one or the other "
                              "(with sentinels, url = \"redis:///DB\" gives the database only)");
            r.host.clear();
        } else {
            if (master_given)
                t.fail("sentinel_master", "needs sentinels, the sentinels to ask for it");
            else if (!r.sentinel_password.empty())
                t.fail("sentinel_password", "needs sentinels");
            if (url_given && url_ok && r.host.empty())
                t.fail("url", "expected redis://HOST:PORT/DB, got '" + r.url +
                                  "' (a URL without a host needs sentinels)");
        }
        t.finish();
    }

    // HOST[:PORT] or [IPv6][:PORT]; the port defaults to 26379, Sentinel's.
    static std::optional<SentinelAddress> parse_sentinel(std::string_view text) {
        SentinelAddress a;
        std::string_view rest;
        if (text.starts_with('[')) {
            auto close = text.find(']');
            if (close == std::string_view::npos || close == 1) return std::nullopt;
            a.host = std::string(text.substr(1, close - 1));
            rest = text.substr(close + 1);
        } else {
            auto colon = text.find(':');
            a.host = std::string(text.substr(0, colon));
            if (colon != std::string_view::npos) rest = text.substr(colon);
            if (a.host.empty() || !is_domain_name(a.host)) return std::nullopt;
        }
        if (!rest.empty()) {
            if (rest[0] != ':' || rest.size() == 1 || rest.size() > 6) return std::nullopt;
            unsigned port = 0;
            for (char c : rest.substr(1)) {
                if (c < '0' || c > '9') return std::nullopt;
                port = port * 10 + static_cast<unsigned>(c - '0');
            }
            if (port == 0 || port > 65535) return std::nullopt;
            a.port = static_cast<std::uint16_t>(port);
        }
        return a;
    }

    void registrar() {
        TableReader t(errors_, section("registrar"), "registrar");
        Registrar& r = config_.registrar;
        bool has_min = t.get_uint("min_expires", r.min_expires, 1, kMaxU32);
        t.get_uint("max_expires", r.max_expires, 1, kMaxU32);
        bool has_default = t.get_uint("default_expires", r.default_expires, 1, kMaxU32);
        t.get_uint("max_contacts", r.max_contacts, 1, 1000);
        if (t.get("store", r.store) && r.store != "sqlite" && r.store != "memory" &&
            r.store != "redis")
            t.fail("store", "expected \"sqlite\", \"memory\" or \"redis\", got '" + r.store + "'");
        if (r.min_expires > r.default_expires || r.default_expires > r.max_expires) {
            // Blame a key the operator wrote, preferring the one out of order.
            std::string key = r.min_expires > r.default_expires
                                  ? (has_min ? "min_expires" : "default_expires")
                                  : (has_default ? "default_expires" : "max_expires");
            t.fail(key, "min_expires must be <= default_expires <= max_expires (got " +
                            std::to_string(r.min_expires) + ", " +
                            std::to_string(r.default_expires) + ", " +
                            std::to_string(r.max_expires) + ")");
        }
        t.finish();
    }

    void auth() {
        const toml::table* table = section("auth");
        if (!table) return;
        TableReader t(errors_, table, "auth");
        Auth a;
        if (t.get("realm", a.realm)) {
            if (a.realm.empty() || a.realm.find('"') != std::string::npos)
                t.fail("realm", "expected a non-empty realm without '\"'");
        } else if (!config_.server.domains.empty()) {
            a.realm = config_.server.domains.front();
        } else {
            t.fail("realm",
                   "is required when server.domains is empty (it defaults to the "
                   "first domain)");
        }

        algorithm_list(t, a.algorithms);
        t.get_uint("nonce_ttl", a.nonce_ttl, 1, 86400);
        cidrs(t, "trusted", a.trusted, a.trusted_networks);

        auto users = detail::table_array(t, "users");
        for (std::size_t i = 0; i < users.size(); ++i) {
            TableReader u(errors_, users[i], index_key("auth.users", i));
            User user;
            if (u.get("user", user.user)) {
                if (user.user.empty() || user.user.find_first_of(":\"@ \t") != std::string::npos)
                    u.fail("user", "expected a user name without ':', '@', '\"' or spaces");
                else if (std::any_of(a.users.begin(), a.users.end(),
                                     [&](const User& o) { return o.user == user.user; }))
                    u.fail("user", "duplicate user '" + user.user + "'");
            } else if (!u.node("user")) {
                u.fail("user", "is required");
            } else {
                user_names_complete_ = false;
            }
            u.get("password", user.password);
            algorithm_list(u, user.algorithms);
            if (u.get("ha1_md5", user.ha1_md5)) {
                if (!is_hex(user.ha1_md5, 32))
                    u.fail("ha1_md5", "expected 32 hex digits (MD5 of user:realm:password)");
                user.ha1_md5 = lower(user.ha1_md5);
            }
            if (u.get("ha1_sha256", user.ha1_sha256)) {
                if (!is_hex(user.ha1_sha256, 64))
                    u.fail("ha1_sha256", "expected 64 hex digits (SHA-256 of user:realm:password)");
                user.ha1_sha256 = lower(user.ha1_sha256);
            }
            if (user.password.empty() && user.ha1_md5.empty() && user.ha1_sha256.empty()) {
                u.fail("", "needs password, ha1_md5 or ha1_sha256");
            } else if (user.password.empty()) {
                // With only a stored hash, the user can answer only that algorithm.
                const auto& offered = user.algorithms.empty() ? a.algorithms : user.algorithms;
                auto offers = [&](const char* alg) {
                    return std::find(offered.begin(), offered.end(), alg) != offered.end();
                };
                bool usable = (!user.ha1_md5.empty() && offers("MD5")) ||
                              (!user.ha1_sha256.empty() && offers("SHA-256"));
                if (!usable)
                    u.fail("",
                           "has no credential for the algorithms offered to it (auth.algorithms "
                           "or its own algorithms; add password, or ha1_md5/ha1_sha256 to match)");
            }
            u.finish();
            a.users.push_back(std::move(user));
        }
        t.finish();
        config_.auth = std::move(a);
    }

    // An "algorithms" list ([auth] or one [[auth.users]]): SHA-256 and/or MD5, each once,
    // in offered order. Left as it was when the key is absent.
    void algorithm_list(TableReader& t, std::vector<std::string>& out) {
        std::vector<std::string> algorithms;
        std::vector<const toml::node*> where;
        if (!t.get("algorithms", algorithms, &where)) return;
        out.clear();
        if (algorithms.empty()) t.fail("algorithms", "must name at least one algorithm");
        for (std::size_t i = 0; i < algorithms.size(); ++i) {
            std::string canonical = lower(algorithms[i]) == "sha-256" ? "SHA-256"
                                    : lower(algorithms[i]) == "md5"   ? "MD5"
                                                                      : "";
            std::string key = index_key(t.key_path("algorithms"), i);
            if (canonical.empty()) {
                t.fail_at(where[i], key,
                          "unknown algorithm '" + algorithms[i] + "' (expected SHA-256 or MD5)");
            } else if (std::find(out.begin(), out.end(), canonical) != out.end()) {
                t.fail_at(where[i], key, "algorithm '" + canonical + "' is listed twice");
            } else {
                out.push_back(canonical);
            }
        }
    }

    void transaction() {
        TableReader t(errors_, section("transaction"), "transaction");
        Transaction& x = config_.transaction;
        std::int64_t v = 0;
        if (t.get_int("t1_ms", v, 1, 60000)) x.t1 = std::chrono::milliseconds(v);
        bool has_t2 = t.get_int("t2_ms", v, 1, 600000);
        if (has_t2) x.t2 = std::chrono::milliseconds(v);
        if (t.get_int("t4_ms", v, 1, 600000)) x.t4 = std::chrono::milliseconds(v);
        if (t.get_int("timer_c", v, 1, 86400)) x.timer_c = std::chrono::seconds(v);
        if (t.get_int("fork_timeout", v, 1, 86400)) x.fork_timeout = std::chrono::seconds(v);
        t.get_uint("max_transactions", x.max_transactions, 1, 100000000);
        if (x.t2 < x.t1)
            t.fail(has_t2 ? "t2_ms" : "t1_ms", "t2_ms must be >= t1_ms (RFC 3261 17.1.2.2)");
        t.finish();
    }

    void tcp() {
        TableReader t(errors_, section("tcp"), "tcp");
        std::int64_t v = 0;
        if (t.get_int("idle_timeout", v, 1, 604800))
            config_.tcp.idle_timeout = std::chrono::seconds(v);
        t.get_uint("max_connections", config_.tcp.max_connections, 1, 10000000);
        t.finish();
    }

    void websocket() {
        TableReader t(errors_, section("websocket"), "websocket");
        std::vector<std::string> origins;
        std::vector<const toml::node*> where;
        if (t.get("allowed_origins", origins, &where)) {
            for (std::size_t i = 0; i < origins.size(); ++i) {
                // RFC 6454 6.1: an origin is scheme "://" host [":" port], no path.
                const auto sep = origins[i].find("://");
                if (sep == std::string::npos || sep == 0 || origins[i].size() > 256 ||
                    origins[i].find('/', sep + 3) != std::string::npos)
                    t.fail_at(where[i], index_key(t.key_path("allowed_origins"), i),
                              "expected an origin like https://phone.example.com");
            }
            config_.websocket.allowed_origins = std::move(origins);
        }
        std::int64_t v = 0;
        if (t.get_int("keepalive", v, 1, 86400)) config_.websocket.keepalive = std::chrono::seconds(v);
        t.finish();
    }

    // A PEM file named by a [tls] key: resolved, and readable now (its contents are
    // checked by the daemon, which names the key and file too).
    bool pem_file(TableReader& t, std::string_view key, fs::path& out, bool required) {
        std::string text;
        if (!t.get(key, text) || text.empty()) {
            if (required) t.fail(key, "required");
            return false;
        }
        out = resolve(text);
        std::error_code ec;
        if (!fs::is_regular_file(out, ec)) {
            t.fail(key, "cannot read '" + out.string() + "': " +
                            (ec ? ec.message() : std::string("not a file")));
            return false;
        }
        return true;
    }

    void tls() {
        TableReader t(errors_, section("tls"), "tls");
        Tls& x = config_.tls;
        const bool listens = std::any_of(config_.server.listen.begin(), config_.server.listen.end(),
                                         [](const Listen& l) { return l.scheme == "tls" || l.scheme == "wss"; });
        if (listens && !t.present())
            errors_.add(static_cast<const toml::node*>(nullptr), "tls",
                        "a tls:// or wss:// listen address needs a [tls] section with certificate and private_key");
        if (t.present()) {
            const bool cert = pem_file(t, "certificate", x.certificate, listens);
            const bool key = pem_file(t, "private_key", x.private_key, listens || cert);
            if (key && !cert) t.fail("certificate", "required with private_key");
            pem_file(t, "ca_file", x.ca_file, false);
            t.get("verify_clients", x.verify_clients);
            t.get("ciphers", x.ciphers);
            std::int64_t v = 0;
            if (t.get_int("handshake_timeout", v, 1, 300)) x.handshake_timeout = std::chrono::seconds(v);
            auto tables = detail::table_array(t, "sni");
            for (std::size_t i = 0; i < tables.size(); ++i) {
                TableReader s(errors_, tables[i], index_key("tls.sni", i));
                TlsCertificate c;
                if (s.get("name", c.name)) {
                    c.name = lower(c.name);
                    const bool wildcard = c.name.starts_with("*.");
                    if (!is_domain_name(wildcard ? c.name.substr(2) : c.name))
                        s.fail("name", "expected a host name such as sip.example.com or *.example.com");
                    for (const auto& o : x.sni)
                        if (o.name == c.name) s.fail("name", "duplicate SNI name '" + c.name + "'");
                } else {
                    s.fail("name", "required");
                }
                pem_file(s, "certificate", c.certificate, true);
                pem_file(s, "private_key", c.private_key, true);
                s.finish();
                x.sni.push_back(std::move(c));
            }
        }
        t.finish();
    }

    void security() {
        TableReader t(errors_, section("security"), "security");
        Security& sec = config_.security;
        cidrs(t, "allow", sec.allow, sec.allow_networks);
        cidrs(t, "deny", sec.deny, sec.deny_networks);
        std::string deny_file;
        if (t.get("deny_file", deny_file) && !deny_file.empty()) {
            sec.deny_file = resolve(deny_file);
            auto nets = read_deny_file(sec.deny_file);
            if (nets)
                sec.deny_file_networks = std::move(*nets);
            else
                t.fail("deny_file", nets.error().to_string());
        }
        std::int64_t v = 0;
        if (t.get_int("flood_window", v, 1, 3600)) sec.flood_window = std::chrono::seconds(v);
        t.get_uint("flood_requests", sec.flood_requests, 0, 100000000);
        if (t.get_int("ban_time", v, 1, 31536000)) sec.ban_time = std::chrono::seconds(v);
        std::vector<std::string> agents;
        std::vector<const toml::node*> where;
        if (t.get("scanner_user_agents", agents, &where)) {
            sec.scanner_user_agents.clear();
            for (std::size_t i = 0; i < agents.size(); ++i) {
                if (agents[i].empty() || agents[i].size() > 128)
                    t.fail_at(where[i], index_key(t.key_path("scanner_user_agents"), i),
                              "expected 1 to 128 characters of a User-Agent");
                else
                    sec.scanner_user_agents.push_back(agents[i]);
            }
        }
        t.get_uint("max_connections_per_source", sec.max_connections_per_source, 0, 10000000);
        t.get_uint("max_pending_per_source", sec.max_pending_per_source, 0, 100000000);
        t.get_uint("max_pending_per_destination", sec.max_pending_per_destination, 0, 100000000);
        if (t.get_int("message_timeout", v, 1, 3600)) sec.message_timeout = std::chrono::seconds(v);
        t.get_uint("auth_failures", sec.auth_failures, 0, 1000000);
        if (t.get_int("auth_window", v, 1, 86400)) sec.auth_window = std::chrono::seconds(v);
        if (t.get_int("auth_ban_time", v, 1, 31536000)) sec.auth_ban_time = std::chrono::seconds(v);
        t.get_uint("user_auth_failures", sec.user_auth_failures, 0, 1000000);
        if (t.get_int("user_known_time", v, 1, 31536000)) sec.user_known_time = std::chrono::seconds(v);
        std::string file;
        bool given = t.get("secret_file", file);
        if (given && file.empty()) t.fail("secret_file", "must not be empty");
        config_.security.secret_file =
            given && !file.empty() ? resolve(file) : config_.server.state_dir / "node.secret";
        t.finish();
    }

    void cdr() {
        TableReader t(errors_, section("cdr"), "cdr");
        std::string path;
        if (t.get("path", path)) config_.cdr.path = path.empty() ? fs::path() : resolve(path);
        else config_.cdr.path = config_.server.state_dir / "cdr.jsonl";
        std::int64_t v = 0;
        if (t.get_int("max_call_duration", v, 60, 7 * 86400))
            config_.cdr.max_call_duration = std::chrono::seconds(v);
        t.finish();
    }

    void metrics() {
        TableReader t(errors_, section("metrics"), "metrics");
        std::string listen;
        if (t.get("listen", listen) && !listen.empty()) {
            // host:port with a literal address ([v6]:port), as server.listen without a scheme.
            auto l = parse_listen("tcp://" + listen);
            const auto colon = listen.rfind(':'), bracket = listen.rfind(']');
            const bool has_port =
                colon != std::string::npos && (bracket == std::string::npos || colon > bracket);
            if (!l || !has_port) {
                t.fail("listen", "expected address:port (127.0.0.1:9095, [::1]:9095), got '" +
                                     listen + "'");
            } else {
                config_.metrics.listen = listen;
                config_.metrics.host = l.value().host;
                config_.metrics.port = l.value().port;
            }
        }
        t.finish();
    }

    void gateways() {
        auto tables = detail::table_array(root_, "gateways");
        for (std::size_t i = 0; i < tables.size(); ++i) {
            TableReader t(errors_, tables[i], index_key("gateways", i));
            Gateway g;
            if (name(t, "gateway", g.name)) {
                auto first = gateway_at_.find(g.name);
                if (first != gateway_at_.end())
                    t.fail("name", "duplicate gateway name '" + g.name +
                                       "' (first defined at line " + std::to_string(first->second) +
                                       ")");
                else
                    gateway_at_[g.name] = line_of(t.node("name"));
            }
            if (t.get("uri", g.uri)) {
                if (auto ok = check_gateway_uri(g.uri); !ok) t.fail("uri", ok.error());
            } else if (!t.node("uri")) {
                t.fail("uri", "is required");
            }
            t.get("probe", g.probe);
            std::int64_t v = 0;
            if (t.get_int("probe_interval", v, 1, 86400))
                g.probe_interval = std::chrono::seconds(v);
            t.get_uint("failures_before_down", g.failures_before_down, 1, 100);
            t.get_uint("successes_before_up", g.successes_before_up, 1, 100);
            t.get_uint("weight", g.weight, 1, 65535);
            t.finish();
            config_.gateways.push_back(std::move(g));
        }
    }

    void routes() {
        auto tables = detail::table_array(root_, "routes");
        std::map<std::string, int> route_at;
        for (std::size_t i = 0; i < tables.size(); ++i) {
            TableReader t(errors_, tables[i], index_key("routes", i));
            Route r;
            if (name(t, "route", r.name)) {
                auto first = route_at.find(r.name);
                if (first != route_at.end())
                    t.fail("name", "duplicate route name '" + r.name + "' (first defined at line " +
                                       std::to_string(first->second) + ")");
                else
                    route_at[r.name] = line_of(t.node("name"));
            }
            match(t, r);
            t.get_uint("strip", r.strip, 0, 32);
            if (t.get("prefix", r.prefix) &&
                r.prefix.find_first_of(" \t\r\n@:;?<>\"") != std::string::npos)
                t.fail("prefix", "must not contain spaces or any of @ : ; ? < > \"");
            route_gateways(t, r);
            if (t.get("strategy", r.strategy) && r.strategy != "failover" &&
                r.strategy != "round-robin" && r.strategy != "weighted")
                t.fail("strategy",
                       "expected failover|round-robin|weighted, got '" + r.strategy + "'");
            std::int64_t v = 0;
            if (t.get_int("timeout_ms", v, 0, 3600000)) r.timeout = std::chrono::milliseconds(v);
            cidrs(t, "sources", r.sources, r.source_networks);
            route_users(t, r);
            std::vector<std::string> domains;
            std::vector<const toml::node*> where;
            if (t.get("domains", domains, &where)) {
                for (std::size_t k = 0; k < domains.size(); ++k) {
                    if (!is_domain_name(domains[k]))
                        t.fail_at(where[k], index_key(t.key_path("domains"), k),
                                  "expected a domain name such as example.test, got '" +
                                      domains[k] + "'");
                    else
                        r.domains.push_back(lower(domains[k]));
                }
            }
            t.finish();
            config_.routes.push_back(std::move(r));
        }
    }

    void match(TableReader& t, Route& r) {
        bool has_regex = t.get("match", r.match);
        bool has_prefix = t.get("match_prefix", r.match_prefix);
        if (!has_regex && !has_prefix) {
            if (!t.node("match") && !t.node("match_prefix"))
                t.fail("", "needs match (a regular expression) or match_prefix (a digit prefix)");
            return;
        }
        if (has_regex && has_prefix) {
            t.fail("match_prefix", "set match or match_prefix, not both");
            return;
        }
        if (has_regex) {
            if (r.match.empty()) {
                t.fail("match", "must not be empty (use \"^\" to match every user)");
                return;
            }
            try {
                std::regex re(r.match, std::regex::ECMAScript);
            } catch (const std::regex_error& e) {
                t.fail("match", "not a valid regular expression '" + r.match + "': " + e.what());
            }
            return;
        }
        if (r.match_prefix.empty() ||
            r.match_prefix.find_first_not_of("0123456789+*#") != std::string::npos)
            t.fail("match_prefix", "expected digits (and + * #), got '" + r.match_prefix + "'");
    }

    void route_gateways(TableReader& t, Route& r) {
        std::vector<const toml::node*> where;
        if (!t.get("gateways", r.gateways, &where)) {
            if (!t.node("gateways")) t.fail("gateways", "is required (at least one gateway name)");
            return;
        }
        if (r.gateways.empty()) t.fail("gateways", "must name at least one gateway");
        for (std::size_t k = 0; k < r.gateways.size(); ++k) {
            const std::string& g = r.gateways[k];
            if (std::find(r.gateways.begin(), r.gateways.begin() + k, g) != r.gateways.begin() + k)
                t.fail_at(where[k], t.key_path("gateways"),
                          "route '" + r.name + "' names gateway '" + g + "' twice");
            else if (gateway_names_complete() && !gateway_at_.count(g))
                t.fail_at(where[k], t.key_path("gateways"),
                          "route '" + r.name + "' names gateway '" + g + "', which is not defined");
        }
    }

    void route_users(TableReader& t, Route& r) {
        std::vector<const toml::node*> where;
        if (!t.get("users", r.users, &where)) return;
        if (!r.users.empty() && !config_.auth) {
            t.fail("users", "needs an [auth] section (without it nobody is authenticated)");
            return;
        }
        if (!config_.auth || !user_names_complete_) return;
        for (std::size_t k = 0; k < r.users.size(); ++k) {
            const auto& users = config_.auth->users;
            if (std::none_of(users.begin(), users.end(),
                             [&](const User& u) { return u.user == r.users[k]; }))
                t.fail_at(where[k], t.key_path("users"),
                          "route '" + r.name + "' names user '" + r.users[k] +
                              "', which is not defined in auth.users");
        }
    }

    // A gateway/route name: required, plain. Returns true when usable.
    bool name(TableReader& t, const char* what, std::string& out) {
        if (!t.get("name", out)) {
            if (!t.node("name"))
                t.fail("name", std::string("is required (every ") + what + " has a unique name)");
            else if (std::string_view(what) == "gateway")
                gateway_names_ok_ = false;
            return false;
        }
        if (!is_plain_name(out)) {
            t.fail("name", "expected 1 to 64 letters, digits, '.', '_' or '-', got '" + out + "'");
            if (std::string_view(what) == "gateway") gateway_names_ok_ = false;
            return false;
        }
        return true;
    }

    bool gateway_names_complete() const { return gateway_names_ok_; }

    void cidrs(TableReader& t, std::string_view key, std::vector<std::string>& text,
               std::vector<Cidr>& nets) {
        std::vector<const toml::node*> where;
        if (!t.get(key, text, &where)) return;
        for (std::size_t i = 0; i < text.size(); ++i) {
            auto c = Cidr::parse(text[i]);
            if (c)
                nets.push_back(*c);
            else
                t.fail_at(where[i], index_key(t.key_path(key), i), c.error());
        }
    }

    static int line_of(const toml::node* n) {
        return n && n->source().begin ? static_cast<int>(n->source().begin.line) : 0;
    }

    void warnings() {
        auto& w = config_.warnings;
        if (!config_.auth)
            w.push_back(
                "no [auth] section: nobody is authenticated and any source may use "
                "every route");
        else if (config_.auth->users.empty())
            w.push_back("auth: no users are defined, so every REGISTER is rejected");
        for (const auto& g : config_.gateways) {
            bool used = std::any_of(config_.routes.begin(), config_.routes.end(), [&](auto& r) {
                return std::find(r.gateways.begin(), r.gateways.end(), g.name) != r.gateways.end();
            });
            if (!used) w.push_back("gateway '" + g.name + "' is not used by any route");
        }
    }

    Errors& errors_;
    TableReader root_;
    fs::path file_;
    Config config_;
    std::map<std::string, int> gateway_at_;  // name -> line, for duplicate errors
    bool gateway_names_ok_ = true;           // false: skip dangling-name checks (cascade)
    bool user_names_complete_ = true;
};

}  // namespace

std::string ConfigError::to_string() const {
    std::string out = file;
    if (line > 0) {
        out += ":" + std::to_string(line);
        if (column > 0) out += ":" + std::to_string(column);
    }
    out += ": ";
    if (!key.empty()) out += key + ": ";
    out += message;
    return out;
}

LoadResult load_string(std::string_view text, const fs::path& name) {
    Errors errors(name.string());
    std::error_code ec;
    fs::path file = fs::absolute(name, ec).lexically_normal();
    if (ec) file = name;

    toml::table root;
#if TOML_EXCEPTIONS
    try {
        root = toml::parse(text, name.string());
    } catch (const toml::parse_error& e) {
        errors.add(&e.source(), "", "TOML syntax error: " + std::string(e.description()));
        return Unexpected{errors.first()};
    }
#else
    toml::parse_result parsed = toml::parse(text, name.string());
    if (!parsed) {
        const auto& e = parsed.error();
        errors.add(&e.source(), "", "TOML syntax error: " + std::string(e.description()));
        return Unexpected{errors.first()};
    }
    root = std::move(parsed).table();
#endif

    if (!detail::merge_includes(root, file, errors)) return Unexpected{errors.first()};
    Loader loader(errors, root, file);
    loader.run();
    if (errors.any()) return Unexpected{errors.first()};
    return std::make_shared<const Config>(loader.take());
}

LoadResult load_file(const fs::path& path) {
    auto fail = [&](std::string message) {
        ConfigError e;
        e.file = path.string();
        e.message = std::move(message);
        return Unexpected{e};
    };
    std::error_code ec;
    if (fs::is_directory(path, ec)) return fail("is a directory, not a config file");
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(std::string("cannot open: ") + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return fail(std::string("cannot read: ") + std::strerror(errno));
    return load_string(text.str(), path);
}

}  // namespace sipproxy::config
