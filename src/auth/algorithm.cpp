#include "auth/algorithm.hpp"

#include "auth/text.hpp"

namespace sipproxy::auth {

std::optional<Algorithm> algorithm_from_name(std::string_view name) {
    if (iequals(name, "MD5")) return Algorithm::md5;
    if (iequals(name, "SHA-256")) return Algorithm::sha256;
    return std::nullopt;
}

std::string_view algorithm_name(Algorithm a) {
    return a == Algorithm::md5 ? "MD5" : "SHA-256";
}

std::size_t hex_length(Algorithm a) {
    return a == Algorithm::md5 ? 32 : 64;
}

}  // namespace sipproxy::auth
