#pragma once
// The request pipeline (the order of decisions lives in pipeline.cpp). Each step reads
// the request and the context, and either decides (respond or forward) or passes on.
// Later features (blocking, fraud limits, accounting) are further steps.
#include <asio/awaitable.hpp>
#include <span>

#include "proxy/request_context.hpp"
#include "registrar/registrar.hpp"

namespace sipproxy::proxy {

// Runs the steps in order until one decides, and always decides: true. False when a step
// suspended it (RequestContext::wait_for): resume_pipeline, in a coroutine on the worker's
// executor that owns the context, finishes it. A request no step suspends runs without a
// coroutine frame or an allocation.
bool run_pipeline(RequestContext& ctx);
asio::awaitable<void> resume_pipeline(RequestContext& ctx);

// The machinery, for any list of steps: runs steps[ctx.next_step...] until one decides
// (true) or suspends (false); resume_steps waits for the suspension, and for any further
// one, running the steps after each until a decision or the end.
using Step = void (*)(RequestContext&);
bool run_steps(std::span<const Step> steps, RequestContext& ctx);
asio::awaitable<void> resume_steps(std::span<const Step> steps, RequestContext& ctx);

// Counts a refusal and logs it (at most once per source and reason per 10 s).
void refuse(Services& services, Refusal reason, const transport::Peer& from,
            std::string_view what);

// The address is in auth.trusted.
bool in_trusted_networks(const Snapshot& snapshot, const asio::ip::address& a);

// Answers 401 (registrar) or 407 (proxy) with one challenge per configured algorithm.
void challenge(RequestContext& ctx, bool registrar, bool stale);

// The steps, one file each.
void validate_request(RequestContext& ctx);      // RFC 3261 16.3
void preprocess_routes(RequestContext& ctx);     // 16.4
void route_to_flow(RequestContext& ctx);         // a Route of ours naming a phone's connection
void answer_options_to_self(RequestContext& ctx);
void authenticate(RequestContext& ctx);          // RFC 3261 22, RFC 7616, auth issue
// The WebSocket flow a ".invalid" Request-URI is reached on, from the signed flows in
// our Record-Route (RFC 7118, RFC 5626); nothing for any other Request-URI.
std::optional<transport::Peer> websocket_flow(const RequestContext& ctx);
void forward_in_dialog(RequestContext& ctx);     // mid-dialog requests of our dialogs
void check_preloaded_route(RequestContext& ctx); // a Route to a third party: whose?
void register_binding(RequestContext& ctx);      // registrar, RFC 3261 10
// The headers of a REGISTER's 200 OK (RFC 3261 10.3 step 8): a Contact per current binding
// with its expires, the Path echoed (RFC 3327), Require: outbound (RFC 5626) when asked.
std::vector<sip::ExtraHeader> registration_ok_headers(
    const sip::Message& r, const std::vector<registrar::CurrentBinding>& bindings, bool outbound);
// The same for a retransmission of a REGISTER answered 200: the bindings as they are now.
std::vector<sip::ExtraHeader> registration_ok_again(const sip::Message& r, const Snapshot& snapshot,
                                                    registrar::TimePoint now);
void find_registered_targets(RequestContext& ctx);  // location service, 16.5
void apply_dial_plan(RequestContext& ctx);       // [[routes]] to [[gateways]]
void forward_to_host(RequestContext& ctx);       // non-local Request-URI (relay rules)
void answer_unknown_user(RequestContext& ctx);   // 404 / 480
// After the decision: a new call forwarded for an authenticated user, against [[fraud]].
void check_fraud_limits(RequestContext& ctx);

}  // namespace sipproxy::proxy
