// RFC 3263 candidates of a next hop as the forwarder hands them to the response context:
// the first is the destination, the others are kept for failover (RFC 3263 4.3), and a
// known next hop is used without asking DNS again.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <catch2/catch.hpp>
#include <map>
#include <optional>

#include "proxy/forwarder.hpp"
#include "transport/dns_resolver.hpp"

using namespace sipproxy;
using transport::Peer;
using transport::Protocol;

namespace {

// Canned DNS answers (SRV already in order), counting the questions.
class CannedDns final : public transport::DnsLookups {
public:
    std::map<std::string, std::vector<transport::SrvTarget>> srv_records;
    std::map<std::string, std::vector<asio::ip::address>> address_records;
    int questions = 0;

    asio::awaitable<std::vector<transport::SrvTarget>> srv(std::string name) override {
        ++questions;
        auto it = srv_records.find(name);
        co_return it == srv_records.end() ? std::vector<transport::SrvTarget>{} : it->second;
    }
    asio::awaitable<std::vector<transport::NaptrRecord>> naptr(std::string) override {
        ++questions;
        co_return std::vector<transport::NaptrRecord>{};
    }
    asio::awaitable<std::vector<asio::ip::address>> addresses(std::string host) override {
        ++questions;
        auto it = address_records.find(host);
        co_return it == address_records.end() ? std::vector<asio::ip::address>{} : it->second;
    }
};

transport::Local local(Protocol p, const char* ip, std::uint16_t port) {
    return transport::Local::at(p, asio::ip::make_address(ip), port);
}

Peer peer(Protocol p, const char* ip, std::uint16_t port) {
    return Peer{p, asio::ip::make_address(ip), port, 0, {}};
}

std::vector<std::string> strs(const std::vector<Peer>& peers) {
    std::vector<std::string> out;
    for (const auto& p : peers) out.push_back(p.to_string());
    return out;
}

struct Setup {
    asio::io_context io;
    std::vector<transport::Local> locals{local(Protocol::Udp, "127.0.0.1", 5060),
                                         local(Protocol::Tcp, "127.0.0.1", 5060)};
    transport::Transport transport{io, 0, locals, {}};
    std::shared_ptr<CannedDns> dns = std::make_shared<CannedDns>();
    Peer source = peer(Protocol::Udp, "192.0.2.7", 40000);

    Setup() {
        // gw.test: two SRV targets over UDP, the second with two addresses (one IPv6,
        // which has no listener here), and a broadcast address that is never used.
        dns->srv_records["_sip._udp.gw.test"] = {{"a.gw.test", 5070, 10, 0},
                                                 {"b.gw.test", 5080, 20, 0},
                                                 {"bcast.gw.test", 5090, 30, 0}};
        dns->address_records["a.gw.test"] = {asio::ip::make_address("192.0.2.1")};
        dns->address_records["b.gw.test"] = {asio::ip::make_address("2001:db8::2"),
                                             asio::ip::make_address("192.0.2.2")};
        dns->address_records["bcast.gw.test"] = {asio::ip::make_address("255.255.255.255")};
        transport.set_resolver(dns);
    }

    template <class T>
    T run(asio::awaitable<T> a) {
        std::optional<T> out;
        auto body = [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(a)); };
        asio::co_spawn(io, body, asio::detached);
        io.restart();
        io.run();
        REQUIRE(out);
        return std::move(*out);
    }

    Expected<proxy::Forwarded, proxy::ForwardFailure> forward(const sip::Message& m,
                                                              const Peer* next_hop = nullptr) {
        proxy::Target t;
        proxy::ForwardInput in{&m, {}, &t, &locals[0], &source, false, "z9hG4bK-sp00test.1", next_hop};
        return run(proxy::forward_request(in, transport));
    }
};

sip::Message parse(const std::string& s) {
    auto r = sip::parse(s);
    REQUIRE(r);
    return std::move(r.value());
}

std::string invite(const std::string& ruri) {
    return "INVITE " + ruri + " SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKabc;rport\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:alice@example.test>;tag=1\r\n"
           "To: <sip:bob@gw.test>\r\n"
           "Call-ID: hops-1\r\n"
           "CSeq: 1 INVITE\r\n"
           "Content-Length: 0\r\n\r\n";
}

}  // namespace

TEST_CASE("a host name: the first candidate is the destination, the usable others are kept") {
    Setup s;
    auto m = parse(invite("sip:bob@gw.test"));
    auto f = s.forward(m);
    REQUIRE(f);
    CHECK(f->destination.to_string() == "udp:192.0.2.1:5070");
    // No IPv6 listener: 2001:db8::2 is left out; the broadcast address is never a hop.
    CHECK(strs(f->alternatives) == std::vector<std::string>{"udp:192.0.2.2:5080"});
}

TEST_CASE("a known next hop is used as it is, without DNS") {
    Setup s;
    auto m = parse(invite("sip:bob@gw.test"));
    auto first = s.forward(m);
    REQUIRE(first);
    const int asked = s.dns->questions;
    const Peer next = first->alternatives.at(0);
    auto again = s.forward(m, &next);
    REQUIRE(again);
    CHECK(s.dns->questions == asked);
    CHECK(again->destination.to_string() == "udp:192.0.2.2:5080");
    CHECK(again->alternatives.empty());
    // The same request otherwise: same Request-URI and Via for this branch.
    CHECK(again->bytes == first->bytes);
}

TEST_CASE("a numeric host has no alternatives") {
    Setup s;
    auto m = parse(invite("sip:bob@192.0.2.9:5070"));
    auto f = s.forward(m);
    REQUIRE(f);
    CHECK(f->destination.to_string() == "udp:192.0.2.9:5070");
    CHECK(f->alternatives.empty());
    CHECK(s.dns->questions == 0);
}

TEST_CASE("resolve_next_hops: every usable candidate once, or why the first is not usable") {
    Setup s;
    auto uri = sip::parse_uri("sip:gw.test");
    REQUIRE(uri);
    auto hops = s.run(proxy::resolve_next_hops(*uri, false, s.transport));
    REQUIRE(hops);
    CHECK(strs(*hops) == std::vector<std::string>{"udp:192.0.2.1:5070", "udp:192.0.2.2:5080"});

    // Large: TCP (RFC 3261 18.1.1) for each, each followed by its UDP twin, the fallback
    // when the next hop refuses TCP (18.1.1: retry over UDP); still once each.
    hops = s.run(proxy::resolve_next_hops(*uri, true, s.transport));
    REQUIRE(hops);
    CHECK(strs(*hops) == std::vector<std::string>{"tcp:192.0.2.1:5070", "udp:192.0.2.1:5070",
                                                  "tcp:192.0.2.2:5080", "udp:192.0.2.2:5080"});

    // A next hop that pins its transport (";transport=udp") stays on it, large or not.
    auto pinned = sip::parse_uri("sip:192.0.2.7:5070;transport=udp");
    REQUIRE(pinned);
    hops = s.run(proxy::resolve_next_hops(*pinned, true, s.transport));
    REQUIRE(hops);
    CHECK(strs(*hops) == std::vector<std::string>{"udp:192.0.2.7:5070"});
    // A numeric host without a transport: TCP for the large request, then UDP.
    auto numeric = sip::parse_uri("sip:192.0.2.7:5070");
    REQUIRE(numeric);
    hops = s.run(proxy::resolve_next_hops(*numeric, true, s.transport));
    REQUIRE(hops);
    CHECK(strs(*hops) == std::vector<std::string>{"tcp:192.0.2.7:5070", "udp:192.0.2.7:5070"});

    s.dns->srv_records["_sip._udp.bad.test"] = {{"bcast.gw.test", 5090, 10, 0}};
    auto bad = sip::parse_uri("sip:bad.test");
    REQUIRE(bad);
    auto none = s.run(proxy::resolve_next_hops(*bad, false, s.transport));
    REQUIRE(!none);
    CHECK(none.error().status == 403);
}
