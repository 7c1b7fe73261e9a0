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
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
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
// no record of, an empty NOERROR answer for a known name without the asked type, and
// no answer at all when silent.
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
    void silent() { silent_ = true; }

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
    void add(const std::string& name, std::uint16_t type, std::string rdata) {
        std::lock_guard lock(mutex_);
        records_[lower(name)].push_back({type, std::move(rdata)});
    }

    void serve() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            char buf[512];
            sockaddr_in from{};
            socklen_t flen = sizeof from;
            auto n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
            if (n < 12 || silent_) continue;
            auto reply = answer(std::string(buf, static_cast<std::size_t>(n)));
            if (!reply.empty())
                ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
        }
    }

    std::string answer(const std::string& q) {
        // The question: labels, then type and class.
        std::size_t i = 12;
        std::string name;
        while (i < q.size() && q[i] != 0) {
            const auto len = static_cast<unsigned char>(q[i]);
            if (!name.empty()) name += '.';
            name += q.substr(i + 1, len);
            i += 1 + len;
        }
        if (i + 5 > q.size()) return {};
        const std::size_t question_end = i + 5;
        const std::uint16_t type = static_cast<std::uint16_t>(
            (static_cast<unsigned char>(q[i + 1]) << 8) | static_cast<unsigned char>(q[i + 2]));
        std::vector<std::pair<std::uint16_t, std::string>> found;
        bool known;
        {
            std::lock_guard lock(mutex_);
            ++seen_[type];
            auto it = records_.find(lower(name));
            known = it != records_.end();
            if (known)
                for (const auto& r : it->second)
                    if (r.first == type) found.push_back(r);
        }
        std::string out = q.substr(0, 2);   // id
        put16(out, known ? 0x8180 : 0x8183);  // response, RD, RA; NXDOMAIN when unknown
        put16(out, 1);
        put16(out, found.size());
        put16(out, 0);
        put16(out, 0);
        out += q.substr(12, question_end - 12);
        for (const auto& [t, rd] : found) {
            put16(out, 0xc00c);  // the name: a pointer to the question's
            put16(out, t);
            put16(out, 1);       // IN
            put16(out, 0);
            put16(out, 60);      // TTL
            put16(out, rd.size());
            out += rd;
        }
        return out;
    }

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<bool> silent_{false};
    std::mutex mutex_;
    std::map<std::string, std::vector<std::pair<std::uint16_t, std::string>>> records_;
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

}  // namespace

TEST_CASE("SRV records come in RFC 2782 order", "[dns]") {
    TinyDnsServer server;
    server.srv("_sip._udp.srv.test", 20, 0, 5070, "b.srv.test");
    server.srv("_sip._udp.srv.test", 10, 10, 5060, "a1.srv.test");
    server.srv("_sip._udp.srv.test", 10, 60, 5062, "a2.srv.test");
    DnsResolver dns(options_for(server));
    auto srv = run(dns.srv("_sip._udp.srv.test"));
    REQUIRE(srv.size() == 3);
    CHECK(srv[0].host == "a2.srv.test");
    CHECK(srv[0].port == 5062);
    CHECK(srv[0].weight == 60);
    CHECK(srv[1].host == "a1.srv.test");
    CHECK(srv[2].host == "b.srv.test");
    CHECK(srv[2].priority == 20);
}

TEST_CASE("order_srv drops the '.' target", "[dns]") {
    std::vector<SrvTarget> r{{".", 5060, 0, 0}, {"b", 5060, 1, 0}, {"a", 5060, 0, 5}};
    order_srv(r);
    REQUIRE(r.size() == 2);
    CHECK(r[0].host == "a");
    CHECK(r[1].host == "b");
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
        auto peers = run(locate_sip_server({"example.test", 0, std::nullopt, false}, {true, false}, dns));
        CHECK(strs(peers) == std::vector<std::string>{"udp:192.0.2.20:5080", "udp:192.0.2.21:5081"});
    }
    SECTION("sips follows SIPS+D2T only") {
        server.srv("_sips._tcp.example.test", 0, 0, 5061, "tls.example.test");
        server.a("tls.example.test", "192.0.2.40");
        auto peers = run(locate_sip_server({"example.test", 0, std::nullopt, true}, {}, dns));
        CHECK(strs(peers) == std::vector<std::string>{"tcp:192.0.2.40:5061"});
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
