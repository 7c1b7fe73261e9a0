#pragma once
// Whether two Contact URIs name the same binding (RFC 3261 10.3 step 7 uses the URI
// comparison rules of 19.1.4). Pure text, no SIP parser: the registrar sees URIs as strings.
#include <string>
#include <string_view>

namespace sipproxy::registrar {

// A normal form of a SIP/SIPS/TEL URI for comparison: scheme, host and parameter names
// lower-cased, user part and password kept exact, %XX escapes of unreserved characters
// decoded, parameters sorted, headers dropped. Not a full 19.1.4 implementation: a parameter
// present in only one of the URIs makes them differ (19.1.4 ignores most such parameters).
std::string contact_uri_key(std::string_view uri);

inline bool same_contact_uri(std::string_view a, std::string_view b) {
    return a == b || contact_uri_key(a) == contact_uri_key(b);
}

}  // namespace sipproxy::registrar
