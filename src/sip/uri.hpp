#pragma once
// SIP, SIPS and tel URIs (RFC 3261 19.1, RFC 3966), parsed as views into their text.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/expected.hpp"

namespace sip {

struct Uri {
    enum class Scheme : std::uint8_t { Sip, Sips, Tel, Other };
    Scheme scheme = Scheme::Other;
    std::string_view scheme_text;  // as written
    std::string_view user;         // still %-escaped; for tel: the telephone-subscriber number
    std::string_view password;
    std::string_view host;         // IPv6 references keep their brackets: "[2001:db8::1]"
    std::uint16_t port = 0;        // 0 when absent
    std::string_view params;       // uri-parameters without the leading ';'
    std::string_view headers;      // after '?', without it
    std::string_view raw;          // the whole URI text

    bool is_sip() const { return scheme == Scheme::Sip || scheme == Scheme::Sips; }
    // A uri-parameter by name (case-insensitive). nullopt when absent; "" for a flag
    // parameter such as ";lr".
    std::optional<std::string_view> param(std::string_view name) const;
    std::string_view transport_param() const;  // "transport=" value or ""
    bool lr() const { return param("lr").has_value(); }
    std::string_view maddr() const;
};

// Parses an absolute URI. Non-sip/sips/tel schemes parse as Scheme::Other with only
// scheme_text and raw set (so a proxy can answer 416). Errors are static reason phrases.
sipproxy::Expected<Uri, std::string_view> parse_uri(std::string_view text);

// The user part with %-escapes decoded (RFC 3261 19.1.2: compare unescaped).
std::string unescape(std::string_view s);

// A hostname, IPv4 address or bracketed IPv6 reference (RFC 3261 25.1 host). IPv6 references
// with the ":::" of RFC 3261's ABNF bug are tolerated (RFC 5118 4.10).
bool valid_host(std::string_view host);

// Same host, compared case-insensitively (IPv6 references compare as addresses).
bool host_equal(std::string_view a, std::string_view b);

// RFC 3261 19.1.4 URI equality (scheme, user, password, host, port, and the
// transport/user/method/ttl/maddr params that must match when present in either).
bool uri_equal(const Uri& a, const Uri& b);

}  // namespace sip
