#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "config/config.hpp"

using namespace sipproxy::config;
namespace fs = std::filesystem;

namespace {

const fs::path kName = "/etc/sipproxy/sipproxy.toml";

std::shared_ptr<const Config> load(std::string_view toml) {
    auto r = load_string(toml, kName);
    if (!r) FAIL("unexpected error: " << r.error().to_string());
    return *r;
}

}  // namespace

TEST_CASE("[cdr] and [metrics]: defaults, relative paths, off") {
    auto d = load("");
    CHECK(d->cdr.path == "/etc/sipproxy/var/cdr.jsonl");
    CHECK(d->cdr.max_call_duration == std::chrono::hours(4));
    CHECK(d->metrics.listen.empty());
    auto c = load("[cdr]\npath = \"records/cdr.jsonl\"\nmax_call_duration = 7200\n"
                  "[metrics]\nlisten = \"[::1]:9095\"\n");
    CHECK(c->cdr.path == "/etc/sipproxy/records/cdr.jsonl");
    CHECK(c->cdr.max_call_duration == std::chrono::seconds(7200));
    CHECK(c->metrics.listen == "[::1]:9095");
    CHECK(c->metrics.host == "::1");
    CHECK(c->metrics.port == 9095);
    auto off = load("[cdr]\npath = \"\"\n[metrics]\nlisten = \"\"\n");
    CHECK(off->cdr.path.empty());
    CHECK(off->metrics.listen.empty());
}

TEST_CASE("the shipped conf/sipproxy.toml loads") {
    fs::path path = SIPPROXY_TEST_DATA "/../conf/sipproxy.toml";
    auto r = load_file(path);
    if (!r) FAIL(r.error().to_string());
    const Config& c = **r;
    fs::path conf = fs::absolute(path).lexically_normal();
    CHECK(c.file == conf);
    CHECK(c.file.is_absolute());
    REQUIRE(c.server.listen.size() == 2);
    CHECK(c.server.listen[0].scheme == "udp");
    CHECK(c.server.listen[0].host == "127.0.0.1");
    CHECK(c.server.listen[0].port == 5060);
    CHECK(c.server.listen[1].scheme == "tcp");
    CHECK(c.server.domains == std::vector<std::string>{"example.test"});
    CHECK(c.server.state_dir == conf.parent_path() / "var");
    CHECK(c.control.socket == conf.parent_path() / "var" / "sipproxy.sock");
    REQUIRE(c.auth);
    CHECK(c.auth->realm == "example.test");
    CHECK(c.auth->algorithms == std::vector<std::string>{"SHA-256", "MD5"});
    CHECK(c.auth->trusted.empty());
    REQUIRE(c.auth->users.size() == 3);
    CHECK(c.auth->users[0].user == "alice");
    CHECK(c.auth->users[0].password == "alice-secret");
    CHECK(c.auth->users[0].algorithms.empty());
    CHECK(c.auth->users[1].algorithms == std::vector<std::string>{"MD5"});  // baresip 1.0
    CHECK(c.auth->users[1].user == "bob");
    CHECK(c.auth->users[2].user == "carol");
    // sha256("carol:example.test:carol-secret")
    CHECK(c.auth->users[2].ha1_sha256 ==
          "6ce13c62a6c4e3e04b66ac0bad4d7616eaa6fafa724bba8f606343597943b01b");
    CHECK(c.gateways.empty());
    CHECK(c.routes.empty());
    CHECK(c.warnings.empty());
    CHECK(c.transaction.t1 == std::chrono::milliseconds(500));
    CHECK(c.tcp.max_connections == 10000);
}

TEST_CASE("the shipped config with its gateway, route and fraud examples uncommented loads") {
    std::ifstream in(SIPPROXY_TEST_DATA "/../conf/sipproxy.toml");
    std::string text, line;
    while (std::getline(in, line)) {
        if (line.rfind("# [[", 0) == 0 || line.rfind("# name", 0) == 0 ||
            line.rfind("# uri", 0) == 0 || line.rfind("# probe", 0) == 0 ||
            line.rfind("# failures", 0) == 0 || line.rfind("# successes", 0) == 0 ||
            line.rfind("# weight", 0) == 0 || line.rfind("# match =", 0) == 0 ||
            line.rfind("# strip", 0) == 0 || line.rfind("# prefix", 0) == 0 ||
            line.rfind("# gateways", 0) == 0 || line.rfind("# strategy", 0) == 0 ||
            line.rfind("# timeout_ms", 0) == 0 || line.rfind("# sources", 0) == 0 ||
            line.rfind("# users", 0) == 0 || line.rfind("# domains", 0) == 0 ||
            line.rfind("# user =", 0) == 0 || line.rfind("# route =", 0) == 0 ||
            line.rfind("# scope =", 0) == 0 || line.rfind("# concurrent_calls", 0) == 0 ||
            line.rfind("# calls_per_", 0) == 0)
            line = line.substr(2);
        text += line + "\n";
    }
    auto c = load(text);
    REQUIRE(c->gateways.size() == 2);
    CHECK(c->gateways[0].name == "carrier-a");
    CHECK(c->gateways[0].probe);
    CHECK(c->gateways[1].uri == "sip:127.0.0.1:5080;transport=tcp");
    REQUIRE(c->routes.size() == 1);
    CHECK(c->routes[0].match == "^9");
    CHECK(c->routes[0].prefix == "+1");
    CHECK(c->routes[0].gateways == std::vector<std::string>{"carrier-a", "carrier-b"});
    REQUIRE(c->fraud.size() == 3);
    CHECK(c->fraud[0].user == "*");
    CHECK(c->fraud[0].concurrent_calls.critical == 4);
    CHECK(c->fraud[1].route == "pstn");
    CHECK(c->fraud[2].total);
}

TEST_CASE("an empty file gives every default") {
    auto c = load("");
    CHECK(c->file == kName);
    REQUIRE(c->server.listen.size() == 2);
    CHECK(c->server.listen[0].text == "udp://127.0.0.1:5060");
    CHECK(c->server.listen[1].text == "tcp://127.0.0.1:5060");
    CHECK(c->server.listen[1].scheme == "tcp");
    CHECK(c->server.domains.empty());
    CHECK(c->server.workers == 0);
    CHECK(c->server.state_dir == "/etc/sipproxy/var");
    CHECK(c->server.log_level == "info");
    CHECK(c->server.max_message_size == 65535);
    CHECK(c->control.socket == "/etc/sipproxy/var/sipproxy.sock");
    CHECK(c->registrar.min_expires == 60);
    CHECK(c->registrar.max_expires == 7200);
    CHECK(c->registrar.default_expires == 3600);
    CHECK(c->registrar.max_contacts == 10);
    CHECK(c->registrar.store == "sqlite");
    CHECK_FALSE(c->auth);
    CHECK(c->transaction.t1 == std::chrono::milliseconds(500));
    CHECK(c->transaction.t2 == std::chrono::milliseconds(4000));
    CHECK(c->transaction.t4 == std::chrono::milliseconds(5000));
    CHECK(c->transaction.timer_c == std::chrono::seconds(180));
    CHECK(c->transaction.fork_timeout == std::chrono::seconds(30));
    CHECK(c->transaction.max_transactions == 200000);
    CHECK(c->tcp.idle_timeout == std::chrono::seconds(300));
    CHECK(c->tcp.max_connections == 10000);
    CHECK(c->gateways.empty());
    CHECK(c->routes.empty());
    REQUIRE(c->warnings.size() == 1);
    CHECK(c->warnings[0].find("no [auth] section") != std::string::npos);
}

TEST_CASE("defaults inside sections") {
    auto c = load(R"(
[server]
domains = ["Example.TEST"]
[auth]
[[auth.users]]
user = "alice"
password = "x"
[[gateways]]
name = "gw"
uri = "sip:gw.example.net"
[[routes]]
name = "all"
match = "^"
gateways = ["gw"]
)");
    CHECK(c->server.domains == std::vector<std::string>{"example.test"});
    REQUIRE(c->auth);
    CHECK(c->auth->realm == "example.test");  // the first domain
    CHECK(c->auth->algorithms == std::vector<std::string>{"SHA-256", "MD5"});
    CHECK(c->auth->nonce_ttl == 300);
    const Gateway& g = c->gateways.at(0);
    CHECK_FALSE(g.probe);
    CHECK(g.probe_interval == std::chrono::seconds(30));
    CHECK(g.failures_before_down == 3);
    CHECK(g.successes_before_up == 2);
    CHECK(g.weight == 1);
    const Route& r = c->routes.at(0);
    CHECK(r.match_prefix.empty());
    CHECK(r.strip == 0);
    CHECK(r.prefix.empty());
    CHECK(r.strategy == "failover");
    CHECK(r.timeout == std::chrono::milliseconds(0));
    CHECK(r.sources.empty());
    CHECK(r.users.empty());
    CHECK(r.domains.empty());
    CHECK(c->warnings.empty());
}

TEST_CASE("every key is read") {
    auto c = load(R"(
[server]
listen = ["udp://[::1]:5070", "TCP://0.0.0.0:5071", "udp://192.0.2.1"]
domains = ["a.test", "b.test"]
workers = 4
state_dir = "/var/lib/sipproxy/"
log_level = "debug"
max_message_size = 4096
[control]
socket = "/run/sipproxy/ctl.sock"
[registrar]
min_expires = 30
max_expires = 600
default_expires = 300
max_contacts = 3
store = "memory"
[auth]
realm = "b.test"
algorithms = ["md5"]
nonce_ttl = 60
trusted = ["10.0.0.0/8", "2001:db8::1"]
[[auth.users]]
user = "alice"
ha1_md5 = "0123456789ABCDEF0123456789abcdef"
[[auth.users]]
user = "oldphone"
password = "pw"
algorithms = ["md5"]
[transaction]
t1_ms = 250
t2_ms = 2000
t4_ms = 2500
timer_c = 200
fork_timeout = 12
max_transactions = 1000
[tcp]
idle_timeout = 60
max_connections = 50
[[gateways]]
name = "gw-1"
uri = "sips:carrier@[2001:db8::5]:5061;transport=tcp"
probe = true
probe_interval = 10
failures_before_down = 5
successes_before_up = 1
weight = 7
[[routes]]
name = "intl"
match_prefix = "+00"
strip = 2
prefix = "+"
gateways = ["gw-1"]
strategy = "weighted"
timeout_ms = 15000
sources = ["192.0.2.0/24"]
users = ["alice"]
domains = ["A.test"]
)");
    const auto& s = c->server;
    REQUIRE(s.listen.size() == 3);
    CHECK(s.listen[0].host == "::1");
    CHECK(s.listen[0].port == 5070);
    CHECK(s.listen[0].text == "udp://[::1]:5070");
    CHECK(s.listen[1].scheme == "tcp");
    CHECK(s.listen[1].host == "0.0.0.0");
    CHECK(s.listen[2].port == 5060);
    CHECK(s.domains == std::vector<std::string>{"a.test", "b.test"});
    CHECK(s.workers == 4);
    CHECK(s.state_dir == "/var/lib/sipproxy");
    CHECK(s.log_level == "debug");
    CHECK(s.max_message_size == 4096);
    CHECK(c->control.socket == "/run/sipproxy/ctl.sock");
    CHECK(c->registrar.min_expires == 30);
    CHECK(c->registrar.max_expires == 600);
    CHECK(c->registrar.default_expires == 300);
    CHECK(c->registrar.max_contacts == 3);
    CHECK(c->registrar.store == "memory");
    REQUIRE(c->auth);
    CHECK(c->auth->realm == "b.test");
    CHECK(c->auth->algorithms == std::vector<std::string>{"MD5"});
    CHECK(c->auth->nonce_ttl == 60);
    CHECK(c->auth->trusted == std::vector<std::string>{"10.0.0.0/8", "2001:db8::1"});
    REQUIRE(c->auth->trusted_networks.size() == 2);
    CHECK(c->auth->trusted_networks[0].contains("10.1.1.1"));
    CHECK(c->auth->trusted_networks[1].contains("2001:db8::1"));
    CHECK(c->auth->users.at(0).ha1_md5 == "0123456789abcdef0123456789abcdef");
    CHECK(c->auth->users.at(0).algorithms.empty());  // the realm's list
    CHECK(c->auth->users.at(1).algorithms == std::vector<std::string>{"MD5"});
    CHECK(c->transaction.t1 == std::chrono::milliseconds(250));
    CHECK(c->transaction.t2 == std::chrono::milliseconds(2000));
    CHECK(c->transaction.t4 == std::chrono::milliseconds(2500));
    CHECK(c->transaction.timer_c == std::chrono::seconds(200));
    CHECK(c->transaction.fork_timeout == std::chrono::seconds(12));
    CHECK(c->transaction.max_transactions == 1000);
    CHECK(c->tcp.idle_timeout == std::chrono::seconds(60));
    CHECK(c->tcp.max_connections == 50);
    const Gateway& g = c->gateways.at(0);
    CHECK(g.name == "gw-1");
    CHECK(g.uri == "sips:carrier@[2001:db8::5]:5061;transport=tcp");
    CHECK(g.probe);
    CHECK(g.probe_interval == std::chrono::seconds(10));
    CHECK(g.failures_before_down == 5);
    CHECK(g.successes_before_up == 1);
    CHECK(g.weight == 7);
    const Route& r = c->routes.at(0);
    CHECK(r.name == "intl");
    CHECK(r.match.empty());
    CHECK(r.match_prefix == "+00");
    CHECK(r.strip == 2);
    CHECK(r.prefix == "+");
    CHECK(r.strategy == "weighted");
    CHECK(r.timeout == std::chrono::milliseconds(15000));
    CHECK(r.sources == std::vector<std::string>{"192.0.2.0/24"});
    REQUIRE(r.source_networks.size() == 1);
    CHECK(r.source_networks[0].contains("192.0.2.77"));
    CHECK(r.users == std::vector<std::string>{"alice"});
    CHECK(r.domains == std::vector<std::string>{"a.test"});
}

TEST_CASE("relative paths resolve against the config file's folder") {
    auto c = load_string(R"(
[server]
state_dir = "../state"
[control]
socket = "run/./ctl.sock"
)",
                         "/srv/sip/conf/proxy.toml");
    REQUIRE(c);
    CHECK((*c)->file == "/srv/sip/conf/proxy.toml");
    CHECK((*c)->server.state_dir == "/srv/sip/state");
    CHECK((*c)->control.socket == "/srv/sip/conf/run/ctl.sock");

    // the default socket follows state_dir
    auto d = load_string("[server]\nstate_dir = \"/var/lib/sp\"\n", "/srv/x.toml");
    REQUIRE(d);
    CHECK((*d)->control.socket == "/var/lib/sp/sipproxy.sock");

    // a relative file name becomes absolute against the working directory
    auto e = load_string("", "conf/x.toml");
    REQUIRE(e);
    CHECK((*e)->file == (fs::current_path() / "conf/x.toml").lexically_normal());
    CHECK((*e)->server.state_dir == (fs::current_path() / "conf/var").lexically_normal());
}

TEST_CASE("load_file reads a file and reports what it cannot read") {
    fs::path dir =
        fs::temp_directory_path() / ("sipproxy-config-test-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::path file = dir / "p.toml";
    {
        std::ofstream out(file);
        out << "[server]\nworkers = 2\nstate_dir = \"st\"\n";
    }
    auto c = load_file(file);
    REQUIRE(c);
    CHECK((*c)->server.workers == 2);
    CHECK((*c)->server.state_dir == dir / "st");
    CHECK((*c)->file == file);

    {
        std::ofstream out(file);
        out << "[server]\nworkers = \"two\"\n";
    }
    auto bad = load_file(file);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().to_string() ==
          file.string() + ":2:11: server.workers: expected an integer, got a string");

    auto missing = load_file(dir / "nope.toml");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().to_string() ==
          (dir / "nope.toml").string() + ": cannot open: No such file or directory");
    CHECK(missing.error().line == 0);

    auto directory = load_file(dir);
    REQUIRE_FALSE(directory);
    CHECK(directory.error().message == "is a directory, not a config file");
    fs::remove_all(dir);
}

TEST_CASE("ConfigError::to_string formats") {
    ConfigError e{"f.toml", 3, 7, "server.workers", "bad"};
    CHECK(e.to_string() == "f.toml:3:7: server.workers: bad");
    e.key.clear();
    CHECK(e.to_string() == "f.toml:3:7: bad");
    e.line = 0;
    e.column = 0;
    e.key = "control.socket";
    CHECK(e.to_string() == "f.toml: control.socket: bad");
}

TEST_CASE("[websocket] and a ws:// listener") {
    auto d = load("");
    CHECK(d->websocket.allowed_origins.empty());
    CHECK(d->websocket.keepalive == std::chrono::seconds(180));
    auto c = load("[server]\nlisten = [\"udp://127.0.0.1:5060\", \"WS://127.0.0.1:8080\"]\n"
                  "[websocket]\nallowed_origins = [\"https://phone.example.com\", \"http://127.0.0.1:8000\"]\n"
                  "keepalive = 30\n");
    REQUIRE(c->server.listen.size() == 2);
    CHECK(c->server.listen[1].scheme == "ws");
    CHECK(c->server.listen[1].port == 8080);
    CHECK(c->websocket.allowed_origins ==
          std::vector<std::string>{"https://phone.example.com", "http://127.0.0.1:8000"});
    CHECK(c->websocket.keepalive == std::chrono::seconds(30));
    CHECK_FALSE(load_string("[websocket]\nallowed_origins = [\"phone.example.com\"]\n", kName));
    CHECK_FALSE(load_string("[websocket]\nallowed_origins = [\"https://a.example/phone\"]\n", kName));
    CHECK_FALSE(load_string("[websocket]\nkeepalive = 0\n", kName));
    CHECK_FALSE(load_string("[websocket]\norigins = []\n", kName));
}

TEST_CASE("[tls]: files relative to the config, defaults, errors naming the key") {
    char dir_template[] = "/tmp/sipproxy-tls-XXXXXX";
    const fs::path dir = mkdtemp(dir_template);
    for (const char* f : {"proxy.pem", "proxy.key", "ca.pem", "sni.pem", "sni.key"})
        std::ofstream(dir / f) << "PEM\n";
    const fs::path name = dir / "sipproxy.toml";
    auto ok = load_string(R"(
[server]
listen = ["udp://127.0.0.1:5060", "tls://127.0.0.1"]
[tls]
certificate = "proxy.pem"
private_key = "proxy.key"
ca_file = "ca.pem"
verify_clients = true
ciphers = "ECDHE+AESGCM"
handshake_timeout = 3
[[tls.sni]]
name = "SIP.example.com"
certificate = "sni.pem"
private_key = "sni.key"
)", name);
    REQUIRE(ok);
    const auto& c = **ok;
    CHECK(c.server.listen[1].scheme == "tls");
    CHECK(c.server.listen[1].port == 5061);  // RFC 3261 19.1.2
    CHECK(c.tls.certificate == dir / "proxy.pem");
    CHECK(c.tls.ca_file == dir / "ca.pem");
    CHECK(c.tls.verify_clients);
    CHECK(c.tls.ciphers == "ECDHE+AESGCM");
    CHECK(c.tls.handshake_timeout == std::chrono::seconds(3));
    REQUIRE(c.tls.sni.size() == 1);
    CHECK(c.tls.sni[0].name == "sip.example.com");
    CHECK(c.tls.sni[0].private_key == dir / "sni.key");

    auto defaults = load("");
    CHECK(defaults->tls.certificate.empty());
    CHECK_FALSE(defaults->tls.verify_clients);
    CHECK(defaults->tls.handshake_timeout == std::chrono::seconds(10));

    auto no_section = load_string("[server]\nlisten = [\"tls://127.0.0.1:5061\"]\n", name);
    REQUIRE_FALSE(no_section);
    CHECK(no_section.error().key == "tls");

    auto missing = load_string("[server]\nlisten = [\"tls://127.0.0.1:5061\"]\n[tls]\n"
                               "certificate = \"nope.pem\"\nprivate_key = \"proxy.key\"\n",
                               name);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().key == "tls.certificate");
    CHECK(missing.error().line == 4);
    CHECK(missing.error().message.find((dir / "nope.pem").string()) != std::string::npos);

    auto bad_sni = load_string("[tls]\ncertificate = \"proxy.pem\"\nprivate_key = \"proxy.key\"\n"
                               "[[tls.sni]]\nname = \"bad name\"\ncertificate = \"sni.pem\"\n"
                               "private_key = \"sni.key\"\n",
                               name);
    REQUIRE_FALSE(bad_sni);
    CHECK(bad_sni.error().key == "tls.sni[0].name");
    fs::remove_all(dir);
}

TEST_CASE("[redis] with Sentinel: sentinels, sentinel_master, url for the database only") {
    auto d = load("");
    CHECK(d->redis.sentinels.empty());
    CHECK(d->redis.host == "127.0.0.1");
    auto c = load("[redis]\nsentinels = [\"10.0.0.1:26380\", \"s2.example.net\", \"[::1]:26381\"]\n"
                  "sentinel_master = \"mymaster\"\nsentinel_password = \"sp\"\n"
                  "url = \"redis:///3\"\npassword = \"p\"\n");
    REQUIRE(c->redis.sentinel_addresses.size() == 3);
    CHECK(c->redis.sentinel_addresses[0].host == "10.0.0.1");
    CHECK(c->redis.sentinel_addresses[0].port == 26380);
    CHECK(c->redis.sentinel_addresses[1].host == "s2.example.net");
    CHECK(c->redis.sentinel_addresses[1].port == 26379);  // Sentinel's port by default
    CHECK(c->redis.sentinel_addresses[2].host == "::1");
    CHECK(c->redis.sentinel_addresses[2].port == 26381);
    CHECK(c->redis.sentinel_master == "mymaster");
    CHECK(c->redis.sentinel_password == "sp");
    CHECK(c->redis.db == 3);
    CHECK(c->redis.password == "p");
    CHECK(c->redis.host.empty());  // the primary comes from the sentinels
    // Without url: database 0.
    auto n = load("[redis]\nsentinels = [\"127.0.0.1:26379\"]\nsentinel_master = \"m\"\n");
    CHECK(n->redis.db == 0);
    CHECK(n->redis.host.empty());
}
