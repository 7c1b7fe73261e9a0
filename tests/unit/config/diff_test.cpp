#include <catch2/catch.hpp>

#include "config/changes.hpp"
#include "config/config.hpp"

using namespace sipproxy::config;

namespace {

std::shared_ptr<const Config> load(const std::string& toml) {
    auto r = load_string(toml, "/etc/sipproxy/sipproxy.toml");
    if (!r) FAIL(r.error().to_string());
    return *r;
}

using Lines = std::vector<std::string>;

const char* kBase = R"(
[server]
listen = ["udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"]
domains = ["example.test"]
[registrar]
max_expires = 7200
[auth]
realm = "example.test"
[[auth.users]]
user = "alice"
password = "a"
[[gateways]]
name = "carrier-a"
uri = "sip:192.0.2.1"
[[routes]]
name = "pstn"
match = "^9"
strip = 1
gateways = ["carrier-a"]
[[routes]]
name = "x"
match_prefix = "00"
gateways = ["carrier-a"]
)";

std::string replace(std::string s, const std::string& from, const std::string& to) {
    auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("diff of identical configs is empty") {
    CHECK(diff(*load(kBase), *load(kBase)).empty());
    CHECK(diff(*load(""), *load("")).empty());
}

TEST_CASE("diff names changed scalars with old and new values") {
    auto a = load(kBase);
    auto b = load(replace(kBase, "max_expires = 7200", "max_expires = 3600"));
    CHECK(diff(*a, *b) == Lines{"registrar.max_expires: 7200 -> 3600"});

    auto c = load(std::string(kBase) +
                  "[transaction]\nt1_ms = 250\ntimer_c = 200\n[tcp]\n"
                  "idle_timeout = 60\n");
    CHECK(diff(*a, *c) == Lines{"transaction.t1_ms: 500 -> 250", "transaction.timer_c: 180 -> 200",
                                "tcp.idle_timeout: 300 -> 60"});

    auto d = load(replace(kBase, "[registrar]",
                          "log_level = \"debug\"\nworkers = 2\n"
                          "state_dir = \"/srv\"\n[registrar]"));
    CHECK(diff(*a, *d) == Lines{"server.workers: 0 -> 2",
                                "server.state_dir: /etc/sipproxy/var -> /srv",
                                "server.log_level: info -> debug",
                                "control.socket: /etc/sipproxy/var/sipproxy.sock -> "
                                "/srv/sipproxy.sock",
                                // their defaults follow state_dir
                                "security.secret_file: /etc/sipproxy/var/node.secret -> /srv/node.secret",
                                "cdr.path: /etc/sipproxy/var/cdr.jsonl -> /srv/cdr.jsonl"});
    auto e = load(std::string(kBase) +
                  "[cdr]\npath = \"\"\nmax_call_duration = 3600\n[metrics]\nlisten = \"127.0.0.1:9095\"\n");
    CHECK(diff(*a, *e) == Lines{"cdr.path: /etc/sipproxy/var/cdr.jsonl -> ",
                                "cdr.max_call_duration: 14400 -> 3600",
                                "metrics.listen:  -> 127.0.0.1:9095"});
}

TEST_CASE("restart_needed: the keys read only at start, from the diff's lines") {
    auto a = load(kBase);
    auto c = load(std::string(kBase) +
                  "[transaction]\nt1_ms = 250\ntimer_c = 200\nmax_transactions = 10\n[tcp]\n"
                  "idle_timeout = 60\nmax_connections = 5\n");
    CHECK(restart_needed(diff(*a, *c)) ==
          Lines{"transaction.t1_ms changed: takes effect at the next start",
                "transaction.max_transactions changed: takes effect at the next start",
                "tcp.idle_timeout changed: takes effect at the next start",
                "tcp.max_connections changed: takes effect at the next start"});
    // Live keys: nothing to restart for.
    auto b = load(replace(kBase, "max_expires = 7200", "max_expires = 3600"));
    CHECK(restart_needed(diff(*a, *b)).empty());
    auto d = load(replace(kBase, "[registrar]", "workers = 2\nmax_message_size = 4096\n[registrar]"));
    CHECK(restart_needed(diff(*a, *d)) ==
          Lines{"server.workers changed: takes effect at the next start",
                "server.max_message_size changed: takes effect at the next start"});
}

TEST_CASE("the [redis] Sentinel keys are read at start, and the password is never printed") {
    const std::string base = std::string(kBase) +
                             "[redis]\nsentinels = [\"10.0.0.1:26379\"]\nsentinel_master = \"m\"\n"
                             "sentinel_password = \"one\"\n";
    auto a = load(base);
    auto b = load(replace(replace(replace(base, "10.0.0.1", "10.0.0.2"), "\"m\"", "\"n\""),
                          "\"one\"", "\"two\""));
    auto d = diff(*a, *b);
    CHECK(d == Lines{"redis.sentinels: [10.0.0.1:26379] -> [10.0.0.2:26379]",
                     "redis.sentinel_master: m -> n",
                     "redis.sentinel_password: (hidden) -> (changed)"});
    CHECK(restart_needed(d) ==
          Lines{"redis.sentinels changed: takes effect at the next start",
                "redis.sentinel_master changed: takes effect at the next start",
                "redis.sentinel_password changed: takes effect at the next start"});
}

TEST_CASE("diff lists added and removed listen addresses and domains") {
    auto a = load(kBase);
    auto b = load(replace(kBase, "\"tcp://127.0.0.1:5060\"]", "\"tcp://127.0.0.1:5062\"]"));
    CHECK(diff(*a, *b) == Lines{"server.listen: removed tcp://127.0.0.1:5060",
                                "server.listen: added tcp://127.0.0.1:5062"});
    auto c = load(replace(kBase, "domains = [\"example.test\"]",
                          "domains = [\"example.test\", \"other.test\"]"));
    CHECK(diff(*a, *c) == Lines{"server.domains: added other.test"});
}

TEST_CASE("diff of routes: added, removed, changed, reordered") {
    auto a = load(kBase);
    auto added =
        load(std::string(kBase) +
             "[[routes]]\nname = \"intl\"\nmatch = \"^011\"\ngateways = [\"carrier-a\"]\n");
    CHECK(diff(*a, *added) == Lines{"routes: added 'intl'"});
    CHECK(diff(*added, *a) == Lines{"routes: removed 'intl'"});

    auto removed = load(replace(kBase,
                                "[[routes]]\nname = \"x\"\nmatch_prefix = \"00\"\n"
                                "gateways = [\"carrier-a\"]\n",
                                ""));
    CHECK(diff(*a, *removed) == Lines{"routes: removed 'x'"});

    auto changed = load(replace(kBase, "strip = 1", "strip = 0"));
    auto lines = diff(*a, *changed);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "routes['pstn'].strip: 1 -> 0");

    auto reordered = load(std::string(R"(
[server]
listen = ["udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"]
domains = ["example.test"]
[registrar]
max_expires = 7200
[auth]
realm = "example.test"
[[auth.users]]
user = "alice"
password = "a"
[[gateways]]
name = "carrier-a"
uri = "sip:192.0.2.1"
[[routes]]
name = "x"
match_prefix = "00"
gateways = ["carrier-a"]
[[routes]]
name = "pstn"
match = "^9"
strip = 1
gateways = ["carrier-a"]
)"));
    CHECK(diff(*a, *reordered) == Lines{"routes: order changed: [pstn, x] -> [x, pstn]"});
}

TEST_CASE("diff of gateways") {
    auto a = load(kBase);
    auto b =
        load(replace(kBase, "uri = \"sip:192.0.2.1\"", "uri = \"sip:192.0.2.2\"\nprobe = true"));
    CHECK(diff(*a, *b) == Lines{"gateways['carrier-a'].uri: sip:192.0.2.1 -> sip:192.0.2.2",
                                "gateways['carrier-a'].probe: false -> true"});
    auto c = load(std::string(kBase) + "[[gateways]]\nname = \"carrier-b\"\nuri = \"sip:b\"\n");
    CHECK(diff(*a, *c) == Lines{"gateways: added 'carrier-b'"});
}

TEST_CASE("diff of auth never prints secrets") {
    auto a = load(kBase);
    auto bob = load(replace(kBase, "[[gateways]]",
                            "[[auth.users]]\nuser = \"bob\"\npassword = \"b\"\n[[gateways]]"));
    CHECK(diff(*a, *bob) == Lines{"auth.users: added bob"});
    CHECK(diff(*bob, *a) == Lines{"auth.users: removed bob"});

    auto newpass = load(replace(kBase, "password = \"a\"", "password = \"secret2\""));
    CHECK(diff(*a, *newpass) == Lines{"auth.users['alice'].password: changed"});

    auto trusted = load(replace(kBase, "realm = \"example.test\"",
                                "realm = \"example.test\"\ntrusted = [\"10.0.0.0/8\"]\n"
                                "algorithms = [\"MD5\"]"));
    CHECK(diff(*a, *trusted) ==
          Lines{"auth.algorithms: [SHA-256, MD5] -> [MD5]", "auth.trusted: added 10.0.0.0/8"});

    auto noauth = load("[server]\ndomains = [\"example.test\"]\n");
    auto withauth = load(
        "[server]\ndomains = [\"example.test\"]\n[auth]\n[[auth.users]]\n"
        "user = \"alice\"\npassword = \"a\"\n");
    CHECK(diff(*noauth, *withauth) ==
          Lines{"auth: added (requests are authenticated now)", "auth.users: added alice"});
    CHECK(diff(*withauth, *noauth) == Lines{"auth: removed (nobody is authenticated now)"});
}

TEST_CASE("changes: each as key, old and new values, for the reload's JSON") {
    using V = ChangeValue;
    auto a = load(kBase);
    auto b = load(replace(replace(replace(kBase, "max_expires = 7200", "max_expires = 3600"),
                                  "\"tcp://127.0.0.1:5060\"]", "\"tcp://127.0.0.1:5062\"]"),
                          "password = \"a\"", "password = \"secret2\"") +
                  "[transaction]\nt1_ms = 250\n");
    auto c = changes(*a, *b);
    REQUIRE(c.size() == 5);
    CHECK(c[0].key == "server.listen");
    CHECK(c[0].before == V(std::string("tcp://127.0.0.1:5060")));
    CHECK(std::holds_alternative<std::monostate>(c[0].after));  // removed
    CHECK(c[1].key == "server.listen");
    CHECK(std::holds_alternative<std::monostate>(c[1].before));  // added
    CHECK(c[1].after == V(std::string("tcp://127.0.0.1:5062")));
    CHECK(c[2].key == "registrar.max_expires");
    CHECK(c[2].before == V(std::int64_t{7200}));
    CHECK(c[2].after == V(std::int64_t{3600}));
    CHECK(c[2].text == "registrar.max_expires: 7200 -> 3600");
    CHECK(c[3].key == "auth.users['alice'].password");  // never the secret itself
    CHECK(c[3].before == V(std::string(kHidden)));
    CHECK(c[3].after == V(std::string(kHidden)));
    CHECK(c[4].key == "transaction.t1_ms");
    CHECK(restart_keys(c) == Lines{"transaction.t1_ms"});  // listen addresses change live
}

TEST_CASE("restart_pending: a restart-only change is pending until a restart, not only once") {
    auto started = load(kBase);
    auto first = load(std::string(kBase) + "[transaction]\nt1_ms = 250\n");
    const Lines pending{"transaction.t1_ms"};
    CHECK(restart_pending(*started, *first) == pending);
    // The same file reloaded again: nothing changed in it, but the daemon still runs with
    // the T1 it started with.
    auto again = load(std::string(kBase) + "[transaction]\nt1_ms = 250\n");
    CHECK(diff(*first, *again).empty());
    CHECK(restart_pending(*started, *again) == pending);
    // A live change next to it does not hide it.
    auto live = load(replace(kBase, "max_expires = 7200", "max_expires = 3600") +
                     "[transaction]\nt1_ms = 250\n");
    CHECK(restart_pending(*started, *live) == pending);
    // Back to the running value: nothing waits for a restart any more.
    auto back = load(kBase);
    CHECK(restart_keys(changes(*first, *back)) == pending);  // the file's change, reverted
    CHECK(restart_pending(*started, *back).empty());
}
