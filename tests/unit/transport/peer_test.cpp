// Address text as it goes into Via received=, registrations and route source matches.
#include <asio/ip/address.hpp>

#include <catch2/catch.hpp>

#include "transport/peer.hpp"

using sipproxy::transport::address_text;
using sipproxy::transport::uri_host;

TEST_CASE("address_text writes IPv4 like inet_ntop, IPv6 through asio") {
    for (const char* a : {"0.0.0.0", "1.2.3.4", "10.20.30.40", "192.0.2.1", "100.99.9.0",
                          "255.255.255.255", "127.0.0.1"}) {
        const auto addr = asio::ip::make_address(a);
        CHECK(address_text(addr) == a);
        CHECK(address_text(addr) == addr.to_string());
    }
    CHECK(address_text(asio::ip::make_address("::1")) == "::1");
    CHECK(address_text(asio::ip::make_address("2001:db8::5")) == "2001:db8::5");
    CHECK(uri_host(asio::ip::make_address("2001:db8::5")) == "[2001:db8::5]");
    CHECK(uri_host(asio::ip::make_address("198.51.100.7")) == "198.51.100.7");
}

TEST_CASE("protocol traits: what each transport is, read from one table") {
    using namespace sipproxy::transport;
    Protocol p{};
    for (auto [text, want] : {std::pair{"udp", Protocol::Udp}, {"TCP", Protocol::Tcp},
                              {"Tls", Protocol::Tls}, {"ws", Protocol::Ws}, {"WSS", Protocol::Wss}}) {
        REQUIRE(parse_protocol(text, p));
        CHECK(p == want);
    }
    CHECK_FALSE(parse_protocol("sctp", p));
    CHECK_FALSE(parse_protocol("tl", p));
    CHECK_FALSE(reliable(Protocol::Udp));
    CHECK(reliable(Protocol::Tcp));
    CHECK(reliable(Protocol::Tls));
    CHECK(reliable(Protocol::Wss));
    CHECK(secure(Protocol::Tls));
    CHECK(secure(Protocol::Wss));
    CHECK_FALSE(secure(Protocol::Tcp));
    CHECK(via_name(Protocol::Tls) == "TLS");
    CHECK(uri_name(Protocol::Wss) == "wss");
    CHECK(default_port(Protocol::Tls) == 5061);
    CHECK(default_port(Protocol::Udp) == 5060);
    CHECK(connectable(Protocol::Tls));
    CHECK_FALSE(connectable(Protocol::Ws));  // only the browser connects
    CHECK_FALSE(connectable(Protocol::Udp));
    Peer peer{Protocol::Tls, asio::ip::make_address("::1"), 5061, 0, {}};
    CHECK(peer.reliable());
    CHECK(peer.to_string() == "tls:[::1]:5061");
}
