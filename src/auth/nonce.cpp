#include "auth/nonce.hpp"

// The nonce tag is HMAC-SHA256 over ~50 bytes, twice per authentication. Through EVP each
// one costs a context duplicate (an allocation and the provider's bookkeeping); with the
// SHA-256 state after the key pads computed once and copied as a plain struct it is four
// compression rounds and nothing else. SHA256_Init & co. are deprecated in OpenSSL 3 but
// kept; tests check the result against EVP_Q_mac.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace sipproxy::auth {

namespace {

constexpr std::size_t time_size = 8;
constexpr std::size_t random_size = 8;
constexpr std::size_t tag_size = 32;
constexpr std::size_t raw_size = time_size + random_size + tag_size;  // 48 -> 64 chars
static_assert(raw_size % 3 == 0 && raw_size / 3 * 4 == NonceIssuer::nonce_length);


constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

std::int64_t seconds_of(WallTime t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

struct MacCtxFree {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

}  // namespace

std::string base64url_encode(const unsigned char* data, std::size_t size) {
    // Sized once and written through a pointer: one nonce per challenge, and appending
    // character by character was ~1,700 instructions of it.
    std::string out((size * 4 + 2) / 3, '\0');
    char* p = out.data();
    std::size_t i = 0;
    for (; i + 3 <= size; i += 3) {
        unsigned v = unsigned(data[i]) << 16 | unsigned(data[i + 1]) << 8 | data[i + 2];
        *p++ = alphabet[(v >> 18) & 63];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = alphabet[(v >> 6) & 63];
        *p++ = alphabet[v & 63];
    }
    if (size - i == 1) {
        unsigned v = unsigned(data[i]) << 16;
        *p++ = alphabet[(v >> 18) & 63];
        *p++ = alphabet[(v >> 12) & 63];
    } else if (size - i == 2) {
        unsigned v = unsigned(data[i]) << 16 | unsigned(data[i + 1]) << 8;
        *p++ = alphabet[(v >> 18) & 63];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = alphabet[(v >> 6) & 63];
    }
    return out;
}

bool base64url_decode(std::string_view text, unsigned char* out, std::size_t out_size) {
    // Only whole groups: that is all our nonces use, and it keeps decoding canonical.
    if (text.size() % 4 != 0 || text.size() / 4 * 3 != out_size) return false;
    for (std::size_t i = 0, o = 0; i < text.size(); i += 4, o += 3) {
        int a = decode_char(text[i]), b = decode_char(text[i + 1]);
        int c = decode_char(text[i + 2]), d = decode_char(text[i + 3]);
        if ((a | b | c | d) < 0) return false;
        unsigned v = unsigned(a) << 18 | unsigned(b) << 12 | unsigned(c) << 6 | unsigned(d);
        out[o] = static_cast<unsigned char>(v >> 16);
        out[o + 1] = static_cast<unsigned char>(v >> 8);
        out[o + 2] = static_cast<unsigned char>(v);
    }
    return true;
}

NonceSecret NonceSecret::random() {
    NonceSecret s;
    if (RAND_bytes(s.bytes.data(), int(s.bytes.size())) != 1)
        throw std::runtime_error("RAND_bytes failed: no secure randomness for nonce secret");
    return s;
}

struct NonceIssuer::HmacKey {
    SHA256_CTX inner;
    SHA256_CTX outer;
    ~HmacKey() { OPENSSL_cleanse(this, sizeof *this); }
};

NonceIssuer::NonceIssuer(std::string realm, std::chrono::seconds ttl, const NonceSecret& secret)
    : realm_(std::move(realm)), ttl_(ttl), secret_(secret) {
    mac_ = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
    if (!mac_) throw std::runtime_error("EVP_MAC_fetch(HMAC) failed");

    std::array<unsigned char, 32> out{};
    std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(mac_));
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    std::size_t len = 0;
    static constexpr unsigned char label[] = {'o', 'p', 'a', 'q', 'u', 'e'};
    if (!ctx || EVP_MAC_init(ctx.get(), secret_.bytes.data(), secret_.bytes.size(), params) != 1 ||
        EVP_MAC_update(ctx.get(), label, sizeof label) != 1 ||
        EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(realm_.data()),
                       realm_.size()) != 1 ||
        EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
        EVP_MAC_free(mac_);
        throw std::runtime_error("HMAC-SHA256 failed");
    }
    opaque_ = base64url_encode(out.data(), out.size());

    // HMAC (RFC 2104): the SHA-256 states after (key ^ ipad) and (key ^ opad).
    keyed_ = std::make_unique<HmacKey>();
    unsigned char block[SHA256_CBLOCK] = {};
    static_assert(sizeof secret_.bytes <= SHA256_CBLOCK);
    std::copy(secret_.bytes.begin(), secret_.bytes.end(), block);
    unsigned char pad[SHA256_CBLOCK];
    for (std::size_t i = 0; i < SHA256_CBLOCK; ++i) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&keyed_->inner);
    SHA256_Update(&keyed_->inner, pad, sizeof pad);
    for (std::size_t i = 0; i < SHA256_CBLOCK; ++i) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&keyed_->outer);
    SHA256_Update(&keyed_->outer, pad, sizeof pad);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
}

NonceIssuer::~NonceIssuer() {
    EVP_MAC_free(mac_);
}

std::array<unsigned char, 32> NonceIssuer::tag(const unsigned char* time_and_random) const {
    static constexpr unsigned char label[] = {'n', 'o', 'n', 'c', 'e'};
    std::array<unsigned char, 32> inner_hash{};
    std::array<unsigned char, 32> out{};
    SHA256_CTX ctx = keyed_->inner;  // a copy: workers share keyed_ read-only
    SHA256_Update(&ctx, label, sizeof label);
    SHA256_Update(&ctx, time_and_random, time_size + random_size);
    SHA256_Update(&ctx, realm_.data(), realm_.size());
    SHA256_Final(inner_hash.data(), &ctx);
    ctx = keyed_->outer;
    SHA256_Update(&ctx, inner_hash.data(), inner_hash.size());
    SHA256_Final(out.data(), &ctx);
    return out;
}

std::string NonceIssuer::issue(Now now) const {
    std::array<unsigned char, raw_size> raw{};
    auto t = static_cast<std::uint64_t>(std::max<std::int64_t>(0, seconds_of(now.wall)));
    for (std::size_t i = 0; i < time_size; ++i)
        raw[i] = static_cast<unsigned char>(t >> (8 * (time_size - 1 - i)));
    // The 8 "random" bytes only make nonces unique (the tag makes them unforgeable): a
    // per-thread counter that starts at a random value, so no RAND_bytes call (and its
    // DRBG lock) per challenge.
    thread_local std::uint64_t counter = [] {
        std::uint64_t seed = 0;
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1)
            throw std::runtime_error("RAND_bytes failed");
        return seed;
    }();
    const std::uint64_t unique = ++counter;
    for (std::size_t i = 0; i < random_size; ++i)
        raw[time_size + i] = static_cast<unsigned char>(unique >> (8 * i));
    auto mac = tag(raw.data());
    std::copy(mac.begin(), mac.end(), raw.begin() + time_size + random_size);
    return base64url_encode(raw.data(), raw.size());
}

NonceCheck NonceIssuer::check(std::string_view nonce, Now now) const {
    NonceCheck result;
    std::array<unsigned char, raw_size> raw{};
    if (nonce.size() != nonce_length || !base64url_decode(nonce, raw.data(), raw.size()))
        return result;
    auto expected = tag(raw.data());
    if (CRYPTO_memcmp(expected.data(), raw.data() + time_size + random_size, tag_size) != 0)
        return result;

    std::uint64_t t = 0;
    for (std::size_t i = 0; i < time_size; ++i) t = t << 8 | raw[i];
    auto issued = static_cast<std::int64_t>(t);
    std::int64_t current = seconds_of(now.wall);
    if (issued < 0 || issued > current + future_slack.count()) return result;

    // A nonce up to future_slack ahead (another node's clock, or this one stepped back a
    // little) is as old as a fresh one.
    const std::int64_t age = std::max<std::int64_t>(0, current - issued);
    result.issued = now.mono - std::chrono::seconds(age);
    result.state = (age > ttl_.count()) ? NonceState::stale : NonceState::valid;
    return result;
}

}  // namespace sipproxy::auth
