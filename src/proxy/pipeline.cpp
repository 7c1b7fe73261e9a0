#include "proxy/pipeline.hpp"

namespace sipproxy::proxy {

bool run_steps(std::span<const Step> steps, RequestContext& ctx) {
    while (ctx.next_step < steps.size()) {
        steps[ctx.next_step++](ctx);
        if (ctx.suspended()) return false;
        if (ctx.decided()) break;
    }
    return true;
}

asio::awaitable<void> resume_steps(std::span<const Step> steps, RequestContext& ctx) {
    while (ctx.suspended()) {
        // Kept here while it runs: what it resumes may suspend again.
        auto suspension = ctx.take_suspension();
        co_await suspension->resume(ctx);
        if (!ctx.suspended() && !ctx.decided()) run_steps(steps, ctx);
    }
}

namespace {

// The order of decisions (documented in man/sipproxy.toml.5, ORDER OF ROUTING).
constexpr Step pipeline_steps[] = {
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

void conclude(RequestContext& ctx) {
    if (!ctx.decided()) {
        ctx.respond(500, "No routing decision");
        return;
    }
    // What may still overturn a decision to forward, once the route is known.
    check_fraud_limits(ctx);
}

}  // namespace

bool run_pipeline(RequestContext& ctx) {
    if (!run_steps(pipeline_steps, ctx)) return false;
    conclude(ctx);
    return true;
}

asio::awaitable<void> resume_pipeline(RequestContext& ctx) {
    co_await resume_steps(pipeline_steps, ctx);
    conclude(ctx);
}

}  // namespace sipproxy::proxy
