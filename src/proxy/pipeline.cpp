#include "proxy/pipeline.hpp"

namespace sipproxy::proxy {

void run_pipeline(RequestContext& ctx) {
    using Step = void (*)(RequestContext&);
    // The order of decisions (documented in man/sipproxy.toml.5, ORDER OF ROUTING).
    static constexpr Step steps[] = {
        validate_request,
        preprocess_routes,
        route_to_flow,
        answer_options_to_self,
        authenticate,
        forward_in_dialog,
        check_preloaded_route,
        register_binding,
        find_registered_targets,
        apply_dial_plan,
        forward_to_host,
        answer_unknown_user,
    };
    for (Step step : steps) {
        step(ctx);
        if (ctx.decided()) break;
    }
    if (!ctx.decided()) {
        ctx.respond(500, "No routing decision");
        return;
    }
    // What may still overturn a decision to forward, once the route is known.
    check_fraud_limits(ctx);
}

}  // namespace sipproxy::proxy
