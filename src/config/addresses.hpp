#pragma once
// The addresses an operator writes in the config: listen URLs ("udp://127.0.0.1:5060",
// "tcp://[::1]:5060") and gateway URIs ("sip:192.0.2.10:5060;transport=tcp").
#include <string>
#include <string_view>

#include "base/expected.hpp"
#include "config/config.hpp"

namespace sipproxy::config {

// scheme://host[:port], scheme udp|tcp (case-insensitive, stored lower case), host a
// literal IPv4 address or a bracketed IPv6 address, port 1..65535 (default 5060).
Expected<Listen, std::string> parse_listen(std::string_view text);

// sip:/sips: URI with a host (name, IPv4 or [IPv6]), optional user@, :port and ;params;
// no headers. Returns the reason when it is not one.
Expected<bool, std::string> check_gateway_uri(std::string_view text);

// A DNS name or IPv4 literal (letters, digits, '-', '.'), as in server.domains.
bool is_domain_name(std::string_view text);

}  // namespace sipproxy::config
