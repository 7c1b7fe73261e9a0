#include "base/cidr.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace sipproxy {
namespace {

// ::ffff:0:0/96 (RFC 4291 2.5.5.2)
bool is_v4_mapped(const IpBytes& a) {
    for (int i = 0; i < 10; ++i)
        if (a[i] != 0) return false;
    return a[10] == 0xff && a[11] == 0xff;
}

IpBytes unmap_v4(const IpBytes& a) {
    IpBytes v4{};
    for (int i = 0; i < 4; ++i) v4[i] = a[12 + i];
    return v4;
}

bool prefix_equal(const IpBytes& a, const IpBytes& b, unsigned prefix) {
    unsigned full = prefix / 8;
    for (unsigned i = 0; i < full; ++i)
        if (a[i] != b[i]) return false;
    unsigned rest = prefix % 8;
    if (rest == 0) return true;
    auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

IpBytes masked(const IpBytes& a, unsigned prefix) {
    IpBytes out{};
    for (unsigned bit = 0; bit < prefix; ++bit) {
        unsigned byte = bit / 8;
        auto m = static_cast<std::uint8_t>(0x80 >> (bit % 8));
        out[byte] = static_cast<std::uint8_t>(out[byte] | (a[byte] & m));
    }
    return out;
}

std::string ip_text(const IpBytes& a, IpFamily f) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(f == IpFamily::v4 ? AF_INET : AF_INET6, a.data(), buf, sizeof buf);
    return buf;
}

}  // namespace

bool parse_ip(std::string_view text, IpBytes& out, IpFamily& family) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
    std::string s(text);  // inet_pton needs a terminated string
    out = {};
    if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
        family = IpFamily::v4;
        return true;
    }
    if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) {
        family = IpFamily::v6;
        return true;
    }
    return false;
}

Expected<Cidr, std::string> Cidr::parse(std::string_view text) {
    auto bad = [&](std::string_view why) {
        return Unexpected{"bad CIDR '" + std::string(text) + "': " + std::string(why)};
    };
    auto slash = text.find('/');
    std::string_view addr = text.substr(0, slash);
    Cidr c;
    if (!parse_ip(addr, c.network, c.family))
        return bad("expected an IPv4 or IPv6 address, optionally with /prefix-length");
    unsigned max = c.family == IpFamily::v4 ? 32 : 128;
    c.prefix = max;
    if (slash != std::string_view::npos) {
        std::string_view len = text.substr(slash + 1);
        unsigned n = 0;
        auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
        if (len.empty() || len.size() > 3 || ec != std::errc{} || p != len.data() + len.size() ||
            n > max)
            return bad(c.family == IpFamily::v4 ? "prefix length must be 0..32"
                                                : "prefix length must be 0..128");
        c.prefix = n;
    }
    if (masked(c.network, c.prefix) != c.network) {
        Cidr fixed = c;
        fixed.network = masked(c.network, c.prefix);
        return bad("host bits are set (did you mean " + fixed.to_string() + "?)");
    }
    if (c.family == IpFamily::v6 && c.prefix >= 96 && is_v4_mapped(c.network)) {
        c.family = IpFamily::v4;
        c.network = unmap_v4(c.network);
        c.prefix -= 96;
    }
    return c;
}

bool Cidr::contains(const IpBytes& address, IpFamily address_family) const {
    if (address_family == IpFamily::v6 && is_v4_mapped(address)) {
        return contains(unmap_v4(address), IpFamily::v4);
    }
    if (address_family != family) return false;
    return prefix_equal(address, network, prefix);
}

bool Cidr::contains(std::string_view ip) const {
    IpBytes a;
    IpFamily f;
    return parse_ip(ip, a, f) && contains(a, f);
}

std::string Cidr::to_string() const {
    return ip_text(network, family) + "/" + std::to_string(prefix);
}

bool contains_any(const std::vector<Cidr>& nets, std::string_view ip) {
    IpBytes a;
    IpFamily f;
    return parse_ip(ip, a, f) && contains_any(nets, a, f);
}

bool contains_any(const std::vector<Cidr>& nets, const IpBytes& address, IpFamily family) {
    for (const auto& n : nets)
        if (n.contains(address, family)) return true;
    return false;
}

}  // namespace sipproxy
