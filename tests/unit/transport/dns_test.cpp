// DnsResolver and RFC 3263 server location against a tiny DNS server on 127.0.0.1
// that answers from hand-built records.
#include <catch2/catch.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "transport/dns_resolver.hpp"
#include "transport/rfc3263.hpp"

using namespace sipproxy::transport;

namespace {

constexpr std::uint16_t kA = 1, kAAAA = 28, kSRV = 33, kNAPTR = 35;

void put16(std::string& out, unsigned v) {
    out += static_cast<char>((v >> 8) & 0xff);
    out += static_cast<char>(v & 0xff);
}

std::string encode_name(std::string_view name) {
    std::string out;
    while (!name.empty() && name != ".") {
        auto dot = name.find('.');
        auto label = name.substr(0, dot);
        out += static_cast<char>(label.size());
        out += label;
        name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
    }
    out += '\0';
    return out;
}

std::string char_string(std::string_view s) { return static_cast<char>(s.size()) + std::string(s); }

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// A UDP DNS server on 127.0.0.1 answering from a record table: NXDOMAIN for names it has
// no record of, an empty NOERROR answer for a known name without the asked type (both
// with an SOA in the authority section once soa() was called), and no answer at all when
// silent.
class TinyDnsServer {
public:
    TinyDnsServer() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
        socklen_t len = sizeof sa;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
        port_ = ntohs(sa.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~TinyDnsServer() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }

    std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }
    void silent(bool on = true) { silent_ = on; }
    // The TTL of the records added from now on.
    void ttl(unsigned seconds) { ttl_ = seconds; }
    // Negative answers carry an SOA with this TTL and MINIMUM (RFC 2308 3).
    void soa(unsigned ttl, unsigned minimum) {
        std::lock_guard lock(mutex_);
        soa_ = std::make_pair(ttl, minimum);
    }

    void a(const std::string& name, const std::string& ip) {
        auto b = asio::ip::make_address_v4(ip).to_bytes();
        add(name, kA, std::string(b.begin(), b.end()));
    }
    void aaaa(const std::string& name, const std::string& ip) {
        auto b = asio::ip::make_address_v6(ip).to_bytes();
        add(name, kAAAA, std::string(b.begin(), b.end()));
    }
    void srv(const std::string& name, unsigned prio, unsigned weight, unsigned port, const std::string& target) {
        std::string rd;
        put16(rd, prio);
        put16(rd, weight);
        put16(rd, port);
        rd += encode_name(target);
        add(name, kSRV, rd);
    }
    void naptr(const std::string& name, unsigned order, unsigned pref, const std::string& flags,
               const std::string& service, const std::string& replacement) {
        std::string rd;
        put16(rd, order);
        put16(rd, pref);
        rd += char_string(flags) + char_string(service) + char_string("") + encode_name(replacement);
        add(name, kNAPTR, rd);
    }
    // How many queries of a type the server has seen.
    int queries(std::uint16_t type) {
        std::lock_guard lock(mutex_);
        return seen_[type];
    }

private:
    struct Record {
        std::uint16_t type;
        std::string rdata;
        unsigned ttl;
    };

    void add(const std::string& name, std::uint16_t type, std::string rdata) {
        std::lock_guard lock(mutex_);
        records_[lower(name)].push_back({type, std::move(rdata), ttl_});
    }

    void serve() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            char buf[512];
            sockaddr_in from{};
            socklen_t flen = sizeof from;
            auto n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
            if (n < 12) continue;
            if (silent_) {
                if (auto question = parse_question(std::string(buf, static_cast<std::size_t>(n))))
                    count(question->type);
                continue;
            }
            auto reply = answer(std::string(buf, static_cast<std::size_t>(n)));
            if (!reply.empty())
                ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
        }
    }

    // The question of a query: its name, type, and where it ends.
    struct Question {
        std::string name;
        std::uint16_t type;
        std::size_t end;
    };
    static std::optional<Question> parse_question(const std::string& q) {
        std::size_t i = 12;  // after the header: labels, then type and class
        std::string name;
        while (i < q.size() && q[i] != 0) {
            const auto len = static_cast<unsigned char>(q[i]);
            if (!name.empty()) name += '.';
            name += q.substr(i + 1, len);
            i += 1 + len;
        }
        if (i + 5 > q.size()) return std::nullopt;
        const std::uint16_t type = static_cast<std::uint16_t>(
            (static_cast<unsigned char>(q[i + 1]) << 8) | static_cast<unsigned char>(q[i + 2]));
        return Question{std::move(name), type, i + 5};
    }

    // A query of this type, counted as seen.
    void count(std::uint16_t type) {
        std::lock_guard lock(mutex_);
        ++seen_[type];
    }

    std::string answer(const std::string& q) {
        auto question = parse_question(q);
        if (!question) return {};
        const std::string& name = question->name;
        const std::uint16_t type = question->type;
        const std::size_t question_end = question->end;
        count(type);
        std::vector<Record> found;
        bool known;
        std::optional<std::pair<unsigned, unsigned>> soa;
        {
            std::lock_guard lock(mutex_);
            auto it = records_.find(lower(name));
            known = it != records_.end();
            if (known)
                for (const auto& r : it->second)
                    if (r.type == type) found.push_back(r);
            soa = soa_;
        }
        const bool with_soa = found.empty() && soa;
        std::string out = q.substr(0, 2);   // id
        put16(out, known ? 0x8180 : 0x8183);  // response, RD, RA; NXDOMAIN when unknown
        put16(out, 1);
        put16(out, found.size());
        put16(out, with_soa ? 1 : 0);
        put16(out, 0);
        out += q.substr(12, question_end - 12);
        auto put_ttl = [&](unsigned t) {
            put16(out, t >> 16);
            put16(out, t & 0xffff);
        };
        for (const auto& r : found) {
            put16(out, 0xc00c);  // the name: a pointer to the question's
            put16(out, r.type);
            put16(out, 1);       // IN
            put_ttl(r.ttl);
            put16(out, r.rdata.size());
            out += r.rdata;
        }
        if (with_soa) {
            std::string rd = encode_name("ns.test") + encode_name("hostmaster.test");
            for (unsigned v : {1u, 3600u, 600u, 86400u}) {  // serial, refresh, retry, expire
                put16(rd, v >> 16);
                put16(rd, v & 0xffff);
            }
            put16(rd, soa->second >> 16);
            put16(rd, soa->second & 0xffff);
            put16(out, 0xc00c);
            put16(out, 6);  // SOA
            put16(out, 1);
            put_ttl(soa->first);
            put16(out, rd.size());
            out += rd;
        }
        return out;
    }

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<bool> silent_{false};
    std::atomic<unsigned> ttl_{60};
    std::mutex mutex_;
    std::map<std::string, std::vector<Record>> records_;
    std::optional<std::pair<unsigned, unsigned>> soa_;
    std::map<std::uint16_t, int> seen_;
    std::thread thread_;
};

// Runs one coroutine to completion on a fresh io_context on this thread.
template <class T>
T run(asio::awaitable<T> a) {
    asio::io_context io;
    std::optional<T> out;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e) out = std::move(v);
    });
    io.run();
    if (error) std::rethrow_exception(error);
    REQUIRE(out);
    return std::move(*out);
}

DnsResolverOptions options_for(const TinyDnsServer& s) {
    DnsResolverOptions o;
    o.servers = s.servers();
    o.timeout = std::chrono::milliseconds(300);
    o.tries = 1;
    return o;
}

std::string str(const Peer& p) { return p.to_string(); }

std::vector<std::string> strs(const std::vector<Peer>& peers) {
    std::vector<std::string> out;
    for (const auto& p : peers) out.push_back(str(p));
    return out;
}

// example.test: NAPTR to TCP (preferred) and UDP SRV, each to one host.
void example_zone(TinyDnsServer& dns) {
    dns.naptr("example.test", 10, 20, "S", "SIP+D2U", "_sip._udp.example.test");
    dns.naptr("example.test", 10, 10, "S", "SIP+D2T", "_sip._tcp.example.test");
    dns.naptr("example.test", 5, 0, "S", "SIPS+D2T", "_sips._tcp.example.test");  // no TLS
    dns.naptr("example.test", 1, 0, "U", "E2U+sip", "");  // not for SIP server location
    dns.srv("_sip._tcp.example.test", 0, 0, 5070, "tcp.example.test");
    dns.srv("_sip._udp.example.test", 0, 0, 5080, "udp.example.test");
    dns.srv("_sip._udp.example.test", 1, 0, 5081, "udp2.example.test");
    dns.a("tcp.example.test", "192.0.2.10");
    dns.a("udp.example.test", "192.0.2.20");
    dns.a("udp2.example.test", "192.0.2.21");
    dns.a("example.test", "192.0.2.1");
}

// A random source that returns the scripted values in turn (each clamped to its bound),
// recording the bounds it was asked for.
struct ScriptedRandom {
    explicit ScriptedRandom(std::vector<std::uint32_t> v = {}) : values(std::move(v)) {}
    std::vector<std::uint32_t> values;
    std::vector<std::uint32_t> bounds;
    std::size_t next = 0;
    SrvRandom source() {
        return [this](std::uint32_t bound) {
            bounds.push_back(bound);
            const std::uint32_t v = next < values.size() ? values[next++] : 0;
            return std::min(v, bound);
        };
    }
};

std::vector<std::string> hosts(const std::vector<SrvTarget>& r) {
    std::vector<std::string> out;
    for (const auto& t : r) out.push_back(t.host);
    return out;
}

}  // namespace

TEST_CASE("RFC 2782: lowest priority first, '.' dropped, all-zero weights as received", "[dns][srv]") {
    std::vector<SrvTarget> r{{"c", 5060, 2, 0}, {".", 5060, 0, 0}, {"a", 5060, 1, 0}, {"b", 5060, 1, 0}};
    ScriptedRandom random;
    order_srv(r, random.source());
    CHECK(hosts(r) == std::vector<std::string>{"a", "b", "c"});
    CHECK(random.bounds == std::vector<std::uint32_t>{0, 0, 0});  // sum of weights: 0
}

TEST_CASE("RFC 2782: within a priority, the running sum of weights picks", "[dns][srv]") {
    // Weights 10, 20, 30: running sums 10, 30, 60. 15 picks b; then a, c (sums 10, 40):
    // 40 picks c; a is last.
    std::vector<SrvTarget> r{{"a", 1, 0, 10}, {"b", 2, 0, 20}, {"c", 3, 0, 30}, {"z", 4, 1, 0}};
    ScriptedRandom random({15, 40, 0, 0});
    order_srv(r, random.source());
    CHECK(hosts(r) == std::vector<std::string>{"b", "c", "a", "z"});
    CHECK(random.bounds == std::vector<std::uint32_t>{60, 40, 10, 0});
}

TEST_CASE("RFC 2782: weight 0 records come first and win only a random 0", "[dns][srv]") {
    // Received as heavy, zero; the zero one is put first in the selection list.
    SECTION("random 0 picks the weight 0 record") {
        std::vector<SrvTarget> r{{"heavy", 1, 0, 50}, {"zero", 2, 0, 0}};
        ScriptedRandom random({0});
        order_srv(r, random.source());
        CHECK(hosts(r) == std::vector<std::string>{"zero", "heavy"});
    }
    SECTION("any other number picks the weighted one") {
        std::vector<SrvTarget> r{{"heavy", 1, 0, 50}, {"zero", 2, 0, 0}};
        ScriptedRandom random({1});
        order_srv(r, random.source());
        CHECK(hosts(r) == std::vector<std::string>{"heavy", "zero"});
    }
}

TEST_CASE("RFC 2782: first choices follow the weights", "[dns][srv]") {
    std::mt19937 engine(42);  // fixed seed: the same numbers on every run
    SrvRandom random = [&](std::uint32_t bound) {
        return std::uniform_int_distribution<std::uint32_t>(0, bound)(engine);
    };
    std::map<std::string, int> first;
    for (int i = 0; i < 10000; ++i) {
        std::vector<SrvTarget> r{{"one", 1, 0, 10}, {"three", 2, 0, 30}, {"backup", 3, 1, 100}};
        order_srv(r, random);
        REQUIRE(r.size() == 3);
        CHECK(r[2].host == "backup");
        ++first[r[0].host];
    }
    // Weights 10 and 30, a number drawn from [0, 40]: "one" first with P = 11/41 (about
    // 2,680 of 10,000), "three" with 30/41.
    CHECK(first["one"] > 2400);
    CHECK(first["one"] < 2950);
    CHECK(first["three"] == 10000 - first["one"]);
}

TEST_CASE("SRV records come in RFC 2782 order, with the resolver's random source", "[dns][srv]") {
    TinyDnsServer server;
    server.srv("_sip._udp.srv.test", 20, 0, 5070, "b.srv.test");
    server.srv("_sip._udp.srv.test", 10, 10, 5060, "a1.srv.test");
    server.srv("_sip._udp.srv.test", 10, 60, 5062, "a2.srv.test");
    ScriptedRandom random({70, 0, 0, 0, 0, 0});
    auto opts = options_for(server);
    opts.random = random.source();
    DnsResolver dns(opts);
    auto srv = run(dns.srv("_sip._udp.srv.test"));
    REQUIRE(srv.size() == 3);
    CHECK(srv[0].host == "a2.srv.test");  // 70 is past a1's running sum of 10
    CHECK(srv[0].port == 5062);
    CHECK(srv[0].weight == 60);
    CHECK(srv[1].host == "a1.srv.test");
    CHECK(srv[2].host == "b.srv.test");
    CHECK(srv[2].priority == 20);
    // The next call draws again (here 0: a1 first), from the cache.
    srv = run(dns.srv("_sip._udp.srv.test"));
    CHECK(hosts(srv) == std::vector<std::string>{"a1.srv.test", "a2.srv.test", "b.srv.test"});
    CHECK(server.queries(kSRV) == 1);
}

namespace {

// A clock the test moves by hand (read on the resolver thread).
struct ManualClock {
    std::atomic<std::int64_t> seconds{0};
    std::function<std::chrono::steady_clock::time_point()> source() {
        return [this] { return std::chrono::steady_clock::time_point(std::chrono::seconds(seconds.load())); };
    }
};

}  // namespace

TEST_CASE("Answers are kept for their TTL", "[dns][cache]") {
    TinyDnsServer server;
    server.ttl(60);
    server.srv("_sip._udp.cache.test", 0, 0, 5060, "host.cache.test");
    server.naptr("cache.test", 10, 10, "S", "SIP+D2U", "_sip._udp.cache.test");
    server.a("host.cache.test", "192.0.2.60");
    ManualClock clock;
    auto opts = options_for(server);
    opts.now = clock.source();
    DnsResolver dns(opts);
    for (int i = 0; i < 3; ++i) {
        CHECK(run(dns.srv("_sip._udp.cache.test")).size() == 1);
        CHECK(run(dns.naptr("cache.test")).size() == 1);
        CHECK(run(dns.addresses("host.cache.test")) ==
              std::vector<asio::ip::address>{asio::ip::make_address("192.0.2.60")});
    }
    CHECK(server.queries(kSRV) == 1);
    CHECK(server.queries(kNAPTR) == 1);
    CHECK(server.queries(kA) == 1);
    CHECK(run(dns.srv("_SIP._UDP.Cache.Test.")).size() == 1);  // names are case-insensitive
    CHECK(server.queries(kSRV) == 1);
    clock.seconds = 59;
    run(dns.srv("_sip._udp.cache.test"));
    CHECK(server.queries(kSRV) == 1);
    clock.seconds = 60;  // expired: asked again
    CHECK(run(dns.srv("_sip._udp.cache.test")).size() == 1);
    CHECK(run(dns.addresses("host.cache.test")).size() == 1);
    CHECK(server.queries(kSRV) == 2);
    CHECK(server.queries(kA) == 2);
}

TEST_CASE("A TTL of 0 is not cached; neither is a cache of 0 entries", "[dns][cache]") {
    TinyDnsServer server;
    server.ttl(0);
    server.srv("_sip._udp.zero.test", 0, 0, 5060, "host.zero.test");
    server.ttl(60);
    server.srv("_sip._udp.sixty.test", 0, 0, 5060, "host.sixty.test");
    DnsResolver dns(options_for(server));
    run(dns.srv("_sip._udp.zero.test"));
    run(dns.srv("_sip._udp.zero.test"));
    CHECK(server.queries(kSRV) == 2);
    auto opts = options_for(server);
    opts.cache_entries = 0;
    DnsResolver uncached(opts);
    run(uncached.srv("_sip._udp.sixty.test"));
    run(uncached.srv("_sip._udp.sixty.test"));
    CHECK(server.queries(kSRV) == 4);
}

TEST_CASE("Negative answers are kept for the SOA's negative TTL, at most the cap (RFC 2308)",
          "[dns][cache]") {
    TinyDnsServer server;
    server.a("known.test", "192.0.2.1");
    ManualClock clock;
    auto opts = options_for(server);
    opts.now = clock.source();
    DnsResolver dns(opts);  // negative_ttl 5 s, cap 30 s
    SECTION("NXDOMAIN and no data: min(SOA TTL, MINIMUM)") {
        server.soa(20, 10);
        CHECK(run(dns.srv("_sip._udp.nowhere.test")).empty());  // NXDOMAIN
        CHECK(run(dns.srv("_sip._udp.known.test")).empty());    // the name has no SRV
        CHECK(run(dns.naptr("known.test")).empty());
        clock.seconds = 9;
        CHECK(run(dns.srv("_sip._udp.nowhere.test")).empty());
        CHECK(run(dns.srv("_sip._udp.known.test")).empty());
        CHECK(run(dns.naptr("known.test")).empty());
        CHECK(server.queries(kSRV) == 2);
        CHECK(server.queries(kNAPTR) == 1);
        clock.seconds = 10;
        run(dns.srv("_sip._udp.nowhere.test"));
        CHECK(server.queries(kSRV) == 3);
    }
    SECTION("a long negative TTL is capped") {
        server.soa(86400, 3600);
        run(dns.srv("_sip._udp.nowhere.test"));
        clock.seconds = 29;
        run(dns.srv("_sip._udp.nowhere.test"));
        CHECK(server.queries(kSRV) == 1);
        clock.seconds = 30;
        run(dns.srv("_sip._udp.nowhere.test"));
        CHECK(server.queries(kSRV) == 2);
    }
    SECTION("without an SOA (and for getaddrinfo, which hides it): negative_ttl") {
        run(dns.srv("_sip._udp.nowhere.test"));
        CHECK(run(dns.addresses("nowhere.test")).empty());
        const int a_queries = server.queries(kA);
        clock.seconds = 4;
        run(dns.srv("_sip._udp.nowhere.test"));
        CHECK(run(dns.addresses("nowhere.test")).empty());
        CHECK(server.queries(kSRV) == 1);
        CHECK(server.queries(kA) == a_queries);
        clock.seconds = 5;
        run(dns.srv("_sip._udp.nowhere.test"));
        run(dns.addresses("nowhere.test"));
        CHECK(server.queries(kSRV) == 2);
        CHECK(server.queries(kA) > a_queries);
    }
}

TEST_CASE("A lookup that timed out is not cached", "[dns][cache]") {
    TinyDnsServer server;
    server.srv("_sip._udp.late.test", 0, 0, 5060, "host.late.test");
    server.silent();
    DnsResolver dns(options_for(server));  // 300 ms, one try
    CHECK(run(dns.srv("_sip._udp.late.test")).empty());
    CHECK(server.queries(kSRV) == 1);
    server.silent(false);
    CHECK(run(dns.srv("_sip._udp.late.test")).size() == 1);
    CHECK(server.queries(kSRV) == 2);
}

TEST_CASE("NAPTR, A and AAAA records are read", "[dns]") {
    TinyDnsServer server;
    example_zone(server);
    server.aaaa("udp.example.test", "2001:db8::20");
    DnsResolver dns(options_for(server));
    auto naptr = run(dns.naptr("example.test"));
    REQUIRE(naptr.size() == 4);
    bool found = false;
    for (const auto& r : naptr) {
        if (r.service != "SIP+D2T") continue;
        found = true;
        CHECK(r.order == 10);
        CHECK(r.preference == 10);
        CHECK(r.flags == "S");
        CHECK(r.replacement == "_sip._tcp.example.test");
    }
    CHECK(found);
    auto addrs = run(dns.addresses("udp.example.test"));
    REQUIRE(addrs.size() == 2);
    CHECK(std::count(addrs.begin(), addrs.end(), asio::ip::make_address("192.0.2.20")) == 1);
    CHECK(std::count(addrs.begin(), addrs.end(), asio::ip::make_address("2001:db8::20")) == 1);
}

TEST_CASE("Unknown names give empty results", "[dns]") {
    TinyDnsServer server;
    server.a("known.test", "192.0.2.1");
    DnsResolver dns(options_for(server));
    CHECK(run(dns.srv("_sip._udp.nowhere.test")).empty());
    CHECK(run(dns.naptr("nowhere.test")).empty());
    CHECK(run(dns.addresses("nowhere.test")).empty());
    CHECK(run(dns.srv("_sip._udp.known.test")).empty());  // name exists, no SRV
}

TEST_CASE("RFC 3263: NAPTR then SRV then A", "[dns][rfc3263]") {
    TinyDnsServer server;
    example_zone(server);
    DnsResolver dns(options_for(server));
    SECTION("TCP is preferred by the NAPTR preference; UDP SRV targets follow in order") {
        auto peers = run(locate_sip_server({"example.test", 0, std::nullopt, false}, {}, dns));
        CHECK(strs(peers) == std::vector<std::string>{"tcp:192.0.2.10:5070", "udp:192.0.2.20:5080",
                                                      "udp:192.0.2.21:5081"});
    }
    SECTION("only the transports we support are followed") {
        auto peers = run(locate_sip_server({"example.test", 0, std::nullopt, false}, {true, false, false}, dns));
        CHECK(strs(peers) == std::vector<std::string>{"udp:192.0.2.20:5080", "udp:192.0.2.21:5081"});
    }
    SECTION("sips follows SIPS+D2T only") {
        server.srv("_sips._tcp.example.test", 0, 0, 5061, "tls.example.test");
        server.a("tls.example.test", "192.0.2.40");
        auto peers = run(locate_sip_server({"example.test", 0, std::nullopt, true}, {}, dns));
        CHECK(strs(peers) == std::vector<std::string>{"tls:192.0.2.40:5061"});
    }
}

TEST_CASE("RFC 3263: a transport param means SRV for that transport, no NAPTR", "[dns][rfc3263]") {
    TinyDnsServer server;
    example_zone(server);
    DnsResolver dns(options_for(server));
    auto peers = run(locate_sip_server({"example.test", 0, Protocol::Udp, false}, {}, dns));
    CHECK(strs(peers) == std::vector<std::string>{"udp:192.0.2.20:5080", "udp:192.0.2.21:5081"});
    CHECK(server.queries(kNAPTR) == 0);
}

TEST_CASE("RFC 3263: an explicit port skips NAPTR and SRV", "[dns][rfc3263]") {
    TinyDnsServer server;
    example_zone(server);
    DnsResolver dns(options_for(server));
    auto peers = run(locate_sip_server({"example.test", 5099, std::nullopt, false}, {}, dns));
    CHECK(strs(peers) == std::vector<std::string>{"udp:192.0.2.1:5099"});
    peers = run(locate_sip_server({"example.test", 5099, Protocol::Tcp, false}, {}, dns));
    CHECK(strs(peers) == std::vector<std::string>{"tcp:192.0.2.1:5099"});
    CHECK(server.queries(kNAPTR) == 0);
    CHECK(server.queries(kSRV) == 0);
}

TEST_CASE("RFC 3263: no NAPTR means SRV for UDP, then TCP", "[dns][rfc3263]") {
    TinyDnsServer server;
    server.srv("_sip._tcp.srvonly.test", 0, 0, 5090, "host.srvonly.test");
    server.srv("_sip._udp.srvonly.test", 0, 0, 5091, "host.srvonly.test");
    server.a("host.srvonly.test", "192.0.2.50");
    DnsResolver dns(options_for(server));
    auto peers = run(locate_sip_server({"srvonly.test", 0, std::nullopt, false}, {}, dns));
    CHECK(strs(peers) == std::vector<std::string>{"udp:192.0.2.50:5091", "tcp:192.0.2.50:5090"});
}

TEST_CASE("RFC 3263: no NAPTR and no SRV means A/AAAA on 5060 over UDP", "[dns][rfc3263]") {
    TinyDnsServer server;
    server.a("plain.test", "192.0.2.30");
    server.aaaa("plain.test", "2001:db8::30");
    DnsResolver dns(options_for(server));
    auto peers = run(locate_sip_server({"plain.test", 0, std::nullopt, false}, {}, dns));
    REQUIRE(peers.size() == 2);
    auto text = strs(peers);
    CHECK(std::count(text.begin(), text.end(), "udp:192.0.2.30:5060") == 1);
    CHECK(std::count(text.begin(), text.end(), "udp:[2001:db8::30]:5060") == 1);
    CHECK(run(locate_sip_server({"nowhere.test", 0, std::nullopt, false}, {}, dns)).empty());
}

TEST_CASE("RFC 3263: numeric hosts need no DNS", "[dns][rfc3263]") {
    TinyDnsServer server;
    DnsResolver dns(options_for(server));
    CHECK(strs(run(locate_sip_server({"192.0.2.7", 0, std::nullopt, false}, {}, dns))) ==
          std::vector<std::string>{"udp:192.0.2.7:5060"});
    CHECK(strs(run(locate_sip_server({"[2001:db8::7]", 0, Protocol::Tcp, false}, {}, dns))) ==
          std::vector<std::string>{"tcp:[2001:db8::7]:5060"});
    CHECK(server.queries(kA) + server.queries(kAAAA) + server.queries(kSRV) + server.queries(kNAPTR) == 0);
}

TEST_CASE("A silent DNS server gives empty results within the timeout", "[dns]") {
    TinyDnsServer server;
    server.silent();
    DnsResolver dns(options_for(server));  // 300 ms, one try
    const auto start = std::chrono::steady_clock::now();
    CHECK(run(dns.srv("_sip._udp.example.test")).empty());
    CHECK(run(dns.naptr("example.test")).empty());
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    CHECK(run(dns.addresses("example.test")).empty());
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("Lookups resume on the caller's executor", "[dns]") {
    TinyDnsServer server;
    example_zone(server);
    DnsResolver dns(options_for(server));
    asio::io_context io;
    std::thread::id loop_thread;
    std::vector<std::thread::id> resumed_on;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await dns.srv("_sip._tcp.example.test");
            resumed_on.push_back(std::this_thread::get_id());
            co_await dns.naptr("example.test");
            resumed_on.push_back(std::this_thread::get_id());
            co_await dns.addresses("tcp.example.test");
            resumed_on.push_back(std::this_thread::get_id());
        },
        [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    std::thread t([&] {
        loop_thread = std::this_thread::get_id();
        io.run();  // returns only once every lookup completed: they count as work
    });
    t.join();
    REQUIRE(resumed_on.size() == 3);
    for (auto id : resumed_on) CHECK(id == loop_thread);
}

TEST_CASE("Destroying the resolver completes pending lookups with nothing", "[dns]") {
    TinyDnsServer server;
    server.silent();
    auto opts = options_for(server);
    opts.timeout = std::chrono::seconds(10);
    asio::io_context io;
    std::optional<std::vector<SrvTarget>> result;
    {
        DnsResolver dns(opts);
        asio::co_spawn(io, dns.srv("_sip._udp.example.test"),
                       [&](std::exception_ptr, std::vector<SrvTarget> v) { result = std::move(v); });
        io.poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const auto start = std::chrono::steady_clock::now();
    io.run();
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    REQUIRE(result);
    CHECK(result->empty());
}
