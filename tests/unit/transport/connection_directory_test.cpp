// The daemon-wide directory of connections (keyed by protocol, address and port): which connection reaches a peer, and
// which peer's own connection is gone (not to be connected to).
#include "transport/connection_directory.hpp"

#include <catch2/catch.hpp>

using namespace sipproxy::transport;
using namespace std::chrono_literals;

namespace {
const auto a = asio::ip::make_address("192.0.2.10");
const auto b = asio::ip::make_address("2001:db8::10");
constexpr auto T = Protocol::Tcp;
}  // namespace

TEST_CASE("connection directory: live connections by address and port") {
    ConnectionDirectory d;
    CHECK(d.find(T, a, 5060).connection == 0);
    CHECK_FALSE(d.find(T, a, 5060).flow_gone);
    d.add(T, a, 40000, 0x1000000000001ull, true);
    d.add(T, b, 40000, 0x0000000000002ull, false);
    CHECK(d.find(T, a, 40000).connection == 0x1000000000001ull);
    CHECK(d.find(T, b, 40000).connection == 2u);
    CHECK(d.find(T, a, 40001).connection == 0);  // another port
    CHECK(d.size() == 2);
    d.remove(T, b, 40000, 2);
    CHECK(d.size() == 1);
    CHECK(d.find(T, b, 40000).connection == 0);
    CHECK_FALSE(d.find(T, b, 40000).flow_gone);  // we opened it: we may connect again
}

TEST_CASE("connection directory: a closed inbound flow leaves a tombstone until its TTL") {
    ConnectionDirectory d({std::chrono::seconds(60), 100});
    const auto t0 = ConnectionDirectory::Clock::now();
    d.add(T, a, 40000, 7, true);
    d.remove(T, a, 40000, 7, t0);
    CHECK(d.size() == 0);
    auto l = d.find(T, a, 40000, t0 + 1s);
    CHECK(l.connection == 0);
    CHECK(l.flow_gone);
    CHECK_FALSE(d.find(T, a, 40000, t0 + 61s).flow_gone);

    // The peer connects again from the same port: live again, no tombstone.
    d.add(T, a, 40000, 8, true);
    CHECK(d.find(T, a, 40000, t0 + 2s).connection == 8u);
    d.remove(T, a, 40000, 99, t0 + 2s);  // not a connection of that peer: ignored
    CHECK(d.find(T, a, 40000, t0 + 2s).connection == 8u);
}

TEST_CASE("connection directory: two connections with one peer, the second still serves") {
    ConnectionDirectory d;
    d.add(T, a, 5060, 1, false);
    d.add(T, a, 5060, 2, true);
    d.remove(T, a, 5060, 1);
    CHECK(d.find(T, a, 5060).connection == 2u);
    CHECK(d.size() == 1);
}

TEST_CASE("connection directory: tombstones are capped (a spoofed-source churn stays bounded)") {
    ConnectionDirectory d({std::chrono::seconds(3600), 10});
    const auto t0 = ConnectionDirectory::Clock::now();
    for (std::uint16_t p = 1; p <= 50; ++p) {
        d.add(T, a, p, p, true);
        d.remove(T, a, p, p, t0);
    }
    int gone = 0;
    for (std::uint16_t p = 1; p <= 50; ++p) gone += d.find(T, a, p, t0).flow_gone ? 1 : 0;
    CHECK(gone == 10);
    CHECK(d.find(T, a, 50, t0).flow_gone);  // the newest are kept
    CHECK_FALSE(d.find(T, a, 1, t0).flow_gone);
}

TEST_CASE("connection directory: keyed by protocol: a TLS connection is not a TCP one") {
    ConnectionDirectory d;
    d.add(Protocol::Tls, a, 5061, 1, false);
    CHECK(d.find(Protocol::Tls, a, 5061).connection == 1u);
    CHECK(d.find(Protocol::Tcp, a, 5061).connection == 0);
    d.add(Protocol::Tcp, a, 40000, 2, true);
    d.add(Protocol::Tls, a, 40001, 3, true);
    CHECK(d.inbound_from(a) == 2);  // the per-source cap counts every protocol
    CHECK(d.size(Protocol::Tls) == 2);
    CHECK(d.size(Protocol::Tcp) == 1);
    CHECK(d.size() == 3);
    d.remove(Protocol::Tcp, a, 40000, 2);
    CHECK(d.find(Protocol::Tcp, a, 40000).flow_gone);
    CHECK_FALSE(d.find(Protocol::Tls, a, 40000).flow_gone);
}

TEST_CASE("connection directory: an accepted connection is counted before it is judged") {
    ConnectionDirectory d;
    // Two workers accepting from one source at once: the second sees the first.
    CHECK(d.reserve_inbound(a) == 0);
    CHECK(d.reserve_inbound(a) == 1);
    CHECK(d.inbound_from(a) == 2);
    d.release_inbound(a);  // the second was refused
    CHECK(d.inbound_from(a) == 1);
    d.add(Protocol::Tcp, a, 40000, 5, true, true);  // the first kept: not counted twice
    CHECK(d.inbound_from(a) == 1);
    d.remove(Protocol::Tcp, a, 40000, 5);
    CHECK(d.inbound_from(a) == 0);
}
