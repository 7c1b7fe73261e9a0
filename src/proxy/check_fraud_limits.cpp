// [[fraud]] limits (toll fraud, issue #12 item 7): a new call that the pipeline decided to
// forward for an authenticated user counts toward the limits of its user and route; past a
// critical threshold it is refused (403), at a warning threshold logged and counted. Runs
// after the decision (the dial plan has chosen the route). Trusted sources (auth.trusted)
// and callers from outside (calls to local users) are not authenticated users: no limits.
#include "base/log.hpp"
#include "proxy/fraud_call_listener.hpp"
#include "proxy/pipeline.hpp"

namespace sipproxy::proxy {

namespace {

// "user=alice route=international scope=user limit=calls_per_minute value=11 threshold=10"
std::string describe(const fraud::Crossing& c) {
    std::string s = "user=" + (c.scope.total ? std::string("*") : c.scope.user);
    s += " route=" + (c.scope.route.empty() ? std::string("*") : c.scope.route);
    s += c.scope.total ? " scope=total" : " scope=user";
    s += " limit=" + std::string(fraud::to_string(c.limit));
    s += " value=" + std::to_string(c.value) + " threshold=" + std::to_string(c.threshold);
    return s;
}

// One line per scope, limit and level per 10 s, with the count since the last line.
void alert(Services& services, std::string_view level, const fraud::Crossing& c,
           std::string_view source, fraud::Clock::time_point now) {
    const std::string what = describe(c);
    const auto n = services.fraud_alerts.note(
        std::string(level) + " " + what.substr(0, what.find(" value=")), now);
    if (!n) return;
    const std::string times =
        *n == 1 ? "" : " (" + std::to_string(*n) + " times since the last line)";
    if (level == "critical")
        log::warn("fraud limit critical: {} action=refused source={}{}", what, source, times);
    else
        log::warn("fraud limit warning: {} source={}{}", what, source, times);
}

std::string refusal_reason(const fraud::Crossing& c) {
    std::string r = "Forbidden: call limit reached (" + std::string(fraud::to_string(c.limit));
    if (c.scope.total) r += " of all users";
    if (!c.scope.route.empty()) r += " on route " + c.scope.route;
    return r + ")";
}

}  // namespace

void check_fraud_limits(RequestContext& ctx) {
    if (ctx.decision.kind != Decision::Kind::Forward) return;
    const auto& r = ctx.request;
    if (r.method() != sip::Method::Invite || ctx.authenticated.empty()) return;
    if (ctx.in_dialog && ctx.dialog_proven) return;  // a re-INVITE of a call counted already
    if (!ctx.snapshot.config || ctx.snapshot.config->fraud.empty()) return;
    const auto now = fraud::Clock::now();
    // An INVITE with a To-tag but no dialog token of ours is relayed for an authenticated
    // user (forward_in_dialog, even by the dial plan) without being a call the proxy core
    // reports, so its end is never told: it meets every limit and counts per minute and
    // per day, but holds no concurrent count. (A To-tag must not be a way around limits.)
    const bool reported = !ctx.in_dialog;
    auto verdict =
        ctx.services.fraud.admit(ctx.snapshot.config->fraud, ctx.authenticated, ctx.decision.route,
                                 fraud_call_key(r.call_id(), r.from().tag), now, reported);
    const std::string source = ctx.source.to_string();
    for (const auto& w : verdict.warnings) {
        ctx.services.stats.fraud_warning();
        alert(ctx.services, "warning", w, source, now);
    }
    if (verdict.refused) {
        ctx.services.stats.refused(Refusal::Fraud);
        alert(ctx.services, "critical", *verdict.refused, source, now);
        std::string route = std::move(ctx.decision.route);  // the call record names it
        ctx.respond(403, refusal_reason(*verdict.refused));
        ctx.decision.route = std::move(route);
    }
}

}  // namespace sipproxy::proxy
