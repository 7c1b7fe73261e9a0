#pragma once
// Digest hash algorithms we implement (RFC 7616 3.3 "algorithm", RFC 8760). The "-sess" variants
// and SHA-512-256 are not offered.
#include <cstddef>
#include <optional>
#include <string_view>

namespace sipproxy::auth {

enum class Algorithm { md5, sha256 };

// "MD5", "SHA-256" (case-insensitive, RFC 7616 3.3). nullopt for anything else.
std::optional<Algorithm> algorithm_from_name(std::string_view name);
// The canonical token written in challenges: "MD5" or "SHA-256".
std::string_view algorithm_name(Algorithm a);
// Length of H(...) in lower-case hex: 32 for MD5, 64 for SHA-256.
std::size_t hex_length(Algorithm a);

}  // namespace sipproxy::auth
