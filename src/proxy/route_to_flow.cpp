// A request another cluster node routed to a phone whose connection (TCP/TLS/WS) is held
// here (docs/cluster.md, Path-style, RFC 3327): the Route of ours it carries names the
// connection with this node's flow token (path_tokens.hpp, added to the binding by
// register_binding.cpp). Decided before authentication, like a Record-Route of ours: the
// token proves the path is one this node made for a phone registered here; the other node
// did the caller's checks. A Route of ours with a token that does not verify is refused,
// never relayed (no open relay): 403. One signed by this node before a restart names a
// connection that is gone: 480.
#include "proxy/pipeline.hpp"

namespace sipproxy::proxy {

void route_to_flow(RequestContext& ctx) {
    const auto& r = ctx.request;
    const auto m = r.method();
    if (ctx.route_edit.own_routes == 0 || m == sip::Method::Register || m == sip::Method::Ack ||
        m == sip::Method::Cancel)
        return;
    std::optional<std::string_view> value;
    for (std::size_t i = 0; i < ctx.route_edit.own_routes; ++i)
        if (auto v = r.routes()[i].uri.param(PathTokens::flow_param)) value = v;
    if (!value) return;

    PathTokens::FlowCheck flow;
    if (ctx.services.tokens) flow = ctx.services.tokens->flow_of(*value);
    using Result = PathTokens::FlowCheck::Result;
    if (flow.result == Result::Invalid) {
        refuse(ctx.services, Refusal::PreloadedRoute, ctx.source,
               std::string(r.method_text()) + " with a Route to a connection here whose flow token "
                                              "does not verify");
        ctx.respond(403, "Forbidden: invalid flow token");
        return;
    }
    if (flow.result == Result::Stale) {
        // Signed by this node before it restarted: the phone's connection went with that
        // run (and its id may name another connection now). Reachable again once it
        // registers anew (RFC 3261 21.4.18).
        ctx.respond(480, "Temporarily Unavailable: connection lost (node restarted)");
        return;
    }
    Target t;
    t.destination = flow.connection;
    t.label = "flow " + flow.connection.to_string();
    ctx.decision = Decision::forward({{t}});
}

}  // namespace sipproxy::proxy
