#pragma once
// RFC 7616 3.4.6: the server checks that the digest-uri the client signed names the
// Request-URI of the request it came with, so credentials captured (or signed) for one
// target cannot be spent on another.
#include <string_view>

namespace sipproxy::auth {

// Compares the two as parsed SIP URIs: same scheme, same user (unescaped), same host
// (case-insensitive), same port (absent = the scheme's default). Parameters and headers
// are not compared (clients differ in which ones they sign). False when either does not
// parse or is not a sip:/sips: URI.
bool digest_uri_matches(std::string_view digest_uri, std::string_view request_uri);

}  // namespace sipproxy::auth
