#include "registrar/contact_uri.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace sipproxy::registrar {

namespace {

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

bool unreserved(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("-_.!~*'()").find(c) != std::string_view::npos;
}

// RFC 3261 19.1.4: an escaped unreserved character equals the character itself.
std::string decode_unreserved(std::string_view s, bool to_lower) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%' && i + 2 < s.size()) {
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                char decoded = static_cast<char>(hi * 16 + lo);
                if (unreserved(decoded)) {
                    out += to_lower ? lower(decoded) : decoded;
                } else {  // keep the escape, in one case
                    out += '%';
                    out += static_cast<char>(std::toupper(static_cast<unsigned char>(s[i + 1])));
                    out += static_cast<char>(std::toupper(static_cast<unsigned char>(s[i + 2])));
                }
                i += 2;
                continue;
            }
        }
        out += to_lower ? lower(c) : c;
    }
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string contact_uri_key(std::string_view uri) {
    uri = trim(uri);
    if (uri.size() >= 2 && uri.front() == '<' && uri.back() == '>') {
        uri = trim(uri.substr(1, uri.size() - 2));
    }
    std::string key;
    key.reserve(uri.size());

    auto colon = uri.find(':');
    if (colon == std::string_view::npos) return decode_unreserved(uri, false);
    for (char c : uri.substr(0, colon + 1)) key += lower(c);
    std::string_view rest = uri.substr(colon + 1);

    // Headers (?...) do not identify a binding.
    if (auto q = rest.find('?'); q != std::string_view::npos) rest = rest.substr(0, q);

    // userinfo may itself contain ';' (user parameters), so split at '@' first.
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        key += decode_unreserved(rest.substr(0, at), false);  // user and password: exact
        key += '@';
        rest = rest.substr(at + 1);
    }
    auto semi = rest.find(';');
    key += decode_unreserved(rest.substr(0, semi), true);  // host[:port]
    if (semi == std::string_view::npos) return key;

    std::vector<std::string> params;
    std::string_view p = rest.substr(semi + 1);
    while (!p.empty()) {
        auto next = p.find(';');
        auto one = trim(p.substr(0, next));
        if (!one.empty()) params.push_back(decode_unreserved(one, true));
        if (next == std::string_view::npos) break;
        p = p.substr(next + 1);
    }
    std::sort(params.begin(), params.end());
    for (const auto& param : params) {
        key += ';';
        key += param;
    }
    return key;
}

}  // namespace sipproxy::registrar
