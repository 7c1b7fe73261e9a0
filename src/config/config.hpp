#pragma once
// The validated configuration: an immutable snapshot built from the TOML file. Reload
// builds a new snapshot away from the hot path and swaps the shared_ptr; parts that hold
// the old one keep using it until they finish.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/cidr.hpp"
#include "base/expected.hpp"

namespace sipproxy::config {

struct Listen {
    std::string scheme;  // "udp" | "tcp" | "tls" | "ws" | "wss"
    std::string host;    // literal address; IPv6 without brackets ("::1")
    std::uint16_t port = 5060;
    std::string text;    // as written, e.g. "udp://127.0.0.1:5060"
    // tls:// only: ";verify_clients=true|false" overrides [tls] verify_clients for this
    // listener (e.g. a trunk port that asks for a client certificate).
    std::optional<bool> verify_clients;
};

struct Server {
    std::vector<Listen> listen;
    std::vector<std::string> domains;
    unsigned workers = 0;                // 0 = one per core
    std::filesystem::path state_dir;     // absolute (resolved against the config's folder)
    std::string log_level = "info";
    bool log_syslog = false;                  // also to syslog(3), besides stderr
    std::string syslog_facility = "daemon";   // daemon | user | local0 .. local7
    std::size_t max_message_size = 65535;
    std::string node_id;                 // names this node in a cluster; default: host name
};

struct Control {
    std::filesystem::path socket;        // absolute
};

struct Registrar {
    std::uint32_t min_expires = 60;
    std::uint32_t max_expires = 7200;
    std::uint32_t default_expires = 3600;
    std::uint32_t max_contacts = 10;
    std::string store = "sqlite";        // "sqlite" | "memory" | "redis"
};

// A Redis Sentinel, "host:port" in the config (port 26379 when left out).
struct SentinelAddress {
    std::string host;
    std::uint16_t port = 26379;
};

// [redis]: the shared location store of a cluster (registrar.store = "redis").
struct Redis {
    std::string url = "redis://127.0.0.1:6379/0";
    std::string host = "127.0.0.1";      // from url; empty with sentinels
    std::uint16_t port = 6379;           // from url
    int db = 0;                          // from url
    std::string password;
    // Instead of url's host:port: the sentinels asked for the primary of `sentinel_master`
    // (url = "redis:///DB" may still give the database).
    std::vector<std::string> sentinels{};             // as written
    std::vector<SentinelAddress> sentinel_addresses{};  // parsed
    std::string sentinel_master;
    std::string sentinel_password;                    // AUTH to the sentinels when not empty
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds command_timeout{1000};
};

struct User {
    std::string user;
    std::string password;    // at most one of password / ha1_* is typically set
    std::string ha1_md5;     // hex
    std::string ha1_sha256;  // hex
    // Offered to this user instead of auth.algorithms (an old phone that answers only
    // MD5 does not lower everybody's security); empty: auth.algorithms.
    std::vector<std::string> algorithms{};
};

struct Auth {
    std::string realm;
    std::vector<std::string> algorithms{"SHA-256", "MD5"};
    std::uint32_t nonce_ttl = 300;
    std::vector<std::string> trusted;    // CIDRs, validated
    std::vector<Cidr> trusted_networks;  // the same, parsed (same order)
    std::vector<User> users;
};

struct Transaction {
    std::chrono::milliseconds t1{500};
    std::chrono::milliseconds t2{4000};
    std::chrono::milliseconds t4{5000};
    std::chrono::seconds timer_c{180};
    std::chrono::seconds fork_timeout{30};  // no-answer time per group of a sequential fork
    std::size_t max_transactions = 200000;
};

struct Tcp {
    std::chrono::seconds idle_timeout{300};
    std::size_t max_connections = 10000;
};

// [websocket]: what ws:// and wss:// listeners accept (RFC 6455 10.2 Origin check).
struct WebSocket {
    std::vector<std::string> allowed_origins;  // empty: any Origin
    std::chrono::seconds keepalive{180};       // ping after this long without a frame
};

// [tls]: the certificates the proxy serves and how it verifies peers. Paths are absolute
// (resolved against the config file's folder); the files are read by the daemon
// (transport/tls_contexts.cpp), at start and at each reload.
struct TlsCertificate {
    std::string name;                    // [[tls.sni]] name (a host name); empty: the default
    std::filesystem::path certificate;   // PEM chain
    std::filesystem::path private_key;   // PEM
};
struct Tls {
    std::filesystem::path certificate;   // empty: no certificate (no TLS listener allowed)
    std::filesystem::path private_key;
    std::filesystem::path ca_file;       // empty: the system store
    bool verify_clients = false;         // ask inbound TLS clients for a certificate
    std::string ciphers;                 // OpenSSL cipher list for TLS 1.2; empty: default
    std::chrono::seconds handshake_timeout{10};
    std::vector<TlsCertificate> sni;
};

// [security]: who may send at all, and how much. Defaults and why: man/sipproxy.toml.5.
struct Security {
    std::vector<std::string> allow;        // CIDRs exempt from every limit (with auth.trusted)
    std::vector<Cidr> allow_networks;
    std::vector<std::string> deny;         // CIDRs dropped silently
    std::vector<Cidr> deny_networks;
    std::filesystem::path deny_file;       // absolute; empty: none
    std::vector<Cidr> deny_file_networks;  // its lines, parsed (re-read on reload)
    std::chrono::seconds flood_window{2};
    std::uint32_t flood_requests = 1000;   // per source per window; 0: no limit
    std::chrono::seconds ban_time{300};
    std::vector<std::string> scanner_user_agents{"friendly-scanner", "sipvicious", "sipcli",
                                                 "VaxSIPUserAgent", "pplsip", "sip-scan",
                                                 "sundayddr", "iWar", "SIVuS"};
    std::size_t max_connections_per_source = 256;  // 0: no limit
    // Transactions waiting for a final response per source, and per next hop (an IPv4
    // address or IPv6 /64); over it: 503 with Retry-After for that one (0: no cap).
    std::uint32_t max_pending_per_source = 10000;
    std::uint32_t max_pending_per_destination = 10000;
    std::chrono::seconds message_timeout{10};
    // Password guessing: auth_failures failed authentications from one source within
    // auth_window ban it for auth_ban_time (0 failures: off); a success forgets them.
    std::uint32_t auth_failures = 10;
    std::chrono::seconds auth_window{600};
    std::chrono::seconds auth_ban_time{3600};
    // One user guessed at from many sources: user_auth_failures failed authentications
    // for one user name (from any source) within auth_window throttle the name; then only
    // sources that authenticated as that user within user_known_time may try (0: off).
    std::uint32_t user_auth_failures = 20;
    std::chrono::seconds user_known_time{86400};
    // The node secret that signs Record-Route and Via branch tokens (32 random bytes as
    // 64 hex digits); created 0600 on first start when missing. Absolute.
    std::filesystem::path secret_file;
};

// Call detail records (issue #13): one JSON line per call attempt.
struct Cdr {
    std::filesystem::path path;          // absolute; empty: no records written
    // An answered call whose BYE this proxy never sees ends with ended_by "timeout"
    // after this long (a lost BYE must not keep a call, and its bill, open forever).
    std::chrono::seconds max_call_duration{14400};
};

// The Prometheus endpoint (GET /metrics).
struct Metrics {
    std::string listen;                  // as written, "127.0.0.1:9095"; empty: off
    std::string host;                    // literal address, IPv6 without brackets
    std::uint16_t port = 0;
};

struct Gateway {
    std::string name;
    std::string uri;                     // sip:host[:port][;transport=tcp]
    bool probe = false;
    std::chrono::seconds probe_interval{30};
    unsigned failures_before_down = 3;
    unsigned successes_before_up = 2;
    unsigned weight = 1;                 // for strategy = "weighted"
};

struct Route {
    std::string name;
    std::string match;                   // regex on the Request-URI user part ("" if prefix)
    std::string match_prefix;            // literal prefix ("" if regex)
    unsigned strip = 0;
    std::string prefix;                  // prepended after strip
    std::vector<std::string> gateways;   // names, all defined
    std::string strategy = "failover";   // failover | round-robin | weighted
    std::chrono::milliseconds timeout{0};// no-answer timeout per gateway; 0 = timer C
    std::vector<std::string> sources;    // CIDRs allowed to use it (empty = any)
    std::vector<Cidr> source_networks;   // the same, parsed (same order)
    std::vector<std::string> users;      // authenticated users allowed (empty = any)
    std::vector<std::string> domains;    // Request-URI domains it applies to (empty = any)
};

// [[fraud]]: call limits for authenticated users (toll fraud). A threshold of 0 is unset.
struct FraudThreshold {
    std::uint32_t warning = 0;   // the call that brings the count to this is logged and counted
    std::uint32_t critical = 0;  // the most allowed: a call beyond it is refused (403)
    bool operator==(const FraudThreshold&) const = default;
};
struct FraudRule {
    std::string user = "*";      // a user name, or "*": every user (each counted apart)
    std::string route;           // a [[routes]] name; "": every call of the user
    bool total = false;          // scope = "total": the calls of all users together
    FraudThreshold calls_per_minute, calls_per_day, concurrent_calls;
    int line = 0;                // where it is in the file (errors, diff)
    bool operator==(const FraudRule& o) const {
        return user == o.user && route == o.route && total == o.total &&
               calls_per_minute == o.calls_per_minute && calls_per_day == o.calls_per_day &&
               concurrent_calls == o.concurrent_calls;
    }
};

struct Config {
    std::filesystem::path file;          // absolute path of the file it came from
    Server server;
    Control control;
    Registrar registrar;
    Redis redis;
    std::optional<Auth> auth;            // nullopt: nobody is authenticated
    Transaction transaction;
    Tcp tcp;
    WebSocket websocket;
    Tls tls;
    Security security;
    Cdr cdr;
    Metrics metrics;
    std::vector<Gateway> gateways;
    std::vector<Route> routes;
    std::vector<FraudRule> fraud;
    // Valid but probably unintended (no [auth], a gateway no route uses, ...); the daemon
    // logs them at startup and reload. Not compared by diff().
    std::vector<std::string> warnings;
};

struct ConfigError {
    std::string file;
    int line = 0;        // 0 when not tied to a place in the file
    int column = 0;
    std::string key;     // dotted path, e.g. "routes[2].gateways"; may be empty
    std::string message;
    // "file:line:column: key: message"
    std::string to_string() const;
};

using LoadResult = Expected<std::shared_ptr<const Config>, ConfigError>;

LoadResult load_file(const std::filesystem::path& path);

// A deny list file (security.deny_file): one address or CIDR per line, '#' starts a
// comment, blank lines ignored (what APIBAN and fail2ban write). Errors name the line.
Expected<std::vector<Cidr>, ConfigError> read_deny_file(const std::filesystem::path& path);
Expected<std::vector<Cidr>, ConfigError> parse_deny_list(std::string_view text,
                                                         const std::string& name);
// `name` is used in errors and to resolve relative paths (its parent folder).
LoadResult load_string(std::string_view toml, const std::filesystem::path& name);

// Human-readable list of what differs, one line per key, e.g. "registrar.max_expires:
// 7200 -> 3600", "routes: added 'pstn'", "routes['pstn']: changed: strip 1 -> 0",
// "server.listen: added tcp://127.0.0.1:5062", "auth.users: added bob". Secrets are never
// printed. Empty when nothing changed.
std::vector<std::string> diff(const Config& before, const Config& after);
// The keys among diff()'s lines that a running daemon reads only at start (the listen
// sockets' workers, the control socket, the location store, transaction timers and caps,
// TCP limits, the message size, the node secret): a reload reports them, and they take
// effect at the next start. One table (diff.cpp) decides.
std::vector<std::string> restart_needed(const std::vector<std::string>& diff_lines);
// The restart-only keys ("transaction.t1_ms") whose value in `next` differs from the one the
// daemon `running` since its start still uses: a change stays pending, reload after reload,
// until a restart or until the file says the running value again.
std::vector<std::string> restart_pending(const Config& running, const Config& next);

}  // namespace sipproxy::config
