// SIP, SIPS and tel URIs (RFC 3261 19.1, 25.1; RFC 3966), parsed as views into their text.
#include "sip/uri.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>

#include "sip/syntax.hpp"

namespace sip {
namespace {

using syntax::iequals;
using syntax::is;

// Characters of `cls` and %HH escapes only.
bool valid_escaped(std::string_view s, std::uint16_t cls) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size()) return false;
            if (!is(s[i + 1], syntax::kHex) || !is(s[i + 2], syntax::kHex)) return false;
            i += 2;
        } else if (!is(c, cls)) {
            return false;
        }
    }
    return true;
}

// Hex groups separated by ':', the last one possibly a dotted IPv4 address (2 groups).
bool parse_groups(std::string_view s, bool allow_v4, std::array<std::uint16_t, 8>& g, int& n) {
    n = 0;
    if (s.empty()) return true;
    std::size_t start = 0;
    for (;;) {
        std::size_t colon = s.find(':', start);
        std::string_view part =
            s.substr(start, colon == std::string_view::npos ? s.npos : colon - start);
        bool last = colon == std::string_view::npos;
        if (part.empty()) return false;
        if (last && allow_v4 && part.find('.') != std::string_view::npos) {
            std::array<std::uint8_t, 4> v4{};
            int octets = 0;
            std::size_t p = 0;
            while (octets < 4) {
                std::size_t dot = part.find('.', p);
                std::string_view o =
                    part.substr(p, dot == std::string_view::npos ? part.npos : dot - p);
                auto v = syntax::parse_number(o, 255);
                if (!v || *v > 255 || o.size() > 3) return false;
                v4[static_cast<std::size_t>(octets++)] = static_cast<std::uint8_t>(*v);
                if (dot == std::string_view::npos) break;
                p = dot + 1;
            }
            if (octets != 4 || n > 6) return false;
            g[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(v4[0] << 8 | v4[1]);
            g[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(v4[2] << 8 | v4[3]);
            return true;
        }
        if (part.size() > 4 || n >= 8) return false;
        std::uint16_t v = 0;
        for (char c : part) {
            if (!is(c, syntax::kHex)) return false;
            char l = syntax::lower(c);
            v = static_cast<std::uint16_t>(v << 4 | (l <= '9' ? l - '0' : l - 'a' + 10));
        }
        g[static_cast<std::size_t>(n++)] = v;
        if (last) return true;
        start = colon + 1;
    }
}

// An IPv6 address without brackets, into 16 bytes.
bool parse_ipv6(std::string_view s, std::array<std::uint8_t, 16>& out) {
    std::array<std::uint16_t, 8> head{}, tail{};
    int nh = 0, nt = 0;
    std::size_t dc = s.find("::");
    if (dc == std::string_view::npos) {
        if (!parse_groups(s, true, head, nh) || nh != 8) return false;
    } else {
        std::string_view t = s.substr(dc + 2);
        // RFC 5118 4.10: tolerate the third colon RFC 3261's ABNF lets in before an IPv4 part.
        if (!t.empty() && t.front() == ':') t.remove_prefix(1);
        if (t.find("::") != std::string_view::npos) return false;
        if (!parse_groups(s.substr(0, dc), false, head, nh) || !parse_groups(t, true, tail, nt))
            return false;
        if (nh + nt > 7) return false;
    }
    std::array<std::uint16_t, 8> all{};
    for (int i = 0; i < nh; ++i)
        all[static_cast<std::size_t>(i)] = head[static_cast<std::size_t>(i)];
    for (int i = 0; i < nt; ++i)
        all[static_cast<std::size_t>(8 - nt + i)] = tail[static_cast<std::size_t>(i)];
    for (std::size_t i = 0; i < 8; ++i) {
        out[2 * i] = static_cast<std::uint8_t>(all[i] >> 8);
        out[2 * i + 1] = static_cast<std::uint8_t>(all[i] & 0xff);
    }
    return true;
}

std::string_view strip_brackets(std::string_view h) {
    if (h.size() >= 2 && h.front() == '[' && h.back() == ']') return h.substr(1, h.size() - 2);
    return h;
}

bool valid_uri_params(std::string_view params) {
    // Characters first (ParamList trims LWS, which a URI may not hold), then the structure.
    for (char c : params)
        if (c != ';' && c != '=' && c != '%' && !is(c, syntax::kUnreserved | syntax::kParamExtra))
            return false;
    syntax::ParamList list(params);
    syntax::Param p;
    const std::uint16_t cls = syntax::kUnreserved | syntax::kParamExtra;
    while (list.next(p)) {
        if (p.name.empty() || !valid_escaped(p.name, cls)) return false;
        if (p.has_value && (p.value.empty() || !valid_escaped(p.value, cls))) return false;
    }
    return true;
}

sipproxy::Unexpected<std::string_view> fail(std::string_view why) {
    return {why};
}

}  // namespace

bool valid_host(std::string_view host) {
    if (host.empty()) return false;
    if (host.front() == '[') {
        std::array<std::uint8_t, 16> a{};
        return host.size() > 2 && host.back() == ']' &&
               parse_ipv6(host.substr(1, host.size() - 2), a);
    }
    return syntax::all_of(host, syntax::kHostName);
}

sipproxy::Expected<Uri, std::string_view> parse_uri(std::string_view text) {
    Uri u;
    u.raw = text;
    std::size_t i = 0;
    if (text.empty() || !is(text[0], syntax::kAlpha)) return fail("Malformed URI scheme");
    while (i < text.size() && (is(text[i], syntax::kAlpha | syntax::kDigit) || text[i] == '+' ||
                               text[i] == '-' || text[i] == '.'))
        ++i;
    if (i >= text.size() || text[i] != ':') return fail("Malformed URI scheme");
    u.scheme_text = text.substr(0, i);
    std::string_view rest = text.substr(i + 1);
    if (iequals(u.scheme_text, "sip")) {
        u.scheme = Uri::Scheme::Sip;
    } else if (iequals(u.scheme_text, "sips")) {
        u.scheme = Uri::Scheme::Sips;
    } else {
        // Opaque schemes: no LWS, CTLs, quotes or angle brackets. (A sip URI's parts are
        // checked character by character below.)
        for (char c : text) {
            auto uc = static_cast<unsigned char>(c);
            if (uc <= ' ' || uc == 0x7f || c == '<' || c == '>' || c == '"')
                return fail("Invalid character in URI");
        }
        if (!iequals(u.scheme_text, "tel")) {
            u.scheme = Uri::Scheme::Other;  // the proxy answers 416 (RFC 3261 8.2.2.1)
            return u;
        }
        u.scheme = Uri::Scheme::Tel;
        std::size_t semi = rest.find(';');
        u.user = rest.substr(0, semi);
        if (semi != std::string_view::npos) u.params = rest.substr(semi + 1);
        if (u.user.empty() || u.user.find('?') != std::string_view::npos)
            return fail("Malformed tel URI");
        return u;
    }

    // userinfo: the user part may hold ';' '?' '/' (RFC 3261 25.1 user-unreserved), never '@'.
    std::size_t at = rest.find('@');
    if (at != std::string_view::npos) {
        std::string_view userinfo = rest.substr(0, at);
        std::size_t colon = userinfo.find(':');
        u.user = userinfo.substr(0, colon);
        if (colon != std::string_view::npos) {
            u.password = userinfo.substr(colon + 1);
            if (!valid_escaped(u.password, syntax::kUnreserved | syntax::kPassExtra))
                return fail("Malformed URI password");
        }
        if (u.user.empty() || !valid_escaped(u.user, syntax::kUnreserved | syntax::kUserExtra))
            return fail("Malformed URI user");
        rest = rest.substr(at + 1);
    }
    std::size_t p = 0;
    if (!rest.empty() && rest[0] == '[') {
        std::size_t close = rest.find(']');
        if (close == std::string_view::npos) return fail("Malformed URI host");
        p = close + 1;
    } else {
        while (p < rest.size() && is(rest[p], syntax::kHostName)) ++p;
    }
    u.host = rest.substr(0, p);
    if (!valid_host(u.host)) return fail("Malformed URI host");
    if (p < rest.size() && rest[p] == ':') {
        std::size_t b = ++p;
        while (p < rest.size() && syntax::is_digit(rest[p])) ++p;
        auto port = syntax::parse_number(rest.substr(b, p - b), 65535);
        if (!port || *port == 0 || *port > 65535) return fail("Malformed URI port");
        u.port = static_cast<std::uint16_t>(*port);
    }
    if (p < rest.size() && rest[p] == ';') {
        std::size_t q = rest.find('?', p);
        u.params = rest.substr(p + 1, q == std::string_view::npos ? rest.npos : q - p - 1);
        if (!valid_uri_params(u.params)) return fail("Malformed URI parameter");
        p = q == std::string_view::npos ? rest.size() : q;
    }
    if (p < rest.size() && rest[p] == '?') {
        u.headers = rest.substr(p + 1);
        if (u.headers.empty() ||
            !valid_escaped(u.headers,
                           syntax::kUnreserved | syntax::kHeaderExtra | syntax::kPassExtra))
            return fail("Malformed URI headers");
        p = rest.size();
    }
    if (p != rest.size()) return fail("Malformed URI");
    return u;
}

std::optional<std::string_view> Uri::param(std::string_view name) const {
    return syntax::find_param(params, name);
}

std::string_view Uri::transport_param() const {
    return param("transport").value_or(std::string_view{});
}

std::string_view Uri::maddr() const {
    return param("maddr").value_or(std::string_view{});
}

std::string unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && is(s[i + 1], syntax::kHex) &&
            is(s[i + 2], syntax::kHex)) {
            auto hex = [](char c) {
                char l = syntax::lower(c);
                return l <= '9' ? l - '0' : l - 'a' + 10;
            };
            out.push_back(static_cast<char>(hex(s[i + 1]) << 4 | hex(s[i + 2])));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

bool host_equal(std::string_view a, std::string_view b) {
    std::string_view ia = strip_brackets(a), ib = strip_brackets(b);
    std::array<std::uint8_t, 16> x{}, y{};
    if (ia.find(':') != std::string_view::npos && ib.find(':') != std::string_view::npos &&
        parse_ipv6(ia, x) && parse_ipv6(ib, y))
        return x == y;
    return iequals(a, b);
}

bool uri_equal(const Uri& a, const Uri& b) {
    if (a.scheme != b.scheme) return false;
    if (!a.is_sip()) return a.scheme == Uri::Scheme::Tel ? a.raw == b.raw : iequals(a.raw, b.raw);
    // RFC 3261 19.1.4: user and password compare case-sensitively after unescaping.
    if (unescape(a.user) != unescape(b.user) || unescape(a.password) != unescape(b.password))
        return false;
    if (!host_equal(a.host, b.host) || a.port != b.port) return false;
    // Parameters present in both must match; these must match even when only one has them.
    for (std::string_view name : {"user", "ttl", "method", "maddr", "transport"}) {
        auto pa = a.param(name), pb = b.param(name);
        if (pa.has_value() != pb.has_value()) return false;
        if (pa && !iequals(unescape(*pa), unescape(*pb))) return false;
    }
    syntax::ParamList list(a.params);
    syntax::Param p;
    while (list.next(p)) {
        auto other = b.param(p.name);
        if (other && !iequals(unescape(p.value), unescape(*other))) return false;
    }
    // Header components must all be present in both and equal.
    auto count = [](std::string_view h) {
        return h.empty() ? 0 : 1 + static_cast<int>(std::count(h.begin(), h.end(), '&'));
    };
    if (count(a.headers) != count(b.headers)) return false;
    std::size_t start = 0;
    while (start < a.headers.size()) {
        std::size_t amp = a.headers.find('&', start);
        std::string_view h =
            a.headers.substr(start, amp == std::string_view::npos ? a.headers.npos : amp - start);
        std::size_t eq = h.find('=');
        std::string_view hn = h.substr(0, eq),
                         hv = eq == std::string_view::npos ? std::string_view{} : h.substr(eq + 1);
        bool found = false;
        std::size_t s2 = 0;
        while (s2 < b.headers.size() && !found) {
            std::size_t amp2 = b.headers.find('&', s2);
            std::string_view h2 =
                b.headers.substr(s2, amp2 == std::string_view::npos ? b.headers.npos : amp2 - s2);
            std::size_t eq2 = h2.find('=');
            std::string_view hn2 = h2.substr(0, eq2), hv2 = eq2 == std::string_view::npos
                                                                ? std::string_view{}
                                                                : h2.substr(eq2 + 1);
            found = iequals(unescape(hn), unescape(hn2)) && unescape(hv) == unescape(hv2);
            s2 = amp2 == std::string_view::npos ? b.headers.size() : amp2 + 1;
        }
        if (!found) return false;
        start = amp == std::string_view::npos ? a.headers.size() : amp + 1;
    }
    return true;
}

}  // namespace sip
