#include "proxy/path_tokens.hpp"

// HMAC-SHA256 with the SHA-256 states after the key pads computed once (as in
// auth/nonce.cpp): a token costs four compression rounds and no allocation in OpenSSL.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <random>

#include "auth/nonce.hpp"
#include "base/parse_number.hpp"

namespace sipproxy::proxy {

struct PathTokens::Key {
    SHA256_CTX inner;
    SHA256_CTX outer;
    ~Key() { OPENSSL_cleanse(this, sizeof *this); }
};

namespace {
std::uint64_t random_run() {
    std::random_device rd;
    std::uint64_t r = 0;
    while (r == 0) r = (std::uint64_t{rd()} << 32) ^ rd();
    return r;
}

std::string hex16(std::uint64_t v) {
    char buf[16];
    for (int i = 15; i >= 0; --i, v >>= 4) buf[i] = "0123456789abcdef"[v & 0xf];
    return std::string(buf, sizeof buf);
}
}  // namespace

PathTokens::PathTokens(const auth::NodeSecret& secret) : PathTokens(secret, random_run()) {}

PathTokens::PathTokens(const auth::NodeSecret& secret, std::uint64_t run)
    : key_(std::make_unique<Key>()), run_(run) {
    unsigned char block[SHA256_CBLOCK] = {};
    static_assert(sizeof secret.bytes <= SHA256_CBLOCK);
    std::copy(secret.bytes.begin(), secret.bytes.end(), block);
    unsigned char pad[SHA256_CBLOCK];
    for (std::size_t i = 0; i < SHA256_CBLOCK; ++i) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&key_->inner);
    SHA256_Update(&key_->inner, pad, sizeof pad);
    for (std::size_t i = 0; i < SHA256_CBLOCK; ++i) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&key_->outer);
    SHA256_Update(&key_->outer, pad, sizeof pad);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
}

PathTokens::~PathTokens() = default;

std::string PathTokens::sign(std::string_view label,
                             std::initializer_list<std::string_view> fields) const {
    static constexpr unsigned char separator = 0;
    unsigned char inner_hash[32];
    unsigned char mac[32];
    SHA256_CTX ctx = key_->inner;  // a copy: workers share key_ read-only
    SHA256_Update(&ctx, label.data(), label.size());
    for (auto f : fields) {
        SHA256_Update(&ctx, &separator, 1);
        SHA256_Update(&ctx, f.data(), f.size());
    }
    SHA256_Final(inner_hash, &ctx);
    ctx = key_->outer;
    SHA256_Update(&ctx, inner_hash, sizeof inner_hash);
    SHA256_Final(mac, &ctx);
    static_assert(token_length == 12 / 3 * 4);
    return auth::base64url_encode(mac, 12);
}

bool PathTokens::matches(std::string_view token, const std::string& expected) const {
    return token.size() == expected.size() &&
           CRYPTO_memcmp(token.data(), expected.data(), expected.size()) == 0;
}

std::string PathTokens::dialog(std::string_view call_id, std::string_view from_tag) const {
    return sign("dialog", {call_id, from_tag});
}

bool PathTokens::dialog_matches(std::string_view token, std::string_view call_id,
                                std::string_view from_tag, std::string_view to_tag) const {
    if (token.size() != token_length) return false;
    return matches(token, dialog(call_id, from_tag)) ||
           (!to_tag.empty() && matches(token, dialog(call_id, to_tag)));
}

std::string PathTokens::via(const ViaHop& hop) const {
    // Case-insensitive parts are signed in one case: a peer may echo them in another.
    std::string transport(hop.transport), host(hop.host), received(hop.received);
    for (auto& c : transport) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto& c : received) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string port = std::to_string(hop.port);
    const std::string rport = hop.rport ? std::to_string(*hop.rport) : std::string("-");
    return sign("via", {transport, host, port, received, rport});
}

bool PathTokens::via_matches(std::string_view token, const ViaHop& hop) const {
    return token.size() == token_length && matches(token, via(hop));
}

std::string PathTokens::ws_flows(std::string_view call_id, std::string_view flows,
                                 std::string_view from_tag) const {
    return sign("wsflow", {call_id, flows, from_tag});
}

bool PathTokens::ws_flows_match(std::string_view token, std::string_view call_id,
                                std::string_view flows, std::string_view from_tag,
                                std::string_view to_tag) const {
    if (token.size() != token_length) return false;
    return matches(token, ws_flows(call_id, flows, from_tag)) ||
           (!to_tag.empty() && matches(token, ws_flows(call_id, flows, to_tag)));
}

std::string flow_text(const transport::Peer& p) {
    return std::string(transport::uri_name(p.protocol)) + "~" + transport::address_text(p.address) +
           "~" + std::to_string(p.port);
}

std::optional<transport::Peer> parse_flow(std::string_view text) {
    const auto a = text.find('~');
    const auto b = text.rfind('~');
    if (a == std::string_view::npos || a == b) return std::nullopt;
    transport::Peer p;
    if (!transport::parse_protocol(text.substr(0, a), p.protocol)) return std::nullopt;
    const auto address = text.substr(a + 1, b - a - 1);
    if (address.empty() || address.size() > 64) return std::nullopt;
    asio::error_code ec;
    p.address = asio::ip::make_address(std::string(address), ec);
    if (ec) return std::nullopt;
    std::uint64_t port = 0;
    if (!parse_number(text.substr(b + 1), port) || port == 0 || port > 65535) return std::nullopt;
    p.port = static_cast<std::uint16_t>(port);
    return p;
}

std::string PathTokens::flow_token(std::string_view flow, std::uint64_t connection,
                                   std::uint64_t run) const {
    return sign("flow", {flow, std::to_string(connection), hex16(run)});
}

std::string PathTokens::flow_value(const transport::Peer& connection) const {
    const std::string flow = flow_text(connection);
    return flow + "~" + std::to_string(connection.connection) + "~" + hex16(run_) + "~" +
           flow_token(flow, connection.connection, run_);
}

PathTokens::FlowCheck PathTokens::flow_of(std::string_view value) const {
    // From the right: token, run, connection id; the rest is the flow text.
    std::string_view field[3];
    for (auto& f : field) {
        const auto tilde = value.rfind('~');
        if (tilde == std::string_view::npos) return {};
        f = value.substr(tilde + 1);
        value = value.substr(0, tilde);
    }
    const auto token = field[0];
    std::uint64_t run = 0, connection = 0;
    if (token.size() != token_length || !parse_number(field[1], run, 16) || field[1] != hex16(run) ||
        !parse_number(field[2], connection) || connection == 0)
        return {};
    auto peer = parse_flow(value);
    if (!peer) return {};
    peer->connection = connection;
    // Signed as this node writes it: a differently spelt copy does not verify.
    if (flow_text(*peer) != value || !matches(token, flow_token(value, connection, run))) return {};
    return {run == run_ ? FlowCheck::Result::Valid : FlowCheck::Result::Stale, std::move(*peer)};
}

}  // namespace sipproxy::proxy
