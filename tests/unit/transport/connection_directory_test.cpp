// The daemon-wide directory of TCP connections: which connection reaches a peer, and
// which peer's own connection is gone (not to be connected to).
#include "transport/connection_directory.hpp"

#include <catch2/catch.hpp>

using namespace sipproxy::transport;
using namespace std::chrono_literals;

namespace {
const auto a = asio::ip::make_address("192.0.2.10");
const auto b = asio::ip::make_address("2001:db8::10");
}  // namespace

TEST_CASE("connection directory: live connections by address and port") {
    ConnectionDirectory d;
    CHECK(d.find(a, 5060).connection == 0);
    CHECK_FALSE(d.find(a, 5060).flow_gone);
    d.add(a, 40000, 0x1000000000001ull, true);
    d.add(b, 40000, 0x0000000000002ull, false);
    CHECK(d.find(a, 40000).connection == 0x1000000000001ull);
    CHECK(d.find(b, 40000).connection == 2u);
    CHECK(d.find(a, 40001).connection == 0);  // another port
    CHECK(d.size() == 2);
    d.remove(b, 40000, 2);
    CHECK(d.size() == 1);
    CHECK(d.find(b, 40000).connection == 0);
    CHECK_FALSE(d.find(b, 40000).flow_gone);  // we opened it: we may connect again
}

TEST_CASE("connection directory: a closed inbound flow leaves a tombstone until its TTL") {
    ConnectionDirectory d({std::chrono::seconds(60), 100});
    const auto t0 = ConnectionDirectory::Clock::now();
    d.add(a, 40000, 7, true);
    d.remove(a, 40000, 7, t0);
    CHECK(d.size() == 0);
    auto l = d.find(a, 40000, t0 + 1s);
    CHECK(l.connection == 0);
    CHECK(l.flow_gone);
    CHECK_FALSE(d.find(a, 40000, t0 + 61s).flow_gone);

    // The peer connects again from the same port: live again, no tombstone.
    d.add(a, 40000, 8, true);
    CHECK(d.find(a, 40000, t0 + 2s).connection == 8u);
    d.remove(a, 40000, 99, t0 + 2s);  // not a connection of that peer: ignored
    CHECK(d.find(a, 40000, t0 + 2s).connection == 8u);
}

TEST_CASE("connection directory: two connections with one peer, the second still serves") {
    ConnectionDirectory d;
    d.add(a, 5060, 1, false);
    d.add(a, 5060, 2, true);
    d.remove(a, 5060, 1);
    CHECK(d.find(a, 5060).connection == 2u);
    CHECK(d.size() == 1);
}

TEST_CASE("connection directory: tombstones are capped (a spoofed-source churn stays bounded)") {
    ConnectionDirectory d({std::chrono::seconds(3600), 10});
    const auto t0 = ConnectionDirectory::Clock::now();
    for (std::uint16_t p = 1; p <= 50; ++p) {
        d.add(a, p, p, true);
        d.remove(a, p, p, t0);
    }
    int gone = 0;
    for (std::uint16_t p = 1; p <= 50; ++p) gone += d.find(a, p, t0).flow_gone ? 1 : 0;
    CHECK(gone == 10);
    CHECK(d.find(a, 50, t0).flow_gone);  // the newest are kept
    CHECK_FALSE(d.find(a, 1, t0).flow_gone);
}
