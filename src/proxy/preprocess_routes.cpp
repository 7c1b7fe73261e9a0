// RFC 3261 16.4: route information preprocessing, and what the rest of the pipeline
// needs to know about the request's place in a dialog.
#include "proxy/pipeline.hpp"

namespace sipproxy::proxy {

void preprocess_routes(RequestContext& ctx) {
    const auto& r = ctx.request;
    const auto& locality = *ctx.snapshot.locality;
    const auto& ruri = r.request_uri();

    // A strict-routing previous hop put our Record-Route URI in the Request-URI and the
    // real one at the end of the Route set.
    if (ruri.user.empty() && locality.is_own_address(ruri.host, ruri.port) && !r.routes().empty()) {
        ctx.route_edit.strict_fix = true;
    }
    // Loose routing: leading Route values that name us are consumed (two of them when
    // we record-routed twice, on a change of transport or address family).
    std::size_t own = 0;
    const std::size_t usable = r.routes().size() - (ctx.route_edit.strict_fix ? 1 : 0);
    while (own < usable) {
        const auto& u = r.routes()[own].uri;
        if (!u.user.empty() || !locality.is_local(u)) break;
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
    const bool routes_left = r.routes().size() > ctx.route_edit.own_routes +
                                                     (ctx.route_edit.strict_fix ? 1 : 0);
    // Mid-dialog: follow the Route set, or the Request-URI (the remote target) when it
    // is not ours. A local Request-URI without Route goes on to the location service.
    if (!routes_left && ctx.ruri_local && !ctx.route_edit.strict_fix) return;
    if (r.method() == sip::Method::Bye) ctx.services.calls.end(r.call_id());
    Target t;
    t.label = "in-dialog";
    ctx.decision = Decision::forward({{t}});
}

}  // namespace sipproxy::proxy
