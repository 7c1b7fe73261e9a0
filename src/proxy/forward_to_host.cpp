// The last steps: a Request-URI that is not ours goes to its host (RFC 3263), but only
// for an authenticated user or a trusted source when [auth] is on (no open relay); a
// local one that nothing claimed gets 404 (unknown user) or 480 (known, not registered),
// the difference only for those who proved who they are: to anybody else both are 404,
// so a scanner (svwar) cannot tell configured users from unknown names.
#include "proxy/pipeline.hpp"

namespace sipproxy::proxy {

void forward_to_host(RequestContext& ctx) {
    if (ctx.ruri_local && ctx.request.routes().size() <= ctx.route_edit.own_routes) return;
    if (ctx.snapshot.authenticator && ctx.authenticated.empty() && !ctx.trusted_source) {
        ctx.respond(403, "Relaying denied");
        return;
    }
    Target t;
    t.label = "request-uri";
    ctx.decision = Decision::forward({{t}});
}

void answer_unknown_user(RequestContext& ctx) {
    const auto& user = ctx.request.request_uri().user;
    if (user.empty()) {
        ctx.respond(404, "Not Found");
        return;
    }
    const bool may_know = ctx.authenticated.size() > 0 || ctx.trusted_source;
    const bool known = may_know && ctx.snapshot.authenticator &&
                       ctx.snapshot.authenticator->knows(sip::unescape(user));
    if (known) ctx.respond(480, "Temporarily Unavailable");
    else ctx.respond(404, "Not Found");
}

}  // namespace sipproxy::proxy
