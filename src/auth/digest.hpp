#pragma once
// The digest computations of RFC 7616 3.4.1-3.4.3 as used by SIP (RFC 3261 22.4, RFC 8760):
//   HA1      = H(username ":" realm ":" password)
//   HA2      = H(method ":" digest-uri)                      (qop=auth; auth-int unsupported)
//   response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)
//            = H(HA1 ":" nonce ":" HA2)                      (no qop, RFC 2069 compatibility)
// Every H() is rendered in lower-case hex. Pure functions, thread-safe.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "auth/algorithm.hpp"

namespace sipproxy::auth {

// A hex digest held inline (no heap allocation on the verification path).
class HexDigest {
  public:
    std::string_view view() const { return {buf_.data(), size_}; }
    operator std::string_view() const { return view(); }
    std::string str() const { return std::string(view()); }

  private:
    friend HexDigest hash_hex(Algorithm, std::initializer_list<std::string_view>);
    std::array<char, 64> buf_{};
    std::size_t size_ = 0;
};

// H(parts[0] ":" parts[1] ":" ...), lower-case hex.
HexDigest hash_hex(Algorithm a, std::initializer_list<std::string_view> parts);

HexDigest compute_ha1(Algorithm a, std::string_view user, std::string_view realm,
                      std::string_view password);
HexDigest compute_ha2(Algorithm a, std::string_view method, std::string_view digest_uri);

// qop empty: the RFC 2069 form (nc and cnonce are ignored).
HexDigest compute_response(Algorithm a, std::string_view ha1, std::string_view nonce,
                           std::string_view nc, std::string_view cnonce, std::string_view qop,
                           std::string_view ha2);

// RFC 7616 3.4.4: username = H(user ":" realm) when userhash=true.
HexDigest compute_userhash(Algorithm a, std::string_view user, std::string_view realm);

// Constant-time comparison (CRYPTO_memcmp) so a response check leaks no prefix timing.
// Different lengths compare unequal (the length itself is public: it follows the algorithm).
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace sipproxy::auth
