#include "auth/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace sipproxy::auth {

namespace {

// Fetched once: with OpenSSL 3, EVP_md5()/EVP_sha256() make every EVP_DigestInit_ex look
// the implementation up again under a lock. Kept for the life of the process.
const EVP_MD* evp_md(Algorithm a) {
    static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    return a == Algorithm::md5 ? md5 : sha256;
}

struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// One reusable context per thread (EVP_DigestInit_ex2 resets it).
EVP_MD_CTX* thread_ctx() {
    thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    return ctx.get();
}

}  // namespace

HexDigest hash_hex(Algorithm a, std::initializer_list<std::string_view> parts) {
    EVP_MD_CTX* ctx = thread_ctx();
    const EVP_MD* md_type = evp_md(a);
    // Failures here are resource exhaustion or a broken OpenSSL: never caused by a peer.
    if (!ctx || !md_type || EVP_DigestInit_ex2(ctx, md_type, nullptr) != 1)
        throw std::runtime_error("EVP_DigestInit_ex2 failed");
    bool first = true;
    for (std::string_view p : parts) {
        if (!first && EVP_DigestUpdate(ctx, ":", 1) != 1)
            throw std::runtime_error("EVP_DigestUpdate failed");
        first = false;
        if (!p.empty() && EVP_DigestUpdate(ctx, p.data(), p.size()) != 1)
            throw std::runtime_error("EVP_DigestUpdate failed");
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx, md, &len) != 1 || len * 2 > 64)
        throw std::runtime_error("EVP_DigestFinal_ex failed");

    static constexpr char digits[] = "0123456789abcdef";
    HexDigest out;
    for (unsigned int i = 0; i < len; ++i) {
        out.buf_[2 * i] = digits[md[i] >> 4];
        out.buf_[2 * i + 1] = digits[md[i] & 0x0f];
    }
    out.size_ = std::size_t(len) * 2;
    return out;
}

HexDigest compute_ha1(Algorithm a, std::string_view user, std::string_view realm,
                      std::string_view password) {
    return hash_hex(a, {user, realm, password});
}

HexDigest compute_ha2(Algorithm a, std::string_view method, std::string_view digest_uri) {
    return hash_hex(a, {method, digest_uri});
}

HexDigest compute_response(Algorithm a, std::string_view ha1, std::string_view nonce,
                           std::string_view nc, std::string_view cnonce, std::string_view qop,
                           std::string_view ha2) {
    if (qop.empty()) return hash_hex(a, {ha1, nonce, ha2});  // RFC 2069
    return hash_hex(a, {ha1, nonce, nc, cnonce, qop, ha2});
}

HexDigest compute_userhash(Algorithm a, std::string_view user, std::string_view realm) {
    return hash_hex(a, {user, realm});
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sipproxy::auth
