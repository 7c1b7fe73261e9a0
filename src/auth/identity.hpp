#pragma once
// Whether an authenticated user may speak for a SIP URI's user part (e.g. From or To of a
// REGISTER). The proxy decides when to require it; this only compares.
#include <string_view>

namespace sipproxy::auth {

// The URI user part is compared after %HH-unescaping (RFC 3261 19.1.4: user parts compare
// case-sensitively, escaped and unescaped characters are equal). A malformed escape never
// matches.
bool is_same_user(std::string_view authenticated_user, std::string_view uri_user);

}  // namespace sipproxy::auth
