#pragma once
// Character classes and small scanners of the SIP grammar (RFC 3261 25.1), shared by the
// parser, the URI code, the rewriter and the framer. Internal to src/sip/.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sip::syntax {

enum CharClass : std::uint16_t {
    kDigit = 1 << 0,
    kAlpha = 1 << 1,
    kHex = 1 << 2,
    kToken = 1 << 3,        // token: alphanum / "-" "." "!" "%" "*" "_" "+" "`" "'" "~"
    kUnreserved = 1 << 4,   // alphanum / mark
    kUserExtra = 1 << 5,    // user-unreserved: "&" "=" "+" "$" "," ";" "?" "/"
    kPassExtra = 1 << 6,    // password: "&" "=" "+" "$" ","
    kParamExtra = 1 << 7,   // param-unreserved: "[" "]" "/" ":" "&" "+" "$"
    kHeaderExtra = 1 << 8,  // hnv-unreserved: "[" "]" "/" "?" ":" "+" "$"
    kHostName = 1 << 9,     // hostname characters (alphanum "-" "." and, leniently, "_")
    kWord = 1 << 10,        // word (Call-ID): token plus ( ) < > : \ " / [ ] ? { }
};

constexpr std::array<std::uint16_t, 256> make_table() {
    std::array<std::uint16_t, 256> t{};
    auto add = [&t](std::string_view chars, std::uint16_t cls) {
        for (char c : chars) t[static_cast<unsigned char>(c)] |= cls;
    };
    for (int c = '0'; c <= '9'; ++c) t[c] |= kDigit | kHex;
    for (int c = 'a'; c <= 'z'; ++c) t[c] |= kAlpha;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kAlpha;
    add("abcdefABCDEF", kHex);
    for (int c = 0; c < 256; ++c)
        if (t[c] & (kDigit | kAlpha)) t[c] |= kToken | kUnreserved | kHostName | kWord;
    add("-.!%*_+`'~", kToken | kWord);
    add("-_.!~*'()", kUnreserved);
    add("&=+$,;?/", kUserExtra);
    add("&=+$,", kPassExtra);
    add("[]/:&+$", kParamExtra);
    add("[]/?:+$", kHeaderExtra);
    add("-._", kHostName);
    add("()<>:\\\"/[]?{}", kWord);
    return t;
}
inline constexpr std::array<std::uint16_t, 256> kTable = make_table();

inline bool is(char c, std::uint16_t cls) {
    return (kTable[static_cast<unsigned char>(c)] & cls) != 0;
}
inline bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
inline bool is_token(char c) {
    return is(c, kToken);
}
inline bool is_ws(char c) {
    return c == ' ' || c == '\t';
}
inline char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

inline std::string_view trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && is_ws(s[b])) ++b;
    while (e > b && is_ws(s[e - 1])) --e;
    return s.substr(b, e - b);
}

inline bool all_of(std::string_view s, std::uint16_t cls) {
    for (char c : s)
        if (!is(c, cls)) return false;
    return true;
}

// Decimal digits only, non-empty; the value saturates at `cap` (so an overlarge number
// is recognisable as > cap without overflow).
inline std::optional<std::uint64_t> parse_number(std::string_view s, std::uint64_t cap) {
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        if (v <= cap) v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v > cap ? cap + 1 : v;
}

// Index one past the closing quote of the quoted-string opening at s[open] (RFC 3261
// 25.1: quoted-pair escapes any octet but CR and LF), or npos when unterminated.
inline std::size_t skip_quoted(std::string_view s, std::size_t open) {
    for (std::size_t i = open + 1; i < s.size(); ++i) {
        if (s[i] == '\\') {
            ++i;
        } else if (s[i] == '"') {
            return i + 1;
        }
    }
    return std::string_view::npos;
}

// Walks the comma-separated values of a header (Via, Contact, Route, ...), skipping commas
// inside quoted strings and <...>. Values are trimmed; an empty one is returned as empty.
class ValueList {
  public:
    explicit ValueList(std::string_view s) : s_(s) {}
    bool next(std::string_view& out) {
        if (done_) return false;
        std::size_t i = pos_;
        while (i < s_.size()) {
            char c = s_[i];
            if (c == '"') {
                i = skip_quoted(s_, i);
                if (i == std::string_view::npos) {
                    i = s_.size();
                    break;
                }
                continue;
            }
            if (c == '<') {
                std::size_t close = s_.find('>', i);
                i = close == std::string_view::npos ? s_.size() : close + 1;
                continue;
            }
            if (c == ',') break;
            ++i;
        }
        out = trim(s_.substr(pos_, i - pos_));
        if (i >= s_.size()) {
            done_ = true;
        } else {
            pos_ = i + 1;
        }
        return true;
    }
    // Offset (into the original text) of the value after the one last returned.
    std::size_t rest_offset() const { return done_ ? s_.size() : pos_; }

  private:
    std::string_view s_;
    std::size_t pos_ = 0;
    bool done_ = false;
};

struct Param {
    std::string_view name;
    std::string_view value;  // without surrounding LWS; quotes kept
    bool has_value = false;
};

// Walks ";"-separated parameters (header params with LWS, or uri-parameters), skipping
// semicolons inside quoted strings.
class ParamList {
  public:
    explicit ParamList(std::string_view s) : s_(s) {}
    bool next(Param& p) {
        if (pos_ > s_.size()) return false;
        std::size_t i = pos_;
        while (i < s_.size() && s_[i] != ';') {
            if (s_[i] == '"') {
                std::size_t e = skip_quoted(s_, i);
                i = e == std::string_view::npos ? s_.size() : e;
            } else {
                ++i;
            }
        }
        std::string_view item = s_.substr(pos_, i - pos_);
        pos_ = i + 1;
        std::size_t eq = item.find('=');
        if (eq == std::string_view::npos) {
            p = Param{trim(item), {}, false};
        } else {
            p = Param{trim(item.substr(0, eq)), trim(item.substr(eq + 1)), true};
        }
        return true;
    }

  private:
    std::string_view s_;
    std::size_t pos_ = 0;
};

inline std::optional<std::string_view> find_param(std::string_view params, std::string_view name) {
    if (params.empty()) return std::nullopt;
    ParamList list(params);
    Param p;
    while (list.next(p))
        if (iequals(p.name, name)) return p.value;
    return std::nullopt;
}

// A generic-param list as in header fields (RFC 3261 25.1 generic-param): each element a
// token, optionally "=" token / host / quoted-string.
inline bool valid_header_params(std::string_view params) {
    ParamList list(params);
    Param p;
    while (list.next(p)) {
        if (p.name.empty() || !all_of(p.name, kToken)) return false;
        if (!p.has_value) continue;
        if (p.value.empty()) return false;
        if (p.value.front() == '"') {
            if (skip_quoted(p.value, 0) != p.value.size()) return false;
        } else {
            for (char c : p.value)
                if (!is_token(c) && c != ':' && c != '[' && c != ']') return false;
        }
    }
    return true;
}

}  // namespace sip::syntax
