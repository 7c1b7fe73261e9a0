#pragma once
// Small ASCII helpers shared by the auth files (header tokens are ASCII, RFC 3261 25.1).
#include <cstddef>
#include <string_view>

namespace sipproxy::auth {

inline char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
}

inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

inline bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

inline bool is_hex(std::string_view s) {
    for (char c : s)
        if (!is_hex_digit(c)) return false;
    return true;
}

// Control characters (and DEL) must never reach a header we write: CR/LF would inject lines.
inline bool has_control_char(std::string_view s) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return true;
    }
    return false;
}

}  // namespace sipproxy::auth
