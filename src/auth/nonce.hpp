#pragma once
// Stateless nonces (RFC 7616 3.3 "nonce" and 5.4 "Limited-Use Nonce Values"): any worker thread can
// check a nonce without shared state, because the nonce carries its own issue time and proof of
// origin:
//
//   nonce  = base64url( time(8, big-endian seconds) || unique(8) || tag(32) )   64 chars
//   (time: wall-clock seconds since the Unix epoch, so that every node of a cluster, on
//   whatever host, reads the same age; see check() for clock steps)
//   (unique: a per-thread counter starting at a random value)
//   tag    = HMAC-SHA256(secret, "nonce" || time || unique || realm)
//   opaque = base64url( HMAC-SHA256(secret, "opaque" || realm) )                 43 chars
//
// The secret is per daemon run (per cluster with Redis); nonces from a previous run (or
// another realm) are Invalid.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/clock.hpp"

typedef struct evp_mac_st EVP_MAC;

namespace sipproxy::auth {

struct NonceSecret {
    std::array<unsigned char, 32> bytes{};
    // 32 bytes from RAND_bytes. Throws only if the CSPRNG is unusable.
    static NonceSecret random();
};

enum class NonceState {
    valid,
    stale,    // authentic, but older than the nonce TTL: challenge again with stale=true
    invalid,  // not ours: wrong format, tampered, another realm or daemon run, or from the future
};

struct NonceCheck {
    NonceState state = NonceState::invalid;
    // Meaningful unless invalid: the issue time on this node's monotonic clock (the
    // check's `now.mono` less the nonce's wall-clock age), for local tables.
    Time issued{};
};

class NonceIssuer {
  public:
    NonceIssuer(std::string realm, std::chrono::seconds ttl, const NonceSecret& secret);
    ~NonceIssuer();
    NonceIssuer(const NonceIssuer&) = delete;
    NonceIssuer& operator=(const NonceIssuer&) = delete;

    // Thread-safe (const, no shared mutable state).
    std::string issue(Now now) const;
    // Age = now.wall - the nonce's time. A nonce more than `future_slack` ahead of
    // now.wall is Invalid (so a wall clock stepped backwards makes earlier nonces invalid,
    // never valid for longer: a nonce is valid for at most ttl + future_slack of wall time,
    // and the nodes' clocks must agree within future_slack); older than ttl: Stale.
    NonceCheck check(std::string_view nonce, Now now) const;
    static constexpr std::chrono::seconds future_slack{5};

    // Fixed for this realm and secret; clients must echo it (RFC 7616 3.3 "opaque").
    std::string_view opaque() const { return opaque_; }
    std::chrono::seconds ttl() const { return ttl_; }

    static constexpr std::size_t nonce_length = 64;

  private:
    std::array<unsigned char, 32> tag(const unsigned char* time_and_random) const;

    std::string realm_;
    std::chrono::seconds ttl_;
    NonceSecret secret_;
    EVP_MAC* mac_ = nullptr;  // fetched once; immutable and shareable between threads
    struct HmacKey;                  // SHA-256 states after the HMAC key pads
    std::unique_ptr<HmacKey> keyed_; // read-only after construction
    std::string opaque_;
};

// base64url without padding (RFC 4648 5). decode returns false on any invalid character.
std::string base64url_encode(const unsigned char* data, std::size_t size);
bool base64url_decode(std::string_view text, unsigned char* out, std::size_t out_size);

}  // namespace sipproxy::auth
