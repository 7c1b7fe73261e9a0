// RFC 3261 16.4: route information preprocessing, and what the rest of the pipeline
// needs to know about the request's place in a dialog.
#include "proxy/pipeline.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include "proxy/path_tokens.hpp"

namespace sipproxy::proxy {

namespace {
// The dialog token of a Record-Route URI of ours proves the dialog went through this
// proxy (path_tokens.hpp); requests from the callee carry the caller's tag in To.
bool carries_dialog_token(const RequestContext& ctx, const sip::Uri& u) {
    const auto token = u.param(PathTokens::record_route_param);
    if (!token || !ctx.services.tokens) return false;
    const auto& r = ctx.request;
    return ctx.services.tokens->dialog_matches(*token, r.call_id(), r.from().tag, r.to().tag);
}
// RFC 7118 5.3 / RFC 5626: a Request-URI host ".invalid" (a WebSocket client) is reached
// over the flow our Record-Route recorded (forwarder.cpp), the one the request did not
// come from; only a flow list signed with this dialog is believed.
}  // namespace

std::optional<transport::Peer> websocket_flow(const RequestContext& ctx) {
    const auto& r = ctx.request;
    const auto host = r.request_uri().host;
    constexpr std::string_view suffix = ".invalid";
    if (host.size() < suffix.size() ||
        !std::equal(suffix.begin(), suffix.end(), host.end() - static_cast<std::ptrdiff_t>(suffix.size()),
                    [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }))
        return std::nullopt;
    if (!ctx.services.tokens) return std::nullopt;
    for (std::size_t i = 0; i < ctx.route_edit.own_routes; ++i) {
        const auto& u = r.routes()[i].uri;
        const auto flows = u.param(PathTokens::ws_flows_param);
        const auto sig = u.param(PathTokens::ws_flows_sig_param);
        if (!flows || !sig) continue;
        if (!ctx.services.tokens->ws_flows_match(*sig, r.call_id(), *flows, r.from().tag, r.to().tag))
            continue;
        std::string_view rest = *flows;
        while (!rest.empty()) {
            const auto end = rest.find('_');
            auto p = parse_flow(rest.substr(0, end));
            rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
            if (!p) continue;
            const bool from_here = p->protocol == ctx.source.protocol && p->address == ctx.source.address &&
                                   p->port == ctx.source.port;
            if (!from_here) return p;
        }
    }
    return std::nullopt;
}

void preprocess_routes(RequestContext& ctx) {
    const auto& r = ctx.request;
    const auto& locality = *ctx.snapshot.locality;
    const auto& ruri = r.request_uri();

    // A strict-routing previous hop put our Record-Route URI in the Request-URI and the
    // real one at the end of the Route set.
    if (ruri.user.empty() && locality.is_own_address(ruri.host, ruri.port) && !r.routes().empty()) {
        ctx.route_edit.strict_fix = true;
        ctx.dialog_proven = carries_dialog_token(ctx, ruri);
    }
    // Loose routing: leading Route values that name us are consumed (two of them when
    // we record-routed twice, on a change of transport or address family). Only one that
    // carries our dialog token proves the request belongs to a dialog we set up (a
    // preloaded Route naming us, e.g. an outbound proxy setting, proves nothing).
    std::size_t own = 0;
    const std::size_t usable = r.routes().size() - (ctx.route_edit.strict_fix ? 1 : 0);
    while (own < usable) {
        const auto& u = r.routes()[own].uri;
        if (!u.user.empty() || !locality.is_local(u)) break;
        if (carries_dialog_token(ctx, u)) ctx.dialog_proven = true;
        ++own;
    }
    ctx.route_edit.own_routes = own;

    const sip::Uri* effective = &ruri;
    if (ctx.route_edit.strict_fix) effective = &r.routes().back().uri;
    ctx.ruri_local = locality.is_local(*effective);
    ctx.in_dialog = !r.to().tag.empty();
    const auto m = r.method();
    ctx.record_route = !ctx.in_dialog && (m == sip::Method::Invite || m == sip::Method::Subscribe ||
                                          m == sip::Method::Refer || m == sip::Method::Notify);
}

void forward_in_dialog(RequestContext& ctx) {
    const auto& r = ctx.request;
    if (!ctx.in_dialog || r.method() == sip::Method::Register) return;
    // Relayed as in-dialog only for a dialog this proxy set up (its token on a Route), or
    // for an authenticated user or a trusted source. Anything else with a To-tag goes on
    // like an out-of-dialog request: challenged, refused or sent to a local user, never
    // relayed on its own say-so (toll fraud, issue #11).
    if (!ctx.dialog_proven && ctx.authenticated.empty() && !ctx.trusted_source) {
        if (ctx.snapshot.authenticator)
            refuse(ctx.services, Refusal::InDialog, ctx.source,
                   std::string(r.method_text()) + " with a To-tag and no dialog token of ours");
        return;
    }
    const bool routes_left = r.routes().size() > ctx.route_edit.own_routes +
                                                     (ctx.route_edit.strict_fix ? 1 : 0);
    // Mid-dialog: follow the Route set, or the Request-URI (the remote target) when it
    // is not ours. A local Request-URI without Route goes on to the location service.
    if (!routes_left && ctx.ruri_local && !ctx.route_edit.strict_fix) return;
    // A BYE ends its call when its final response passes back (response_context.cpp),
    // not here: it may be challenged, refused or lost on the way.
    Target t;
    t.label = "in-dialog";
    if (!routes_left) t.destination = websocket_flow(ctx);
    ctx.decision = Decision::forward({{t}});
}

}  // namespace sipproxy::proxy
