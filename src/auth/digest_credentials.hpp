#pragma once
// The credentials of one Authorization / Proxy-Authorization header value (RFC 3261 22.4,
// RFC 7616 3.4): "Digest username=..., realm=..., nonce=..., ...". Parsing only: nothing
// here knows our realm, nonces or users (see authenticator.hpp).
//
// The fields are views into the header value, so the value must outlive the credentials.
// A quoted-string containing quoted-pairs (backslash escapes) is unescaped into a small
// owned string; only then does the parse allocate.
#include <cstdint>
#include <forward_list>
#include <optional>
#include <string>
#include <string_view>

#include "auth/algorithm.hpp"
#include "base/expected.hpp"

namespace sipproxy::auth {

struct DigestCredentials {
    std::string_view username;  // unq(username); H(user ":" realm) in hex when userhash
    std::string_view realm;
    std::string_view nonce;
    std::string_view uri;                  // digest-uri, as the client hashed it
    std::string_view response;             // as sent (hex; case is checked by the verifier)
    Algorithm algorithm = Algorithm::md5;  // absent: MD5 (RFC 3261 22.4, RFC 7616 3.4)
    std::optional<std::string_view> cnonce;
    std::optional<std::string_view> opaque;
    std::optional<std::string_view> qop;  // only "auth" is accepted by the parser
    std::optional<std::string_view> nc;   // the 1-8 hex digits as sent (hashed verbatim)
    std::uint32_t nonce_count = 0;        // nc as a number; 0 when nc is absent
    bool userhash = false;

    DigestCredentials() = default;
    // Move-only: fields may point into `unescaped`, whose nodes keep their address on move.
    DigestCredentials(DigestCredentials&&) = default;
    DigestCredentials& operator=(DigestCredentials&&) = default;
    DigestCredentials(const DigestCredentials&) = delete;
    DigestCredentials& operator=(const DigestCredentials&) = delete;

    std::forward_list<std::string> unescaped;  // storage for quoted-strings with escapes
};

struct CredentialsError {
    enum class Code {
        not_digest,  // another scheme (Basic, Bearer...): not for us
        malformed,   // syntax error
        duplicate_parameter,
        missing_username,
        missing_realm,
        missing_nonce,
        missing_uri,
        missing_response,
        unsupported_algorithm,  // e.g. MD5-sess, SHA-512-256
        unsupported_qop,        // e.g. auth-int
        missing_cnonce,         // qop without cnonce (RFC 7616 3.4)
        missing_nc,             // qop without nc
        malformed_nc,
    };
    Code code;
    std::string_view reason() const;  // e.g. "Malformed Authorization header"
};

// Parses one header value (one credential set). Parameter names and the algorithm, qop and
// userhash values are case-insensitive; unknown parameters are ignored (RFC 7616 3.4);
// empty list elements are tolerated (RFC 7230 7). A repeated known parameter is an error
// so that two parts of the stack can never read different values from one header.
Expected<DigestCredentials, CredentialsError> parse_digest_credentials(std::string_view value);

}  // namespace sipproxy::auth
