// The tokens that prove a path went through this proxy (path_tokens.hpp).
#include "proxy/path_tokens.hpp"

#include <catch2/catch.hpp>

#include "transaction/branch.hpp"

using namespace sipproxy;
using proxy::PathTokens;
using proxy::ViaHop;
using proxy::parse_flow;

namespace {
auth::NodeSecret secret_of(unsigned char b) {
    auth::NodeSecret s;
    s.bytes.fill(b);
    return s;
}
}  // namespace

TEST_CASE("dialog token: verifies for its dialog from either end, nothing else") {
    PathTokens t(secret_of(1));
    const auto token = t.dialog("call-1@host", "caller-tag");
    CHECK(token.size() == PathTokens::token_length);
    CHECK(token.find_first_not_of(
              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    CHECK(t.dialog("call-1@host", "caller-tag") == token);  // stateless: same input, same token
    // From the caller (its tag in From) and from the callee (the caller's tag in To).
    CHECK(t.dialog_matches(token, "call-1@host", "caller-tag", "callee-tag"));
    CHECK(t.dialog_matches(token, "call-1@host", "callee-tag", "caller-tag"));
    // Another dialog.
    CHECK(!t.dialog_matches(token, "call-2@host", "caller-tag", "callee-tag"));
    CHECK(!t.dialog_matches(token, "call-1@host", "other-tag", "callee-tag"));
    CHECK(!t.dialog_matches(token, "call-1@host", "callee-tag", ""));
    // Tampered: each character changed in turn.
    for (std::size_t i = 0; i < token.size(); ++i) {
        std::string bad = token;
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        CHECK(!t.dialog_matches(bad, "call-1@host", "caller-tag", "x"));
    }
    // Truncated, extended, empty.
    CHECK(!t.dialog_matches(token.substr(0, token.size() - 1), "call-1@host", "caller-tag", "x"));
    CHECK(!t.dialog_matches(token.substr(0, 8), "call-1@host", "caller-tag", "x"));
    CHECK(!t.dialog_matches(token + "A", "call-1@host", "caller-tag", "x"));
    CHECK(!t.dialog_matches("", "call-1@host", "caller-tag", "x"));
    // Another secret (another node, or a forger's guess).
    PathTokens other(secret_of(2));
    CHECK(!other.dialog_matches(token, "call-1@host", "caller-tag", "x"));
    // Fields do not run into each other.
    CHECK(t.dialog("ab", "c") != t.dialog("a", "bc"));
}

TEST_CASE("via token: binds transport, sent-by, received and rport") {
    PathTokens t(secret_of(3));
    ViaHop hop{"UDP", "10.0.0.5", 5060, "192.0.2.7", 40000};
    const auto token = t.via(hop);
    CHECK(t.via_matches(token, hop));
    // Case of transport and host does not matter (a peer may echo another case).
    CHECK(t.via_matches(token, ViaHop{"udp", "10.0.0.5", 5060, "192.0.2.7", 40000}));
    // Everything that decides where a response goes does.
    CHECK(!t.via_matches(token, ViaHop{"TCP", "10.0.0.5", 5060, "192.0.2.7", 40000}));
    CHECK(!t.via_matches(token, ViaHop{"UDP", "10.0.0.6", 5060, "192.0.2.7", 40000}));
    CHECK(!t.via_matches(token, ViaHop{"UDP", "10.0.0.5", 5061, "192.0.2.7", 40000}));
    CHECK(!t.via_matches(token, ViaHop{"UDP", "10.0.0.5", 5060, "127.0.0.77", 40000}));
    CHECK(!t.via_matches(token, ViaHop{"UDP", "10.0.0.5", 5060, "", 40000}));
    CHECK(!t.via_matches(token, ViaHop{"UDP", "10.0.0.5", 5060, "192.0.2.7", 28977}));
    CHECK(!t.via_matches(token, ViaHop{"UDP", "10.0.0.5", 5060, "192.0.2.7", std::nullopt}));
    CHECK(!t.via_matches(token.substr(1), hop));
    CHECK(!t.via_matches("", hop));
    CHECK(!PathTokens(secret_of(4)).via_matches(token, hop));
    // A dialog token is not a via token.
    CHECK(!t.via_matches(t.dialog("UDP", "10.0.0.5"), hop));
}

TEST_CASE("branch with token: worker and loop hash parse as before, the token comes back") {
    auto b = transaction::make_branch(1, 0x01020304, 0x2a);
    CHECK(transaction::branch_token(b).empty());
    auto with = transaction::branch_with_token(b, "AbC-_x");
    CHECK(with == b + ".AbC-_x");
    CHECK(transaction::branch_worker(with) == 1u);
    CHECK(transaction::branch_loop_hash(with) == 0x01020304u);
    CHECK(transaction::branch_token(with) == "AbC-_x");
    CHECK(transaction::branch_token("z9hG4bKforeign.x.y").empty());
    CHECK(transaction::branch_token("z9hG4bK-sp0001020304.2a").empty());
    CHECK(transaction::branch_with_token(b, "") == b);
}

namespace {
transport::Peer connection(std::string_view address, std::uint16_t port, std::uint64_t id,
                           transport::Protocol p = transport::Protocol::Tcp) {
    transport::Peer c;
    c.protocol = p;
    c.address = asio::ip::make_address(std::string(address));
    c.port = port;
    c.connection = id;
    return c;
}
using Result = PathTokens::FlowCheck::Result;
}  // namespace

TEST_CASE("flow token: names one connection, verifiable only by the node that made it") {
    PathTokens a(secret_of(1), 0x0123456789abcdefull), b(secret_of(2), 0x0123456789abcdefull);
    const std::string v = a.flow_value(connection("2001:db8::7", 40312, 17));
    CHECK(v.starts_with("tcp~2001:db8::7~40312~17~0123456789abcdef~"));
    auto back = a.flow_of(v);
    REQUIRE(back.result == Result::Valid);
    CHECK(back.connection.protocol == transport::Protocol::Tcp);
    CHECK(back.connection.address == asio::ip::make_address("2001:db8::7"));
    CHECK(back.connection.port == 40312);
    CHECK(back.connection.connection == 17);
    CHECK(b.flow_of(v).result == Result::Invalid);  // another node's secret
    // Any field changed, the token dropped or forged, or extra fields: refused.
    const std::string token = v.substr(v.size() - 16);
    CHECK(a.flow_of("tcp~2001:db8::7~40312~18~0123456789abcdef~" + token).result == Result::Invalid);
    CHECK(a.flow_of("tcp~2001:db8::8~40312~17~0123456789abcdef~" + token).result == Result::Invalid);
    CHECK(a.flow_of("udp~2001:db8::7~40312~17~0123456789abcdef~" + token).result == Result::Invalid);
    CHECK(a.flow_of("tcp~2001:db8::7~40312~17~0123456789abcdee~" + token).result == Result::Invalid);
    CHECK(a.flow_of("tcp~2001:db8:0::7~40312~17~0123456789abcdef~" + token).result == Result::Invalid);
    CHECK(a.flow_of("tcp~2001:db8::7~40312~17~0123456789abcdef").result == Result::Invalid);
    CHECK(a.flow_of("tcp~2001:db8::7~40312~17~0123456789abcdef~AAAAAAAAAAAAAAAA").result ==
          Result::Invalid);
    CHECK(a.flow_of(v + "~x").result == Result::Invalid);
    CHECK(a.flow_of("x~" + v).result == Result::Invalid);
    CHECK(a.flow_of("").result == Result::Invalid);
    CHECK(a.flow_of("~~~~~").result == Result::Invalid);
}

TEST_CASE("flow token: TLS and WebSocket connections, IPv4") {
    PathTokens a(secret_of(1), 7);
    for (auto p : {transport::Protocol::Tls, transport::Protocol::Ws, transport::Protocol::Wss}) {
        const auto c = connection("127.0.0.1", 5061, 3, p);
        auto back = a.flow_of(a.flow_value(c));
        REQUIRE(back.result == Result::Valid);
        CHECK(back.connection.protocol == p);
        CHECK(back.connection.to_string() == c.to_string());
        CHECK(back.connection.connection == 3);
    }
}

TEST_CASE("flow token: one made before the node restarted is stale, not another connection") {
    // The same node secret (it survives restarts), another run: connection ids start again
    // at 1, so id 17 of the old run may be somebody else's connection now.
    PathTokens before(secret_of(1), 1111), after(secret_of(1), 2222);
    const std::string v = before.flow_value(connection("192.0.2.10", 40312, 17));
    CHECK(before.flow_of(v).result == Result::Valid);
    auto now = after.flow_of(v);
    CHECK(now.result == Result::Stale);
    CHECK(now.connection.connection == 17);
    // A forged token is still invalid, whatever run it claims.
    std::string forged = v;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    CHECK(after.flow_of(forged).result == Result::Invalid);
    // Each node picks its run at random when it starts.
    CHECK(PathTokens(secret_of(1)).run() != PathTokens(secret_of(1)).run());
}

TEST_CASE("WebSocket flows in a Record-Route: signed with the dialog, either tag") {
    PathTokens a(secret_of(1)), b(secret_of(2));
    const std::string flows = "wss~127.0.0.1~55326_ws~127.0.0.1~40000";
    const auto sig = a.ws_flows("call-1", flows, "ftag");
    CHECK(a.ws_flows_match(sig, "call-1", flows, "ftag", ""));
    CHECK(a.ws_flows_match(sig, "call-1", flows, "ttag", "ftag"));  // from the callee
    CHECK_FALSE(a.ws_flows_match(sig, "call-2", flows, "ftag", ""));
    CHECK_FALSE(a.ws_flows_match(sig, "call-1", "wss~127.0.0.1~55327", "ftag", ""));
    CHECK_FALSE(b.ws_flows_match(sig, "call-1", flows, "ftag", ""));
    // Not interchangeable with the dialog token of the same dialog.
    CHECK_FALSE(a.dialog_matches(sig, "call-1", "ftag", ""));
    REQUIRE(parse_flow("wss~127.0.0.1~55326"));
    CHECK(parse_flow("wss~127.0.0.1~55326")->protocol == transport::Protocol::Wss);
    CHECK_FALSE(parse_flow("wss~127.0.0.1~0"));
    CHECK_FALSE(parse_flow("wss~127.0.0.1~65536"));
    CHECK_FALSE(parse_flow("wss~127.0.0.1"));
    CHECK_FALSE(parse_flow("bogus~127.0.0.1~5060"));
}
