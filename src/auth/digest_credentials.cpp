#include "auth/digest_credentials.hpp"

#include "auth/text.hpp"

namespace sipproxy::auth {

std::string_view CredentialsError::reason() const {
    switch (code) {
        case Code::not_digest:
            return "Not Digest credentials";
        case Code::malformed:
            return "Malformed Authorization header";
        case Code::duplicate_parameter:
            return "Duplicate parameter in Authorization header";
        case Code::missing_username:
            return "Missing username";
        case Code::missing_realm:
            return "Missing realm";
        case Code::missing_nonce:
            return "Missing nonce";
        case Code::missing_uri:
            return "Missing uri";
        case Code::missing_response:
            return "Missing response";
        case Code::unsupported_algorithm:
            return "Unsupported algorithm";
        case Code::unsupported_qop:
            return "Unsupported qop";
        case Code::missing_cnonce:
            return "Missing cnonce";
        case Code::missing_nc:
            return "Missing nc";
        case Code::malformed_nc:
            return "Malformed nc";
    }
    return "Malformed Authorization header";
}

namespace {

using Code = CredentialsError::Code;

// LWS of RFC 3261 25.1, including a folded line (CRLF followed by whitespace).
bool is_lws(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// token chars of RFC 3261 25.1.
bool is_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '-':
        case '.':
        case '!':
        case '%':
        case '*':
        case '_':
        case '+':
        case '`':
        case '\'':
        case '~':
            return true;
        default:
            return false;
    }
}

class Cursor {
  public:
    explicit Cursor(std::string_view s) : s_(s) {}
    bool done() const { return pos_ >= s_.size(); }
    char peek() const { return s_[pos_]; }
    void skip_lws() {
        while (!done() && is_lws(s_[pos_])) ++pos_;
    }
    bool consume(char c) {
        if (done() || s_[pos_] != c) return false;
        ++pos_;
        return true;
    }
    std::string_view token() {
        std::size_t start = pos_;
        while (!done() && is_token_char(s_[pos_])) ++pos_;
        return s_.substr(start, pos_ - start);
    }
    // After the opening quote. Returns false on an unterminated string or a bare control
    // character. `escaped` tells whether a quoted-pair was seen (the raw view keeps them).
    bool quoted_body(std::string_view& raw, bool& escaped) {
        std::size_t start = pos_;
        escaped = false;
        while (!done()) {
            char c = s_[pos_];
            if (c == '"') {
                raw = s_.substr(start, pos_ - start);
                ++pos_;
                return true;
            }
            if (c == '\\') {
                if (pos_ + 1 >= s_.size()) return false;
                // RFC 3261 25.1 quoted-pair: no CR/LF; we refuse every control character
                // so that nothing unescaped can inject lines into logs or headers.
                auto e = static_cast<unsigned char>(s_[pos_ + 1]);
                if ((e < 0x20 && e != '\t') || e == 0x7f) return false;
                escaped = true;
                pos_ += 2;
                continue;
            }
            auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
            ++pos_;
        }
        return false;
    }

  private:
    std::string_view s_;
    std::size_t pos_ = 0;
};

std::string unescape(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\\' && i + 1 < raw.size()) ++i;
        out.push_back(raw[i]);
    }
    return out;
}

enum Field : unsigned {
    f_username = 1u << 0,
    f_realm = 1u << 1,
    f_nonce = 1u << 2,
    f_uri = 1u << 3,
    f_response = 1u << 4,
    f_algorithm = 1u << 5,
    f_cnonce = 1u << 6,
    f_opaque = 1u << 7,
    f_qop = 1u << 8,
    f_nc = 1u << 9,
    f_userhash = 1u << 10,
};

Field field_of(std::string_view name) {
    struct Entry {
        std::string_view name;
        Field field;
    };
    static constexpr Entry table[] = {
        {"username", f_username}, {"realm", f_realm},
        {"nonce", f_nonce},       {"uri", f_uri},
        {"response", f_response}, {"algorithm", f_algorithm},
        {"cnonce", f_cnonce},     {"opaque", f_opaque},
        {"qop", f_qop},           {"nc", f_nc},
        {"userhash", f_userhash},
    };
    for (const auto& e : table)
        if (iequals(name, e.name)) return e.field;
    return Field(0);
}

bool parse_nc(std::string_view s, std::uint32_t& out) {
    // RFC 7616 3.4: nc = 8LHEX. Shorter forms are accepted (seen in the wild); longer are not.
    if (s.empty() || s.size() > 8 || !is_hex(s)) return false;
    std::uint32_t v = 0;
    for (char c : s) {
        char l = ascii_lower(c);
        v = v * 16 + std::uint32_t(l <= '9' ? l - '0' : l - 'a' + 10);
    }
    out = v;
    return true;
}

}  // namespace

Expected<DigestCredentials, CredentialsError> parse_digest_credentials(std::string_view value) {
    auto fail = [](Code c) { return Unexpected{CredentialsError{c}}; };
    Cursor cur(value);
    cur.skip_lws();
    std::string_view scheme = cur.token();
    if (scheme.empty()) return fail(Code::malformed);
    if (!iequals(scheme, "Digest")) return fail(Code::not_digest);
    if (cur.done() || !is_lws(cur.peek())) return fail(Code::malformed);

    DigestCredentials cred;
    unsigned seen = 0;
    std::optional<std::string_view> algorithm;
    std::optional<std::string_view> userhash;

    cur.skip_lws();
    while (!cur.done()) {
        if (cur.consume(',')) {  // empty list element
            cur.skip_lws();
            continue;
        }
        std::string_view name = cur.token();
        if (name.empty()) return fail(Code::malformed);
        cur.skip_lws();
        if (!cur.consume('=')) return fail(Code::malformed);
        cur.skip_lws();
        if (cur.done()) return fail(Code::malformed);

        std::string_view v;
        if (cur.consume('"')) {
            std::string_view raw;
            bool escaped = false;
            if (!cur.quoted_body(raw, escaped)) return fail(Code::malformed);
            if (escaped) {
                cred.unescaped.push_front(unescape(raw));
                v = cred.unescaped.front();
            } else {
                v = raw;
            }
        } else {
            v = cur.token();
            if (v.empty()) return fail(Code::malformed);
        }
        cur.skip_lws();
        if (!cur.done() && !cur.consume(',')) return fail(Code::malformed);
        cur.skip_lws();

        Field f = field_of(name);
        if (f == 0) continue;  // unknown auth-param: ignored
        if (seen & f) return fail(Code::duplicate_parameter);
        seen |= f;
        switch (f) {
            case f_username:
                cred.username = v;
                break;
            case f_realm:
                cred.realm = v;
                break;
            case f_nonce:
                cred.nonce = v;
                break;
            case f_uri:
                cred.uri = v;
                break;
            case f_response:
                cred.response = v;
                break;
            case f_algorithm:
                algorithm = v;
                break;
            case f_cnonce:
                cred.cnonce = v;
                break;
            case f_opaque:
                cred.opaque = v;
                break;
            case f_qop:
                cred.qop = v;
                break;
            case f_nc:
                cred.nc = v;
                break;
            case f_userhash:
                userhash = v;
                break;
        }
    }

    if (!(seen & f_username)) return fail(Code::missing_username);
    if (!(seen & f_realm)) return fail(Code::missing_realm);
    if (!(seen & f_nonce)) return fail(Code::missing_nonce);
    if (!(seen & f_uri)) return fail(Code::missing_uri);
    if (!(seen & f_response)) return fail(Code::missing_response);

    if (algorithm) {
        auto a = algorithm_from_name(*algorithm);
        if (!a) return fail(Code::unsupported_algorithm);
        cred.algorithm = *a;
    }
    if (cred.qop) {
        if (!iequals(*cred.qop, "auth")) return fail(Code::unsupported_qop);
        if (!cred.cnonce || cred.cnonce->empty()) return fail(Code::missing_cnonce);
        if (!cred.nc) return fail(Code::missing_nc);
    }
    if (cred.nc && !parse_nc(*cred.nc, cred.nonce_count)) return fail(Code::malformed_nc);
    if (userhash) {
        if (iequals(*userhash, "true"))
            cred.userhash = true;
        else if (!iequals(*userhash, "false"))
            return fail(Code::malformed);
    }
    return cred;
}

}  // namespace sipproxy::auth
