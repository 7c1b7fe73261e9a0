#include "proxy/path_tokens.hpp"

// HMAC-SHA256 with the SHA-256 states after the key pads computed once (as in
// auth/nonce.cpp): a token costs four compression rounds and no allocation in OpenSSL.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "auth/nonce.hpp"

namespace sipproxy::proxy {

struct PathTokens::Key {
    SHA256_CTX inner;
    SHA256_CTX outer;
    ~Key() { OPENSSL_cleanse(this, sizeof *this); }
};

PathTokens::PathTokens(const auth::NodeSecret& secret) : key_(std::make_unique<Key>()) {
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

std::string flow_text(const transport::Peer& p) {
    return std::string(transport::uri_name(p.protocol)) + "~" + transport::address_text(p.address) + "~" +
           std::to_string(p.port);
}

std::optional<transport::Peer> parse_flow(std::string_view text) {
    const auto a = text.find('~');
    const auto b = text.rfind('~');
    if (a == std::string_view::npos || a == b) return std::nullopt;
    transport::Peer p;
    if (!transport::parse_protocol(text.substr(0, a), p.protocol)) return std::nullopt;
    asio::error_code ec;
    p.address = asio::ip::make_address(std::string(text.substr(a + 1, b - a - 1)), ec);
    if (ec) return std::nullopt;
    unsigned port = 0;
    for (char c : text.substr(b + 1)) {
        if (c < '0' || c > '9' || port > 65535) return std::nullopt;
        port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) return std::nullopt;
    p.port = static_cast<std::uint16_t>(port);
    return p;
}

std::string PathTokens::flow_token(const Flow& f) const {
    return sign("flow", {f.transport, f.address, std::to_string(f.port),
                         std::to_string(f.connection)});
}

std::string PathTokens::flow_value(const Flow& f) const {
    return f.transport + "~" + f.address + "~" + std::to_string(f.port) + "~" +
           std::to_string(f.connection) + "~" + flow_token(f);
}

std::optional<PathTokens::Flow> PathTokens::flow_of(std::string_view value) const {
    std::string_view part[5];
    for (std::size_t i = 0; i < 5; ++i) {
        const auto comma = value.find('~');
        if ((comma == std::string_view::npos) != (i == 4)) return std::nullopt;
        part[i] = value.substr(0, comma);
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    }
    auto number = [](std::string_view t, auto& out) {
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
        return !t.empty() && ec == std::errc() && p == t.data() + t.size();
    };
    Flow f;
    f.transport = std::string(part[0]);
    f.address = std::string(part[1]);
    if (f.transport.empty() || f.address.empty() || !number(part[2], f.port) ||
        !number(part[3], f.connection) || f.connection == 0)
        return std::nullopt;
    if (part[4].size() != token_length || !matches(part[4], flow_token(f))) return std::nullopt;
    return f;
}

}  // namespace sipproxy::proxy
