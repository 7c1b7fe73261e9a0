// Every way a config can be wrong, with the exact "file:line:column: key: message" the
// operator sees.
#include <catch2/catch.hpp>

#include "config/config.hpp"

using namespace sipproxy::config;

namespace {

struct Case {
    const char* toml;
    const char* error;
};

void check_errors(std::initializer_list<Case> cases) {
    for (const Case& c : cases) {
        INFO("config:\n" << c.toml);
        auto r = load_string(c.toml, "t.toml");
        REQUIRE_FALSE(r);
        CHECK(r.error().to_string() == c.error);
        CHECK(r.error().file == "t.toml");
    }
}

}  // namespace

TEST_CASE("TOML syntax errors name the line and column") {
    auto r = load_string("[server]\nworkers = = 3\n", "t.toml");
    REQUIRE_FALSE(r);
    CHECK(r.error().line == 2);
    CHECK(r.error().column > 0);
    CHECK(r.error().key.empty());
    CHECK(r.error().to_string().rfind("t.toml:2:", 0) == 0);
    CHECK(r.error().message.rfind("TOML syntax error: ", 0) == 0);

    auto dup = load_string("[server]\nworkers = 1\nworkers = 2\n", "t.toml");
    REQUIRE_FALSE(dup);
    CHECK(dup.error().line == 3);
}

TEST_CASE("unknown keys are errors everywhere") {
    check_errors({
        {"sever = 1\n", "t.toml:1:1: sever: unknown key"},
        {"[sever]\nlisten = []\n", "t.toml:1:2: sever: unknown key"},
        {"[server]\nworkers = 1\nwrokers = 2\n", "t.toml:3:1: server.wrokers: unknown key"},
        {"[control]\nsock = \"x\"\n", "t.toml:2:1: control.sock: unknown key"},
        {"[registrar]\nexpires = 5\n", "t.toml:2:1: registrar.expires: unknown key"},
        {"[auth]\nrealm = \"r\"\nusers_file = \"x\"\n", "t.toml:3:1: auth.users_file: unknown key"},
        {"[auth]\nrealm = \"r\"\n[[auth.users]]\nuser = \"a\"\npassword = \"p\"\nrole = "
         "\"admin\"\n",
         "t.toml:6:1: auth.users[0].role: unknown key"},
        {"[transaction]\nt3_ms = 1\n", "t.toml:2:1: transaction.t3_ms: unknown key"},
        {"[tcp]\nkeepalive = 1\n", "t.toml:2:1: tcp.keepalive: unknown key"},
        {"[[gateways]]\nname = \"g\"\nuri = \"sip:g\"\nport = 5060\n",
         "t.toml:4:1: gateways[0].port: unknown key"},
        {"[[gateways]]\nname = \"g\"\nuri = \"sip:g\"\n[[routes]]\nname = \"r\"\nmatch = \"^\"\n"
         "gateways = [\"g\"]\nregex = \"x\"\n",
         "t.toml:8:1: routes[0].regex: unknown key"},
        // the one nearest the top is reported
        {"[server]\nzzz = 1\naaa = 2\n", "t.toml:2:1: server.zzz: unknown key"},
    });
}

TEST_CASE("wrong types are errors") {
    check_errors({
        {"server = 5\n", "t.toml:1:10: server: expected a table ([server]), got an integer"},
        {"[server]\nworkers = \"4\"\n",
         "t.toml:2:11: server.workers: expected an integer, got a string"},
        {"[server]\nworkers = 1.5\n",
         "t.toml:2:11: server.workers: expected an integer, got a float"},
        {"[server]\nlisten = \"udp://127.0.0.1:5060\"\n",
         "t.toml:2:10: server.listen: expected an array of strings, got a string"},
        {"[server]\ndomains = [\"a.test\", 5]\n",
         "t.toml:2:22: server.domains[1]: expected a string, got an integer"},
        {"[server]\nlog_level = 3\n",
         "t.toml:2:13: server.log_level: expected a string, got an integer"},
        {"[registrar]\nmin_expires = \"60\"\n",
         "t.toml:2:15: registrar.min_expires: expected an integer, got a string"},
        {"[[gateways]]\nname = \"g\"\nuri = \"sip:g\"\nprobe = \"yes\"\n",
         "t.toml:4:9: gateways[0].probe: expected a boolean (true or false), got a string"},
        {"gateways = 3\n",
         "t.toml:1:12: gateways: expected an array of tables ([[gateways]]), got an integer"},
        {"[gateways]\nname = \"g\"\n",
         "t.toml:1:1: gateways: expected an array of tables ([[gateways]]), got a table"},
        {"routes = [1, 2]\n",
         "t.toml:1:10: routes: expected an array of tables ([[routes]]), got an array"},
        {"[auth]\nrealm = \"r\"\nusers = \"alice\"\n",
         "t.toml:3:9: auth.users: expected an array of tables ([[auth.users]]), got a string"},
        {"[transaction]\ntimer_c = true\n",
         "t.toml:2:11: transaction.timer_c: expected an integer, got a boolean"},
        {"[tcp]\nidle_timeout = 1979-05-27\n",
         "t.toml:2:16: tcp.idle_timeout: expected an integer, got a date"},
    });
}

TEST_CASE("[server] errors") {
    check_errors({
        {"[server]\nworkers = 2000\n",
         "t.toml:2:11: server.workers: must be between 0 and 1024, got 2000"},
        {"[server]\nworkers = -1\n",
         "t.toml:2:11: server.workers: must be between 0 and 1024, got -1"},
        {"[server]\nlisten = []\n", "t.toml:2:10: server.listen: must name at least one address"},
        {"[server]\nlisten = [\"udp://127.0.0.1:5060\", \"sctp://127.0.0.1:5060\"]\n",
         "t.toml:2:35: server.listen[1]: expected scheme://host:port with scheme udp|tcp|tls|ws|wss, got "
         "'sctp://127.0.0.1:5060'"},
        {"[server]\nlisten = [\"127.0.0.1:5060\"]\n",
         "t.toml:2:11: server.listen[0]: expected scheme://host:port with scheme udp|tcp|tls|ws|wss, got "
         "'127.0.0.1:5060'"},
        {"[server]\nlisten = [\"udp://127.0.0.1:0\"]\n",
         "t.toml:2:11: server.listen[0]: port must be between 1 and 65535, got "
         "'udp://127.0.0.1:0'"},
        {"[server]\nlisten = [\"udp://127.0.0.1:70000\"]\n",
         "t.toml:2:11: server.listen[0]: port must be between 1 and 65535, got "
         "'udp://127.0.0.1:70000'"},
        {"[server]\nlisten = [\"udp://localhost:5060\"]\n",
         "t.toml:2:11: server.listen[0]: host must be a literal IPv4 address or a bracketed IPv6 "
         "address, got 'udp://localhost:5060'"},
        {"[server]\nlisten = [\"udp://::1:5060\"]\n",
         "t.toml:2:11: server.listen[0]: IPv6 addresses need brackets, e.g. udp://[::1]:5060; got "
         "'udp://::1:5060'"},
        {"[server]\nlisten = [\"udp://[127.0.0.1]:5060\"]\n",
         "t.toml:2:11: server.listen[0]: expected scheme://host:port with scheme udp|tcp|tls|ws|wss, got "
         "'udp://[127.0.0.1]:5060'"},
        {"[server]\nlisten = [\"udp://127.0.0.1:5060/x\"]\n",
         "t.toml:2:11: server.listen[0]: port must be between 1 and 65535, got "
         "'udp://127.0.0.1:5060/x'"},
        {"[server]\nlisten = [\"tcp://127.0.0.1:5060;verify_clients=true\"]\n",
         "t.toml:2:11: server.listen[0]: verify_clients applies to tls:// listeners only, got "
         "'tcp://127.0.0.1:5060;verify_clients=true'"},
        {"[server]\nlisten = [\"udp://127.0.0.1:5060;transport=x\"]\n",
         "t.toml:2:11: server.listen[0]: unknown listen parameter 'transport=x' (known: "
         "verify_clients=true|false, tls:// only), got 'udp://127.0.0.1:5060;transport=x'"},
        {"[server]\nlisten = [\"udp://127.0.0.1:5060\", \"UDP://127.0.0.1:5060\"]\n",
         "t.toml:2:35: server.listen[1]: duplicate listen address 'UDP://127.0.0.1:5060'"},
        {"[server]\ndomains = [\"example test\"]\n",
         "t.toml:2:12: server.domains[0]: expected a domain name such as example.test, got "
         "'example test'"},
        {"[server]\ndomains = [\"a.test\", \"A.TEST\"]\n",
         "t.toml:2:22: server.domains[1]: duplicate domain 'a.test'"},
        {"[server]\nstate_dir = \"\"\n", "t.toml:2:13: server.state_dir: must not be empty"},
        {"[server]\nlog_level = \"verbose\"\n",
         "t.toml:2:13: server.log_level: expected trace|debug|info|warn|error, got 'verbose'"},
        {"[server]\nmax_message_size = 10\n",
         "t.toml:2:20: server.max_message_size: must be between 1024 and 1048576, got 10"},
    });
}

TEST_CASE("[control] errors") {
    std::string longname(120, 'x');
    check_errors({
        {"[control]\nsocket = \"\"\n", "t.toml:2:10: control.socket: must not be empty"},
    });
    auto r = load_string("[control]\nsocket = \"/tmp/" + longname + "\"\n", "t.toml");
    REQUIRE_FALSE(r);
    CHECK(r.error().to_string() ==
          "t.toml:2:10: control.socket: path is too long for a Unix "
          "socket (125 bytes, at most 107): /tmp/" +
              longname);
    // a default socket under a too-deep state_dir is blamed on [control] socket, no line
    auto d = load_string("[server]\nstate_dir = \"/tmp/" + longname + "\"\n", "t.toml");
    REQUIRE_FALSE(d);
    CHECK(d.error().key == "control.socket");
    CHECK(d.error().line == 0);
}

TEST_CASE("[registrar] errors") {
    check_errors({
        {"[registrar]\nmin_expires = 4000\n",
         "t.toml:2:15: registrar.min_expires: min_expires must be <= default_expires <= "
         "max_expires (got 4000, 3600, 7200)"},
        {"[registrar]\nmax_expires = 100\n",
         "t.toml:2:15: registrar.max_expires: min_expires must be <= default_expires <= "
         "max_expires (got 60, 3600, 100)"},
        {"[registrar]\ndefault_expires = 30\n",
         "t.toml:2:19: registrar.default_expires: min_expires must be <= default_expires <= "
         "max_expires (got 60, 30, 7200)"},
        {"[registrar]\nmin_expires = 0\n",
         "t.toml:2:15: registrar.min_expires: must be between 1 and 4294967295, got 0"},
        {"[registrar]\nmax_contacts = 0\n",
         "t.toml:2:16: registrar.max_contacts: must be between 1 and 1000, got 0"},
        {"[registrar]\nstore = \"mysql\"\n",
         "t.toml:2:9: registrar.store: expected \"sqlite\", \"memory\" or \"redis\", got 'mysql'"},
        {"[redis]\nurl = \"http://x\"\n",
         "t.toml:2:7: redis.url: expected redis://HOST:PORT/DB, got 'http://x'"},
        {"[redis]\nurl = \"redis://h:99999/0\"\n",
         "t.toml:2:7: redis.url: expected redis://HOST:PORT/DB, got 'redis://h:99999/0'"},
        {"[redis]\nurl = \"redis:///0\"\n",
         "t.toml:2:7: redis.url: expected redis://HOST:PORT/DB, got 'redis:///0' (a URL "
         "without a host needs sentinels)"},
        {"[redis]\nsentinels = [\"127.0.0.1:26379\"]\n",
         "t.toml:2:13: redis.sentinels: sentinels need sentinel_master, the name the sentinels "
         "monitor the primary under"},
        {"[redis]\nsentinels = [\"127.0.0.1:26379\"]\nsentinel_master = \"\"\n",
         "t.toml:3:19: redis.sentinel_master: sentinels need sentinel_master, the name the "
         "sentinels monitor the primary under"},
        {"[redis]\nsentinel_master = \"m\"\n",
         "t.toml:2:19: redis.sentinel_master: needs sentinels, the sentinels to ask for it"},
        {"[redis]\nsentinel_password = \"x\"\n",
         "t.toml:2:21: redis.sentinel_password: needs sentinels"},
        {"[redis]\nsentinels = []\nsentinel_master = \"m\"\n",
         "t.toml:2:13: redis.sentinels: is empty: list at least one sentinel, or remove the key"},
        {"[redis]\nsentinels = [\"a:1\", \"b:0\"]\nsentinel_master = \"m\"\n",
         "t.toml:2:21: redis.sentinels[1]: expected HOST:PORT of a Redis Sentinel, got 'b:0'"},
        {"[redis]\nsentinels = [\"10.0.0.1:26379\"]\nsentinel_master = \"m\"\n"
         "url = \"redis://10.0.0.5:6379/0\"\n",
         "t.toml:4:7: redis.url: names a host, and sentinels are set: use one or the other "
         "(with sentinels, url = \"redis:///DB\" gives the database only)"},
        {"[redis]\nsentinels = [\"10.0.0.1:26379\"]\nsentinel_master = \"m\"\nsentinel = 1\n",
         "t.toml:4:1: redis.sentinel: unknown key"},
    });
}

TEST_CASE("[auth] errors") {
    check_errors({
        {"[auth]\nnonce_ttl = 10\n",
         "t.toml:1:1: auth.realm: is required when server.domains is empty (it defaults to the "
         "first domain)"},
        {"[auth]\nrealm = \"\"\n",
         "t.toml:2:9: auth.realm: expected a non-empty realm without '\"'"},
        {"[auth]\nrealm = \"r\"\nalgorithms = [\"SHA-256\", \"SHA1\"]\n",
         "t.toml:3:26: auth.algorithms[1]: unknown algorithm 'SHA1' (expected SHA-256 or MD5)"},
        {"[auth]\nrealm = \"r\"\nalgorithms = []\n",
         "t.toml:3:14: auth.algorithms: must name at least one algorithm"},
        {"[auth]\nrealm = \"r\"\nalgorithms = [\"MD5\", \"md5\"]\n",
         "t.toml:3:22: auth.algorithms[1]: algorithm 'MD5' is listed twice"},
        {"[auth]\nrealm = \"r\"\nnonce_ttl = 0\n",
         "t.toml:3:13: auth.nonce_ttl: must be between 1 and 86400, got 0"},
        {"[auth]\nrealm = \"r\"\ntrusted = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n",
         "t.toml:3:26: auth.trusted[1]: bad CIDR '10.0.0.0/33': prefix length must be 0..32"},
        {"[auth]\nrealm = \"r\"\ntrusted = [\"gateway.example.net\"]\n",
         "t.toml:3:12: auth.trusted[0]: bad CIDR 'gateway.example.net': expected an IPv4 or IPv6 "
         "address, optionally with /prefix-length"},
        {"[auth]\nrealm = \"r\"\n[[auth.users]]\nuser = \"alice\"\n",
         "t.toml:3:1: auth.users[0]: needs password, ha1_md5 or ha1_sha256"},
        {"[auth]\nrealm = \"r\"\n[[auth.users]]\npassword = \"p\"\n",
         "t.toml:3:1: auth.users[0].user: is required"},
        {"[auth]\nrealm = \"r\"\n[[auth.users]]\nuser = \"a:b\"\npassword = \"p\"\n",
         "t.toml:4:8: auth.users[0].user: expected a user name without ':', '@', '\"' or spaces"},
        {"[auth]\nrealm = \"r\"\n[[auth.users]]\nuser = \"a\"\npassword = \"p\"\n"
         "[[auth.users]]\nuser = \"a\"\npassword = \"q\"\n",
         "t.toml:7:8: auth.users[1].user: duplicate user 'a'"},
        {"[auth]\nrealm = \"r\"\n[[auth.users]]\nuser = \"a\"\nha1_md5 = \"abc\"\n",
         "t.toml:5:11: auth.users[0].ha1_md5: expected 32 hex digits (MD5 of user:realm:password)"},
        {"[auth]\nrealm = \"r\"\n[[auth.users]]\nuser = \"a\"\nha1_sha256 = "
         "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\"\n",
         "t.toml:5:14: auth.users[0].ha1_sha256: expected 64 hex digits (SHA-256 of "
         "user:realm:password)"},
        {"[auth]\nrealm = \"r\"\nalgorithms = [\"SHA-256\"]\n[[auth.users]]\nuser = \"a\"\n"
         "ha1_md5 = \"0123456789abcdef0123456789abcdef\"\n",
         "t.toml:4:1: auth.users[0]: has no credential for the algorithms offered to it "
         "(auth.algorithms or its own algorithms; add password, or ha1_md5/ha1_sha256 to match)"},
        // A user's own list is checked like [auth]'s, and with its own HA1s.
        {"[auth]\nrealm = \"r\"\n[[auth.users]]\nuser = \"a\"\npassword = \"p\"\n"
         "algorithms = [\"MD5\", \"SHA1\"]\n",
         "t.toml:6:22: auth.users[0].algorithms[1]: unknown algorithm 'SHA1' (expected SHA-256 or "
         "MD5)"},
        {"[auth]\nrealm = \"r\"\n[[auth.users]]\nuser = \"a\"\n"
         "ha1_md5 = \"0123456789abcdef0123456789abcdef\"\nalgorithms = [\"SHA-256\"]\n",
         "t.toml:3:1: auth.users[0]: has no credential for the algorithms offered to it "
         "(auth.algorithms or its own algorithms; add password, or ha1_md5/ha1_sha256 to match)"},
    });
}

TEST_CASE("[transaction] and [tcp] errors") {
    check_errors({
        {"[transaction]\nt1_ms = 0\n",
         "t.toml:2:9: transaction.t1_ms: must be between 1 and 60000, got 0"},
        {"[transaction]\nt1_ms = 5000\nt2_ms = 4000\n",
         "t.toml:3:9: transaction.t2_ms: t2_ms must be >= t1_ms (RFC 3261 17.1.2.2)"},
        {"[transaction]\nt1_ms = 5000\n",
         "t.toml:2:9: transaction.t1_ms: t2_ms must be >= t1_ms (RFC 3261 17.1.2.2)"},
        {"[transaction]\ntimer_c = 0\n",
         "t.toml:2:11: transaction.timer_c: must be between 1 and 86400, got 0"},
        {"[transaction]\nmax_transactions = 0\n",
         "t.toml:2:20: transaction.max_transactions: must be between 1 and 100000000, got 0"},
        {"[tcp]\nidle_timeout = 0\n",
         "t.toml:2:16: tcp.idle_timeout: must be between 1 and 604800, got 0"},
        {"[tcp]\nmax_connections = 0\n",
         "t.toml:2:19: tcp.max_connections: must be between 1 and 10000000, got 0"},
    });
}

TEST_CASE("[cdr] and [metrics] errors") {
    check_errors({
        {"[cdr]\npath = 1\n", "t.toml:2:8: cdr.path: expected a string, got an integer"},
        {"[cdr]\nmax_call_duration = 10\n",
         "t.toml:2:21: cdr.max_call_duration: must be between 60 and 604800, got 10"},
        {"[cdr]\nfile = \"x\"\n", "t.toml:2:1: cdr.file: unknown key"},
        {"[metrics]\nlisten = \"9095\"\n",
         "t.toml:2:10: metrics.listen: expected address:port (127.0.0.1:9095, [::1]:9095), got '9095'"},
        {"[metrics]\nlisten = \"localhost:9095\"\n",
         "t.toml:2:10: metrics.listen: expected address:port (127.0.0.1:9095, [::1]:9095), got "
         "'localhost:9095'"},
        {"[metrics]\nlisten = \"127.0.0.1\"\n",
         "t.toml:2:10: metrics.listen: expected address:port (127.0.0.1:9095, [::1]:9095), got "
         "'127.0.0.1'"},
    });
}

TEST_CASE("[[gateways]] errors") {
    check_errors({
        {"[[gateways]]\nuri = \"sip:g\"\n",
         "t.toml:1:1: gateways[0].name: is required (every gateway has a unique name)"},
        {"[[gateways]]\nname = \"g\"\n", "t.toml:1:1: gateways[0].uri: is required"},
        {"[[gateways]]\nname = \"carrier a\"\nuri = \"sip:g\"\n",
         "t.toml:2:8: gateways[0].name: expected 1 to 64 letters, digits, '.', '_' or '-', got "
         "'carrier a'"},
        {"[[gateways]]\nname = \"g\"\nuri = \"sip:a\"\n[[gateways]]\nname = \"g\"\nuri = "
         "\"sip:b\"\n",
         "t.toml:5:8: gateways[1].name: duplicate gateway name 'g' (first defined at line 2)"},
        {"[[gateways]]\nname = \"g\"\nuri = \"http://g\"\n",
         "t.toml:3:7: gateways[0].uri: expected a sip: or sips: URI with a host, e.g. "
         "sip:192.0.2.10:5060, got 'http://g'"},
        {"[[gateways]]\nname = \"g\"\nuri = \"sip:\"\n",
         "t.toml:3:7: gateways[0].uri: expected a sip: or sips: URI with a host, e.g. "
         "sip:192.0.2.10:5060, got 'sip:'"},
        {"[[gateways]]\nname = \"g\"\nuri = \"sip:user@\"\n",
         "t.toml:3:7: gateways[0].uri: expected a sip: or sips: URI with a host, e.g. "
         "sip:192.0.2.10:5060, got 'sip:user@'"},
        {"[[gateways]]\nname = \"g\"\nuri = \"sip:g:0\"\n",
         "t.toml:3:7: gateways[0].uri: port must be between 1 and 65535, got 'sip:g:0'"},
        {"[[gateways]]\nname = \"g\"\nuri = \"sip:g?subject=x\"\n",
         "t.toml:3:7: gateways[0].uri: expected a sip: or sips: URI with a host, e.g. "
         "sip:192.0.2.10:5060, got 'sip:g?subject=x'"},
        {"[[gateways]]\nname = \"g\"\nuri = \"sip:g\"\nprobe_interval = 0\n",
         "t.toml:4:18: gateways[0].probe_interval: must be between 1 and 86400, got 0"},
        {"[[gateways]]\nname = \"g\"\nuri = \"sip:g\"\nfailures_before_down = 0\n",
         "t.toml:4:24: gateways[0].failures_before_down: must be between 1 and 100, got 0"},
        {"[[gateways]]\nname = \"g\"\nuri = \"sip:g\"\nsuccesses_before_up = 101\n",
         "t.toml:4:23: gateways[0].successes_before_up: must be between 1 and 100, got 101"},
        {"[[gateways]]\nname = \"g\"\nuri = \"sip:g\"\nweight = 0\n",
         "t.toml:4:10: gateways[0].weight: must be between 1 and 65535, got 0"},
    });
}

namespace {
const char* kGw = "[[gateways]]\nname = \"carrier-a\"\nuri = \"sip:192.0.2.1\"\n";  // 3 lines
std::string with_gw(const char* rest) {
    return std::string(kGw) + rest;
}
}  // namespace

TEST_CASE("[[routes]] errors") {
    struct C {
        std::string toml;
        const char* error;
    };
    std::vector<C> cases{
        {with_gw("[[routes]]\nname = \"pstn\"\nmatch = \"^9\"\ngateways = [\"carrier-a\", "
                 "\"carrier-x\"]\n"),
         "t.toml:7:26: routes[0].gateways: route 'pstn' names gateway 'carrier-x', which is not "
         "defined"},
        {with_gw("[[routes]]\nname = \"pstn\"\nmatch = \"^9\"\ngateways = [\"carrier-a\", "
                 "\"carrier-a\"]\n"),
         "t.toml:7:26: routes[0].gateways: route 'pstn' names gateway 'carrier-a' twice"},
        {with_gw("[[routes]]\nname = \"pstn\"\nmatch = \"^9\"\ngateways = []\n"),
         "t.toml:7:12: routes[0].gateways: must name at least one gateway"},
        {with_gw("[[routes]]\nname = \"pstn\"\nmatch = \"^9\"\n"),
         "t.toml:4:1: routes[0].gateways: is required (at least one gateway name)"},
        {with_gw("[[routes]]\nmatch = \"^9\"\ngateways = [\"carrier-a\"]\n"),
         "t.toml:4:1: routes[0].name: is required (every route has a unique name)"},
        {with_gw("[[routes]]\nname = \"r\"\nmatch = \"^9\"\ngateways = [\"carrier-a\"]\n"
                 "[[routes]]\nname = \"r\"\nmatch = \"^8\"\ngateways = [\"carrier-a\"]\n"),
         "t.toml:9:8: routes[1].name: duplicate route name 'r' (first defined at line 5)"},
        {with_gw("[[routes]]\nname = \"r\"\ngateways = [\"carrier-a\"]\n"),
         "t.toml:4:1: routes[0]: needs match (a regular expression) or match_prefix (a digit "
         "prefix)"},
        {with_gw("[[routes]]\nname = \"r\"\nmatch = \"^9\"\nmatch_prefix = \"9\"\n"
                 "gateways = [\"carrier-a\"]\n"),
         "t.toml:7:16: routes[0].match_prefix: set match or match_prefix, not both"},
        {with_gw("[[routes]]\nname = \"r\"\nmatch = \"^(9\"\ngateways = [\"carrier-a\"]\n"),
         nullptr},  // regex message comes from the library: checked below
        {with_gw("[[routes]]\nname = \"r\"\nmatch = \"\"\ngateways = [\"carrier-a\"]\n"),
         "t.toml:6:9: routes[0].match: must not be empty (use \"^\" to match every user)"},
        {with_gw("[[routes]]\nname = \"r\"\nmatch_prefix = \"9x\"\ngateways = [\"carrier-a\"]\n"),
         "t.toml:6:16: routes[0].match_prefix: expected digits (and + * #), got '9x'"},
        {with_gw("[[routes]]\nname = \"r\"\nmatch_prefix = \"\"\ngateways = [\"carrier-a\"]\n"),
         "t.toml:6:16: routes[0].match_prefix: expected digits (and + * #), got ''"},
        {with_gw(
             "[[routes]]\nname = \"r\"\nmatch = \"^9\"\nstrip = 40\ngateways = [\"carrier-a\"]\n"),
         "t.toml:7:9: routes[0].strip: must be between 0 and 32, got 40"},
        {with_gw("[[routes]]\nname = \"r\"\nmatch = \"^9\"\nprefix = \"+1 \"\ngateways = "
                 "[\"carrier-a\"]\n"),
         "t.toml:7:10: routes[0].prefix: must not contain spaces or any of @ : ; ? < > \""},
        {with_gw("[[routes]]\nname = \"r\"\nmatch = \"^9\"\nstrategy = \"random\"\n"
                 "gateways = [\"carrier-a\"]\n"),
         "t.toml:7:12: routes[0].strategy: expected failover|round-robin|weighted, got 'random'"},
        {with_gw("[[routes]]\nname = \"r\"\nmatch = \"^9\"\ntimeout_ms = -5\n"
                 "gateways = [\"carrier-a\"]\n"),
         "t.toml:7:14: routes[0].timeout_ms: must be between 0 and 3600000, got -5"},
        {with_gw("[[routes]]\nname = \"r\"\nmatch = \"^9\"\nsources = [\"192.0.2.1/24\"]\n"
                 "gateways = [\"carrier-a\"]\n"),
         "t.toml:7:12: routes[0].sources[0]: bad CIDR '192.0.2.1/24': host bits are set (did you "
         "mean 192.0.2.0/24?)"},
        {with_gw("[[routes]]\nname = \"r\"\nmatch = \"^9\"\nusers = [\"alice\"]\n"
                 "gateways = [\"carrier-a\"]\n"),
         "t.toml:7:9: routes[0].users: needs an [auth] section (without it nobody is "
         "authenticated)"},
        {with_gw("[auth]\nrealm = \"r\"\n[[auth.users]]\nuser = \"alice\"\npassword = \"p\"\n"
                 "[[routes]]\nname = \"r\"\nmatch = \"^9\"\nusers = [\"alice\", \"mallory\"]\n"
                 "gateways = [\"carrier-a\"]\n"),
         "t.toml:12:19: routes[0].users: route 'r' names user 'mallory', which is not defined in "
         "auth.users"},
        {with_gw("[[routes]]\nname = \"r\"\nmatch = \"^9\"\ndomains = [\"a b\"]\n"
                 "gateways = [\"carrier-a\"]\n"),
         "t.toml:7:12: routes[0].domains[0]: expected a domain name such as example.test, got "
         "'a b'"},
    };
    for (const auto& c : cases) {
        INFO("config:\n" << c.toml);
        auto r = load_string(c.toml, "t.toml");
        REQUIRE_FALSE(r);
        if (c.error) {
            CHECK(r.error().to_string() == c.error);
        } else {
            CHECK(r.error().to_string().rfind(
                      "t.toml:6:9: routes[0].match: not a valid regular expression '^(9': ", 0) ==
                  0);
        }
    }
}

TEST_CASE("a route may name gateways defined after it") {
    auto r = load_string(
        "[[routes]]\nname = \"r\"\nmatch = \"^9\"\ngateways = [\"g\"]\n"
        "[[gateways]]\nname = \"g\"\nuri = \"sip:g\"\n",
        "t.toml");
    REQUIRE(r);
}

TEST_CASE("a gateway with a broken name does not cascade into dangling-name errors") {
    auto r = load_string(
        "[[routes]]\nname = \"r\"\nmatch = \"^9\"\ngateways = [\"g\"]\n"
        "[[gateways]]\nname = 7\nuri = \"sip:g\"\n",
        "t.toml");
    REQUIRE_FALSE(r);
    CHECK(r.error().to_string() ==
          "t.toml:6:8: gateways[0].name: expected a string, got an integer");
}

TEST_CASE("errors are reported top to bottom") {
    auto r = load_string("[server]\nworkers = 5000\n[registrar]\nstore = \"x\"\n", "t.toml");
    REQUIRE_FALSE(r);
    CHECK(r.error().line == 2);
    auto s = load_string("[registrar]\nstore = \"x\"\n[server]\nworkers = 5000\n", "t.toml");
    REQUIRE_FALSE(s);
    CHECK(s.error().line == 2);
    CHECK(s.error().key == "registrar.store");
}

TEST_CASE("warnings for valid but suspicious configs") {
    auto r = load_string(
        "[auth]\nrealm = \"r\"\n[[gateways]]\nname = \"unused\"\nuri = \"sip:g\"\n", "t.toml");
    REQUIRE(r);
    CHECK((*r)->warnings ==
          std::vector<std::string>{"auth: no users are defined, so every REGISTER is rejected",
                                   "gateway 'unused' is not used by any route"});
}
