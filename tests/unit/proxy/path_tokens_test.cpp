// The tokens that prove a path went through this proxy (path_tokens.hpp).
#include "proxy/path_tokens.hpp"

#include <catch2/catch.hpp>

#include "transaction/branch.hpp"

using namespace sipproxy;
using proxy::PathTokens;
using proxy::ViaHop;

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

TEST_CASE("flow token: names one connection, verifiable only by the node that made it") {
    PathTokens a(secret_of(1)), b(secret_of(2));
    PathTokens::Flow f{"tcp", "2001:db8::7", 40312, 17};
    const std::string v = a.flow_value(f);
    CHECK(v.starts_with("tcp~2001:db8::7~40312~17~"));
    auto back = a.flow_of(v);
    REQUIRE(back);
    CHECK(back->transport == "tcp");
    CHECK(back->address == "2001:db8::7");
    CHECK(back->port == 40312);
    CHECK(back->connection == 17);
    CHECK_FALSE(b.flow_of(v));  // another node's secret
    // Any field changed, the token dropped or forged, or extra fields: refused.
    CHECK_FALSE(a.flow_of("tcp~2001:db8::7~40312~18~" + v.substr(v.size() - 16)));
    CHECK_FALSE(a.flow_of("tcp~2001:db8::8~40312~17~" + v.substr(v.size() - 16)));
    CHECK_FALSE(a.flow_of("udp~2001:db8::7~40312~17~" + v.substr(v.size() - 16)));
    CHECK_FALSE(a.flow_of("tcp~2001:db8::7~40312~17"));
    CHECK_FALSE(a.flow_of("tcp~2001:db8::7~40312~17~AAAAAAAAAAAAAAAA"));
    CHECK_FALSE(a.flow_of(v + "~x"));
    CHECK_FALSE(a.flow_of(""));
}
