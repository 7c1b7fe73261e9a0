#pragma once
// A whole string as an integer: no sign where T has none, no spaces, nothing after the
// digits, no overflow. The one number parser of the wire and store formats (binding
// records, cluster notices, flow tokens).
#include <charconv>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace sipproxy {

template <class T>
    requires std::is_integral_v<T>
bool parse_number(std::string_view s, T& v, int base = 10) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

}  // namespace sipproxy
