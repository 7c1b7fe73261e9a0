#include "auth/identity.hpp"

#include "auth/text.hpp"

namespace sipproxy::auth {

namespace {
int hex_value(char c) {
    c = ascii_lower(c);
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}
}  // namespace

bool is_same_user(std::string_view authenticated_user, std::string_view uri_user) {
    std::size_t j = 0;
    for (std::size_t i = 0; i < uri_user.size(); ++i, ++j) {
        char c = uri_user[i];
        if (c == '%') {
            if (i + 2 >= uri_user.size()) return false;
            int hi = hex_value(uri_user[i + 1]), lo = hex_value(uri_user[i + 2]);
            if (hi < 0 || lo < 0) return false;
            c = char(hi * 16 + lo);
            i += 2;
        }
        if (j >= authenticated_user.size() || authenticated_user[j] != c) return false;
    }
    return j == authenticated_user.size();
}

}  // namespace sipproxy::auth
