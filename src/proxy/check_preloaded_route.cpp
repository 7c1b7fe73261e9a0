// A preloaded Route (RFC 3261 16.4, 16.6 step 6) naming a third party makes the proxy a
// relay to it. With [auth], only an authenticated user or a trusted source may ask for
// that; for anyone else the Route must lead to this proxy (consumed in 16.4) or to a
// trusted peer (auth.trusted, by address), else 403.
#include <asio/ip/address.hpp>

#include "proxy/pipeline.hpp"

namespace sipproxy::proxy {

void check_preloaded_route(RequestContext& ctx) {
    if (!ctx.snapshot.authenticator || !ctx.authenticated.empty() || ctx.trusted_source) return;
    const auto& r = ctx.request;
    const std::size_t ours = ctx.route_edit.own_routes + (ctx.route_edit.strict_fix ? 1 : 0);
    if (r.routes().size() <= ours) return;
    const auto& next = r.routes()[ctx.route_edit.own_routes].uri;
    asio::error_code ec;
    const auto addr = asio::ip::make_address(transport::strip_brackets(next.host), ec);
    if (!ec && in_trusted_networks(ctx.snapshot, addr)) return;
    refuse(ctx.services, Refusal::PreloadedRoute, ctx.source,
           std::string(r.method_text()) + " with a Route to " + std::string(next.raw));
    ctx.respond(403, "Forbidden: Route to a third party");
}

}  // namespace sipproxy::proxy
