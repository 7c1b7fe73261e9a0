// The administrator's routes ([[routes]] -> [[gateways]]): first match wins, the user
// part is translated, and the route's gateways are tried one after another per its
// strategy (failover on 408/5xx/no answer). With [auth], a route is taken only by an
// authenticated user or a trusted source (toll-fraud guard).
#include "proxy/pipeline.hpp"
#include "routing/gateway_health.hpp"

namespace sipproxy::proxy {

void apply_dial_plan(RequestContext& ctx) {
    const auto& r = ctx.request;
    const auto m = r.method();
    // An in-dialog request without our dialog token is routed like a new one (issue #11).
    if (!ctx.snapshot.dial_plan || m == sip::Method::Register ||
        (ctx.in_dialog && ctx.dialog_proven))
        return;
    if (r.routes().size() > ctx.route_edit.own_routes) return;  // preloaded Route: not ours to route
    const auto& ruri = r.request_uri();
    if (ruri.user.empty()) return;

    const std::string user = sip::unescape(ruri.user);
    const std::string source = transport::address_text(ctx.source.address);
    routing::RouteQuery q{user, ruri.host, ctx.authenticated, source};
    auto match = ctx.snapshot.dial_plan->match(q);
    if (!match) return;
    const auto& route = *match->route;

    if (ctx.snapshot.authenticator && ctx.authenticated.empty() && !ctx.trusted_source) {
        challenge(ctx, false, false);  // toll-fraud guard: gateways cost money
        return;
    }
    std::vector<const routing::Gateway*> gws;
    if (ctx.services.gateways) gws = route.gateways.select(*ctx.services.gateways);
    else gws = route.gateways.select([](const routing::Gateway&) { return true; });
    if (gws.empty()) {
        ctx.respond(503, "Service Unavailable: no gateway of route '" + route.spec.name + "' is up");
        return;
    }
    std::vector<std::vector<Target>> groups;
    for (const auto* gw : gws) {
        // The translated number becomes the user part of the gateway's URI (replacing a
        // user the URI may have); its host, port and parameters are kept.
        auto uri = sip::parse_uri(gw->uri);
        if (!uri) continue;  // validated at load; never expected
        Target t;
        t.request_uri = std::string(uri->scheme_text) + ":" + match->user + "@" + std::string(uri->host);
        if (uri->port) t.request_uri += ":" + std::to_string(uri->port);
        if (!uri->params.empty()) t.request_uri += ";" + std::string(uri->params);
        t.gateway = gw->name;
        t.label = "route " + route.spec.name + " gateway " + gw->name;
        groups.push_back({std::move(t)});
    }
    ctx.decision = Decision::forward(std::move(groups), FailoverPolicy::ServerFailures);
    ctx.decision.branch_timeout = route.spec.timeout;
    ctx.decision.route = route.spec.name;
}

}  // namespace sipproxy::proxy
