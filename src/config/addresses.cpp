#include "config/addresses.hpp"

#include <charconv>

#include "base/cidr.hpp"

namespace sipproxy::config {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

// port text -> 1..65535
bool parse_port(std::string_view s, std::uint16_t& port) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || s.size() > 5 || ec != std::errc{} || p != s.data() + s.size()) return false;
    if (v == 0 || v > 65535) return false;
    port = static_cast<std::uint16_t>(v);
    return true;
}

// Splits "host[:port]" / "[v6][:port]". host keeps no brackets; bracketed says whether
// it had them. port_text is empty when absent.
bool split_hostport(std::string_view s, std::string_view& host, std::string_view& port_text,
                    bool& bracketed) {
    bracketed = false;
    port_text = {};
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos) return false;
        host = s.substr(1, close - 1);
        bracketed = true;
        std::string_view rest = s.substr(close + 1);
        if (rest.empty()) return true;
        if (rest.front() != ':') return false;
        port_text = rest.substr(1);
        return !port_text.empty();
    }
    auto colon = s.find(':');
    if (colon == std::string_view::npos) {
        host = s;
        return true;
    }
    host = s.substr(0, colon);
    port_text = s.substr(colon + 1);
    return !port_text.empty();
}

bool is_hostname(std::string_view h) {
    if (h.empty() || h.size() > 253) return false;
    for (char c : h) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.';
        if (!ok) return false;
    }
    return h.front() != '.' && h.front() != '-';
}

}  // namespace

bool is_domain_name(std::string_view text) {
    return is_hostname(text) && text.back() != '-';
}

Expected<Listen, std::string> parse_listen(std::string_view text) {
    const std::string expected =
        "expected scheme://host:port with scheme udp|tcp|tls|ws|wss, got '" + std::string(text) + "'";
    auto sep = text.find("://");
    if (sep == std::string_view::npos) return Unexpected{expected};
    Listen l;
    l.text = std::string(text);
    l.scheme = lower(text.substr(0, sep));
    if (l.scheme != "udp" && l.scheme != "tcp" && l.scheme != "tls" && l.scheme != "ws" &&
        l.scheme != "wss")
        return Unexpected{expected};
    if (l.scheme == "tls") l.port = 5061;  // RFC 3261 19.1.2
    std::string_view rest = text.substr(sep + 3);
    // URI parameters after the host:port: only ";verify_clients=true|false" (tls://).
    if (auto semi = rest.find(';'); semi != std::string_view::npos) {
        std::string_view params = rest.substr(semi + 1);
        rest = rest.substr(0, semi);
        while (!params.empty()) {
            const auto end = params.find(';');
            const std::string_view p = params.substr(0, end);
            params = end == std::string_view::npos ? std::string_view{} : params.substr(end + 1);
            const auto eq = p.find('=');
            const std::string name = lower(p.substr(0, eq));
            const std::string value = eq == std::string_view::npos ? "" : lower(p.substr(eq + 1));
            if (name != "verify_clients")
                return Unexpected{"unknown listen parameter '" + std::string(p) +
                                  "' (known: verify_clients=true|false, tls:// only), got '" +
                                  std::string(text) + "'"};
            if (l.scheme != "tls")
                return Unexpected{"verify_clients applies to tls:// listeners only, got '" +
                                  std::string(text) + "'"};
            if (value != "true" && value != "false")
                return Unexpected{"verify_clients must be true or false, got '" +
                                  std::string(text) + "'"};
            l.verify_clients = value == "true";
        }
    }
    std::string_view host, port_text;
    bool bracketed = false;
    if (rest.empty() || !split_hostport(rest, host, port_text, bracketed))
        return Unexpected{expected};
    IpBytes bytes;
    IpFamily family;
    if (!parse_ip(host, bytes, family)) {
        if (!bracketed && rest.find(':') != rest.rfind(':'))
            return Unexpected{"IPv6 addresses need brackets, e.g. udp://[::1]:5060; got '" +
                              std::string(text) + "'"};
        return Unexpected{
            "host must be a literal IPv4 address or a bracketed IPv6 address, "
            "got '" +
            std::string(text) + "'"};
    }
    if (bracketed != (family == IpFamily::v6)) return Unexpected{expected};
    l.host = std::string(host);
    if (!port_text.empty() && !parse_port(port_text, l.port))
        return Unexpected{"port must be between 1 and 65535, got '" + std::string(text) + "'"};
    return l;
}

Expected<bool, std::string> check_gateway_uri(std::string_view text) {
    const std::string expected =
        "expected a sip: or sips: URI with a host, e.g. "
        "sip:192.0.2.10:5060, got '" +
        std::string(text) + "'";
    std::string_view rest;
    if (iequals_prefix(text, "sips:"))
        rest = text.substr(5);
    else if (iequals_prefix(text, "sip:"))
        rest = text.substr(4);
    else
        return Unexpected{expected};
    for (char c : rest)
        if (static_cast<unsigned char>(c) <= ' ' || c == '?') return Unexpected{expected};
    std::string_view hostport = rest.substr(0, rest.find(';'));
    if (auto at = hostport.rfind('@'); at != std::string_view::npos) {
        if (at == 0) return Unexpected{expected};
        hostport = hostport.substr(at + 1);
    }
    std::string_view host, port_text;
    bool bracketed = false;
    if (!split_hostport(hostport, host, port_text, bracketed)) return Unexpected{expected};
    IpBytes bytes;
    IpFamily family;
    if (bracketed) {
        if (!parse_ip(host, bytes, family) || family != IpFamily::v6) return Unexpected{expected};
    } else if (!is_hostname(host)) {
        return Unexpected{expected};
    }
    std::uint16_t port = 0;
    if (!port_text.empty() && !parse_port(port_text, port))
        return Unexpected{"port must be between 1 and 65535, got '" + std::string(text) + "'"};
    return true;
}

}  // namespace sipproxy::config
