#include "auth/digest_uri.hpp"

#include "sip/uri.hpp"

namespace sipproxy::auth {

bool digest_uri_matches(std::string_view digest_uri, std::string_view request_uri) {
    auto a = sip::parse_uri(digest_uri);
    auto b = sip::parse_uri(request_uri);
    if (!a || !b || !a->is_sip() || !b->is_sip()) return false;
    if (a->scheme != b->scheme) return false;
    const std::uint16_t default_port = a->scheme == sip::Uri::Scheme::Sips ? 5061 : 5060;
    const auto port = [&](const sip::Uri& u) { return u.port ? u.port : default_port; };
    return sip::unescape(a->user) == sip::unescape(b->user) && sip::host_equal(a->host, b->host) &&
           port(*a) == port(*b);
}

}  // namespace sipproxy::auth
