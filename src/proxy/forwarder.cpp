#include "proxy/forwarder.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/udp.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <strings.h>

#include <algorithm>
#include <optional>

#include "sip/rewrite.hpp"
#include "transaction/branch.hpp"
#include "transport/rfc3263.hpp"

namespace sipproxy::proxy {

using transport::Protocol;

namespace {

// The values of one header line (indexes into m.routes()), used to drop leading ones.
std::vector<const sip::NameAddr*> route_values_of_line(const sip::Message& m, std::size_t line) {
    std::vector<const sip::NameAddr*> out;
    for (const auto& r : m.routes())
        if (r.header_index == line) out.push_back(&r);
    return out;
}

// Removes the first `count` Route values (they may share lines).
void drop_leading_routes(const sip::Message& m, std::size_t count, sip::Rewrite& rw) {
    const auto& routes = m.routes();
    std::size_t i = 0;
    while (i < count && i < routes.size()) {
        const std::size_t line = routes[i].header_index;
        auto values = route_values_of_line(m, line);
        std::size_t drop = 0;
        while (i < count && i < routes.size() && routes[i].header_index == line) ++drop, ++i;
        if (drop >= values.size()) {
            rw.remove(line);
        } else {
            std::string rest;
            for (std::size_t k = drop; k < values.size(); ++k) {
                if (!rest.empty()) rest += ", ";
                rest += values[k]->raw;
            }
            rw.replace(line, std::move(rest));
        }
    }
}

void drop_last_route(const sip::Message& m, sip::Rewrite& rw) {
    const auto& last = m.routes().back();
    auto values = route_values_of_line(m, last.header_index);
    if (values.size() == 1) {
        rw.remove(last.header_index);
        return;
    }
    std::string rest;
    for (std::size_t k = 0; k + 1 < values.size(); ++k) {
        if (!rest.empty()) rest += ", ";
        rest += values[k]->raw;
    }
    rw.replace(last.header_index, std::move(rest));
}

// RFC 3261 16.6 step 4: for a sips: Request-URI the Record-Route URI is sips: too (the
// dialog stays on TLS); it needs no transport parameter then.
std::string record_route_value(const transport::Local& l, std::string_view token, bool sips,
                               std::string_view extra = {}) {
    sips = sips && transport::secure(l.protocol);
    std::string v = (sips ? "<sips:" : "<sip:") + l.hostport();
    if (l.reliable() && !sips) {
        v += ";transport=";
        // RFC 7118 5.2: "ws" names WebSocket in a URI, secure or not (Kamailio, SIP.js and
        // JsSIP all expect it for a WSS listener too).
        v += transport::traits(l.protocol).websocket ? std::string_view("ws") : transport::uri_name(l.protocol);
    }
    v += ";lr";
    if (!token.empty()) {
        v += ';';
        v += PathTokens::record_route_param;
        v += '=';
        v += token;
    }
    v += extra;
    v += '>';
    return v;
}

}  // namespace

asio::awaitable<Expected<std::vector<transport::Peer>, ForwardFailure>> resolve_next_hops(
    const sip::Uri& uri, bool large, const transport::Transport& transport) {
    // RFC 3261 26.2: sips: means TLS to the next hop (and every hop after it).
    const bool secure = uri.scheme == sip::Uri::Scheme::Sips;
    if (!secure && !uri.is_sip()) co_return Unexpected(ForwardFailure{416, "Unsupported URI Scheme"});

    auto tp = uri.transport_param();
    std::optional<Protocol> given;
    if (!tp.empty()) {
        Protocol p;
        if (!transport::parse_protocol(tp, p))
            co_return Unexpected(ForwardFailure{503, "Unsupported transport"});
        given = p;
    }
    if (secure && given) {
        if (!transport::reliable(*given))
            co_return Unexpected(ForwardFailure{416, "sips: URI with transport=" + std::string(tp)});
        given = Protocol::Tls;  // ;transport=tcp on a sips: URI meant TLS over TCP (RFC 5630)
    }
    const Protocol plain = secure ? Protocol::Tls : Protocol::Udp;  // no transport param
    std::string_view host = uri.maddr().empty() ? uri.host : uri.maddr();
    const std::uint16_t port =
        uri.port ? uri.port : transport::default_port(given.value_or(plain));

    // Candidates, best first.
    std::vector<transport::Peer> candidates;
    asio::error_code ec;
    auto addr = asio::ip::make_address(transport::strip_brackets(host), ec);
    if (!ec) {
        candidates.push_back(transport::Peer{given.value_or(plain), addr, port, 0, {}});
    } else if (auto* dns = transport.resolver()) {
        // RFC 3263: NAPTR, SRV, then A/AAAA.
        transport::SupportedTransports supported;
        supported.udp = transport.local_for(Protocol::Udp, false) || transport.local_for(Protocol::Udp, true);
        supported.tcp = transport.local_for(Protocol::Tcp, false) || transport.local_for(Protocol::Tcp, true);
        supported.tls = transport.local_for(Protocol::Tls, false) || transport.local_for(Protocol::Tls, true);
        transport::SipServerTarget target{std::string(host), uri.port, given, secure};
        candidates = co_await transport::locate_sip_server(std::move(target), supported, *dns);
    } else {
        // No resolver configured: A/AAAA only, by getaddrinfo off the event loop.
        auto ex = co_await asio::this_coro::executor;
        asio::ip::udp::resolver resolver(ex);
        auto [rec, results] = co_await resolver.async_resolve(
            std::string(host), std::to_string(port), asio::experimental::as_tuple(asio::use_awaitable));
        if (!rec && !results.empty())
            candidates.push_back(transport::Peer{given.value_or(plain),
                                                 results.begin()->endpoint().address(), port, 0, {}});
    }
    if (candidates.empty())
        co_return Unexpected(ForwardFailure{503, "Cannot resolve " + std::string(host)});
    // RFC 3261 18.1.1: over 1300 bytes, a TCP candidate goes first.
    if (!given && large)
        std::stable_partition(candidates.begin(), candidates.end(),
                              [](const transport::Peer& p) { return p.protocol == Protocol::Tcp; });

    // The usable candidates, each once; when none is, the reason the first one is not.
    std::vector<transport::Peer> usable;
    std::optional<ForwardFailure> first_failure;
    for (auto peer : candidates) {
        // A new TLS connection verifies the certificate against the URI's host name
        // (RFC 5922 7), or against the address when the URI named one.
        if (transport::secure(peer.protocol) && ec) peer.server_name = std::string(host);
        // Never a broadcast, multicast or unspecified destination (a peer could otherwise
        // turn the proxy into an amplifier, RFC 4475 3.3.14 bcast).
        const bool bad = peer.address.is_unspecified() || peer.address.is_multicast() ||
                         (peer.address.is_v4() && peer.address.to_v4() == asio::ip::address_v4::broadcast());
        if (bad) {
            if (!first_failure) first_failure = ForwardFailure{403, "Forbidden destination address"};
            continue;
        }
        // RFC 3261 18.1.1: a large request goes over TCP, but a next hop that refuses
        // TCP (most trunks listen on UDP only) gets it over UDP next, in the same
        // transaction: the UDP candidate follows its TCP twin.
        std::optional<transport::Peer> udp_fallback;
        if (!given && large && peer.protocol == Protocol::Udp &&
            transport.local_for(Protocol::Tcp, peer.address.is_v6())) {
            if (transport.local_for(Protocol::Udp, peer.address.is_v6())) udp_fallback = peer;
            peer.protocol = Protocol::Tcp;
        }
        if (!transport.local_for(peer.protocol, peer.address.is_v6())) {
            if (!first_failure)
                first_failure = ForwardFailure{503, "No listener for " +
                                                        std::string(transport::uri_name(peer.protocol)) +
                                                        (peer.address.is_v6() ? " IPv6" : " IPv4")};
            continue;
        }
        // 18.1.1 may have turned a UDP candidate into one listed already.
        const bool listed = std::any_of(usable.begin(), usable.end(), [&](const transport::Peer& u) {
            return u.protocol == peer.protocol && u.address == peer.address && u.port == peer.port;
        });
        if (!listed) usable.push_back(peer);
        if (udp_fallback) usable.push_back(*udp_fallback);
    }
    if (usable.empty()) co_return Unexpected(std::move(*first_failure));
    co_return usable;
}

asio::awaitable<Expected<transport::Peer, ForwardFailure>> resolve_next_hop(
    const sip::Uri& uri, bool large, const transport::Transport& transport) {
    auto hops = co_await resolve_next_hops(uri, large, transport);
    if (!hops) co_return Unexpected(std::move(hops.error()));
    co_return hops->front();
}

asio::awaitable<Expected<Forwarded, ForwardFailure>> forward_request(
    const ForwardInput& in, transport::Transport& transport) {
    const sip::Message& req = *in.request;
    const Target& target = *in.target;
    sip::Rewrite rw(req);

    // Request-URI: the target's, or the strict-routing fix (16.4), or unchanged.
    std::string_view request_uri = req.request_uri().raw;
    if (!target.request_uri.empty()) request_uri = target.request_uri;
    if (in.route_edit.strict_fix && !req.routes().empty()) {
        request_uri = req.routes().back().uri.raw;
        drop_last_route(req, rw);
    }
    if (request_uri != req.request_uri().raw) rw.request_uri(std::string(request_uri));
    drop_leading_routes(req, in.route_edit.own_routes, rw);
    if (in.route_edit.consumed_credentials) rw.remove(*in.route_edit.consumed_credentials);

    // The next hop: target destination, else the first Route (the target's, then the
    // request's remaining ones), else the Request-URI (16.6 steps 6-7).
    const std::size_t remaining_routes =
        req.routes().size() - std::min(req.routes().size(), in.route_edit.own_routes) -
        (in.route_edit.strict_fix ? 1 : 0);
    const bool large = is_large(req);
    transport::Peer dest;
    std::vector<transport::Peer> alternatives;
    if (in.next_hop) {
        dest = *in.next_hop;
    } else if (target.destination && target.routes.empty()) {
        dest = *target.destination;
    } else {
        sip::Uri hop;
        std::string hop_text;
        if (!target.routes.empty()) {
            hop_text = target.routes.front();
        } else if (remaining_routes > 0) {
            hop_text = std::string(req.routes()[in.route_edit.own_routes].uri.raw);
        } else {
            hop_text = std::string(request_uri);
        }
        // Route values are name-addrs ("<sip:...;lr>"): take the URI inside.
        std::string_view hv = hop_text;
        if (auto lt = hv.find('<'); lt != std::string_view::npos) {
            auto gt = hv.find('>', lt);
            hv = hv.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1);
        }
        auto parsed = sip::parse_uri(hv);
        if (!parsed) co_return Unexpected(ForwardFailure{400, "Malformed next-hop URI"});
        auto resolved = co_await resolve_next_hops(*parsed, large, transport);
        if (!resolved) co_return Unexpected(resolved.error());
        dest = resolved->front();
        alternatives.assign(resolved->begin() + 1, resolved->end());
    }
    // Path / gateway routes go on top of the Route set, first one topmost.
    for (auto it = target.routes.rbegin(); it != target.routes.rend(); ++it)
        rw.push_top("Route", *it);

    // Max-Forwards (16.6 step 3).
    const std::uint32_t mf = req.max_forwards().value_or(71);
    rw.max_forwards(mf > 0 ? mf - 1 : 0);

    // The received/rport of the previous hop's Via (18.2.1, RFC 3581); our branch binds
    // the Via as stamped, so responses go back only there (16.7).
    std::string branch = in.branch;
    if (!req.vias().empty()) {
        const auto& top = req.vias().front();
        if (in.tokens) {
            const auto back = transport::stamped_return(top, *in.source);
            ViaHop hop = ViaHop::of(top);
            hop.received = back.received;
            hop.rport = back.rport;
            branch = transaction::branch_with_token(std::move(branch), in.tokens->via(hop));
        }
        auto stamped = transport::stamp_via(top, *in.source);
        if (!stamped.empty()) {
            const auto& line = req.headers()[top.header_index];
            const auto rest_at = static_cast<std::size_t>(top.raw.data() + top.raw.size() - line.value.data());
            rw.replace(top.header_index, stamped + std::string(line.value.substr(rest_at)));
        }
    }

    const transport::Local* out = transport.local_for(dest.protocol, dest.address.is_v6());
    if (!out) co_return Unexpected(ForwardFailure{503, "No listener for the next hop's transport"});

    // Record-Route (16.6 step 4): both sides when the transport or address family
    // changes, so each side of the dialog reaches the proxy the way it first did.
    // Both carry the dialog token: a later request may come back through either.
    if (in.record_route) {
        const std::string token =
            in.tokens ? in.tokens->dialog(req.call_id(), req.from().tag) : std::string();
        const bool two = in.inbound->protocol != out->protocol ||
                         in.inbound->address != out->address || in.inbound->port != out->port;
        const bool sips = request_uri.size() > 5 && strncasecmp(request_uri.data(), "sips:", 5) == 0;
        // RFC 7118 / RFC 5626: a WebSocket client's Contact (".invalid") is reached only
        // over its connection. Its protocol, address and port go in our Record-Route,
        // signed like the dialog token, so in-dialog requests find the flow
        // (forward_in_dialog) without the proxy keeping state per call.
        std::string flows;
        for (const transport::Peer* p : {in.source, static_cast<const transport::Peer*>(&dest)}) {
            if (!p || !transport::traits(p->protocol).websocket) continue;
            if (!flows.empty()) flows += '_';
            flows += flow_text(*p);
        }
        std::string extra;
        if (!flows.empty() && in.tokens)
            extra = ";" + std::string(PathTokens::ws_flows_param) + "=" + flows + ";" +
                    std::string(PathTokens::ws_flows_sig_param) + "=" +
                    in.tokens->ws_flows(req.call_id(), flows, req.from().tag);
        if (two) rw.push_top("Record-Route", record_route_value(*in.inbound, token, sips, extra));
        rw.push_top("Record-Route", record_route_value(*out, token, sips, extra));
    }

    // Our Via (16.6 step 8).
    rw.push_top("Via", "SIP/2.0/" + std::string(transport::via_name(dest.protocol)) + " " +
                           out->hostport() + ";branch=" + branch);
    if (dest.reliable()) rw.ensure_content_length();  // RFC 3261 18.3

    co_return Forwarded{rw.write(), dest, std::move(branch), std::move(alternatives)};
}

}  // namespace sipproxy::proxy
