#include "transport/rfc3263.hpp"

#include <algorithm>
#include <string_view>

#include <strings.h>

namespace sipproxy::transport {

namespace {

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::uint16_t default_port(bool secure) { return secure ? 5061 : 5060; }

// RFC 3263 4.1 and its IANA table: the NAPTR services a SIP client may follow.
std::optional<Protocol> naptr_protocol(std::string_view service, bool secure,
                                       SupportedTransports supported) {
    if (secure) {
        if (iequal(service, "SIPS+D2T") && supported.tls) return Protocol::Tls;
        return std::nullopt;
    }
    if (iequal(service, "SIP+D2U") && supported.udp) return Protocol::Udp;
    if (iequal(service, "SIP+D2T") && supported.tcp) return Protocol::Tcp;
    if (iequal(service, "SIPS+D2T") && supported.tls) return Protocol::Tls;
    return std::nullopt;
}

std::string srv_name(Protocol p, bool secure, std::string_view domain) {
    std::string name = secure || p == Protocol::Tls ? "_sips._tcp."
                       : p == Protocol::Tcp         ? "_sip._tcp."
                                                    : "_sip._udp.";
    name += domain;
    return name;
}

asio::awaitable<void> add_addresses(std::vector<Peer>& out, DnsLookups& dns, std::string host,
                                    Protocol p, std::uint16_t port) {
    auto addresses = co_await dns.addresses(std::move(host));
    for (const auto& a : addresses) out.push_back(Peer{p, a, port, 0, {}});
}

// RFC 3263 4.2: every SRV target, in RFC 2782 order, by its A/AAAA addresses.
asio::awaitable<void> add_srv_targets(std::vector<Peer>& out, DnsLookups& dns, std::string name,
                                      Protocol p) {
    auto targets = co_await dns.srv(std::move(name));
    for (auto& t : targets) co_await add_addresses(out, dns, std::move(t.host), p, t.port);
}

}  // namespace

asio::awaitable<std::vector<Peer>> locate_sip_server(SipServerTarget target,
                                                     SupportedTransports supported,
                                                     DnsLookups& dns) {
    std::vector<Peer> out;
    // RFC 3261 26.2: sips: is TLS whatever the transport param says (;transport=tcp
    // there meant TLS over TCP, RFC 5630 3.1.1).
    if (target.secure && target.transport) target.transport = Protocol::Tls;
    const Protocol fallback = target.transport.value_or(target.secure ? Protocol::Tls : Protocol::Udp);
    const std::uint16_t port =
        target.port ? target.port : default_port(target.secure || fallback == Protocol::Tls);

    // 4.1/4.2: a numeric address, or an explicit port: no NAPTR or SRV.
    asio::error_code ec;
    auto numeric = asio::ip::make_address(strip_brackets(target.host), ec);
    if (!ec) {
        out.push_back(Peer{fallback, numeric, port, 0, {}});
        co_return out;
    }
    if (target.port) {
        auto host = target.host;
        co_await add_addresses(out, dns, std::move(host), fallback, port);
        co_return out;
    }

    if (target.transport) {
        // 4.2: the transport is known: SRV for it.
        auto name = srv_name(*target.transport, target.secure, target.host);
        co_await add_srv_targets(out, dns, std::move(name), *target.transport);
    } else {
        // 4.1: NAPTR records with the "S" flag and a service we support, by order then
        // preference; each replacement is an SRV name.
        auto domain = target.host;
        auto naptrs = co_await dns.naptr(std::move(domain));
        std::erase_if(naptrs, [&](const NaptrRecord& r) {
            return !iequal(r.flags, "s") || r.replacement.empty() ||
                   !naptr_protocol(r.service, target.secure, supported);
        });
        std::stable_sort(naptrs.begin(), naptrs.end(), [](const NaptrRecord& a, const NaptrRecord& b) {
            if (a.order != b.order) return a.order < b.order;
            return a.preference < b.preference;
        });
        for (auto& r : naptrs) {
            const Protocol p = *naptr_protocol(r.service, target.secure, supported);
            co_await add_srv_targets(out, dns, std::move(r.replacement), p);
        }
        // 4.1: no (usable) NAPTR: SRV for each transport we support, UDP first.
        if (naptrs.empty()) {
            std::vector<Protocol> order;
            if (target.secure) {
                if (supported.tls) order.push_back(Protocol::Tls);
            } else {
                if (supported.udp) order.push_back(Protocol::Udp);
                if (supported.tcp) order.push_back(Protocol::Tcp);
            }
            for (Protocol p : order) {
                auto name = srv_name(p, target.secure, target.host);
                co_await add_srv_targets(out, dns, std::move(name), p);
            }
        }
    }
    // 4.2: no SRV records: the host's A/AAAA with the default port (4.1: UDP for sip,
    // TCP for sips, unless the transport param said otherwise).
    if (out.empty()) {
        auto host = target.host;
        co_await add_addresses(out, dns, std::move(host), fallback, port);
    }
    co_return out;
}

}  // namespace sipproxy::transport
