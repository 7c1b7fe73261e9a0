#include "proxy/proxy_core.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "base/log.hpp"
#include "proxy/call_events.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/response_context.hpp"
#include "routing/gateway_health.hpp"
#include "sip/error_response.hpp"
#include "sip/rewrite.hpp"
#include "transaction/branch.hpp"

namespace sipproxy::proxy {

ProxyCore::ProxyCore(Services& services, transaction::TransactionLayer& layer,
                     transport::Transport& transport)
    : services_(services),
      layer_(layer),
      transport_(transport),
      snapshot_(services.snapshots) {}

std::chrono::milliseconds ProxyCore::timer_c() {
    const auto& cfg = snapshot_.get().config;
    return cfg ? std::chrono::duration_cast<std::chrono::milliseconds>(cfg->transaction.timer_c)
               : std::chrono::milliseconds(180000);
}

std::vector<sip::ExtraHeader> ProxyCore::registration_again(const sip::Message& request) {
    auto snap = snapshot_.shared();
    return registration_ok_again(request, *snap, registrar::Clock::now());
}

void ProxyCore::gateway_failed(const std::string& name, int status, std::string_view reason) {
    if (!services_.gateways) return;
    auto gw = services_.gateways->find(name);
    if (!gw) return;
    const std::string why = std::to_string(status) + (reason.empty() ? "" : " " + std::string(reason));
    if (gw->record_call_failure(routing::HealthClock::now(), why))
        log::warn("gateway {} is now {} (calls failing: {})", name, routing::to_string(gw->state()), why);
}

namespace {
// What the pipeline knows of a new call: who, from where, how it was routed.
CallRecord call_record(const RequestContext& ctx) {
    const auto& req = ctx.request;
    CallRecord c;
    c.created_wall = std::chrono::system_clock::now();
    c.created = std::chrono::steady_clock::now();
    c.call_id = std::string(req.call_id());
    c.from_tag = std::string(req.from().tag);
    c.caller = std::string(req.from().uri.raw);
    c.callee = std::string(req.request_uri().raw);
    c.route = ctx.decision.route;
    c.source_ip = transport::address_text(ctx.source.address);
    c.source_port = ctx.source.port;
    c.transport = std::string(transport::uri_name(ctx.source.protocol));
    c.auth_user = ctx.authenticated;
    if (const auto* ua = req.find(sip::HeaderId::UserAgent)) c.user_agent = std::string(ua->value);
    return c;
}
}  // namespace

void ProxyCore::on_request(const std::shared_ptr<transaction::ServerTransaction>& st) {
    services_.stats.request(st->request().method());
    auto snap = snapshot_.shared();  // kept alive for this request's decision
    RequestContext ctx{st->request(), st->source(), st->local(), *snap, services_};
    if (run_pipeline(ctx)) {
        decided(st, ctx);
        return;
    }
    // A step waits (a REGISTER for the location store, ...): the context moves into the
    // coroutine's frame, with the transaction (its request, source and local) and the
    // snapshot its references point into.
    asio::co_spawn(layer_.executor(), resume(st, std::move(snap), std::move(ctx)), asio::detached);
}

asio::awaitable<void> ProxyCore::resume(std::shared_ptr<transaction::ServerTransaction> st,
                                        std::shared_ptr<const Snapshot> snapshot,
                                        RequestContext ctx) {
    co_await resume_pipeline(ctx);
    decided(st, ctx);
    snapshot.reset();  // held until here: ctx.snapshot refers to it
}

void ProxyCore::decided(const std::shared_ptr<transaction::ServerTransaction>& st,
                        RequestContext& ctx) {
    const auto& req = st->request();
    // Its INVITE's non-2xx final is retransmitted until the ACK (RFC 3261 17.2.1); for
    // anybody else no more than once (ServerTransaction::run: no reflection).
    if (!ctx.authenticated.empty() || ctx.trusted_source) st->vouch();

    const bool new_call = req.method() == sip::Method::Invite && !ctx.in_dialog;
    if (ctx.decision.kind == Decision::Kind::Respond) {
        // An INVITE the proxy refuses itself is a call attempt with a record; a challenge
        // is not (the caller comes back with credentials, as the same attempt).
        const int s = ctx.decision.status;
        if (new_call && s >= 300 && s != 401 && s != 407)
            services_.call_events.refused(call_record(ctx), s, ctx.decision.reason);
        respond(*st, ctx.decision);
        return;
    }
    // Only the first context of a call reports on it (not a spiral's second pass).
    const bool reports_call = new_call && services_.call_events.started(call_record(ctx));
    auto rc = std::make_shared<ResponseContext>(*this, st, std::move(ctx.decision),
                                                ctx.route_edit, ctx.record_route, reports_call);
    asio::co_spawn(layer_.executor(), rc->run(), asio::detached);
}

void ProxyCore::respond(transaction::ServerTransaction& st, const Decision& d) {
    const auto& req = st.request();
    for (const auto& line : d.log_when_sent) log::info("{}", line);
    if (d.status >= 300 && log::enabled(log::Level::info))  // the source's text only when written
        log::call(log::Level::info, req.call_id(), "{} {} from {}: {} {}", req.method_text(),
                  req.request_uri().raw, st.source().to_string(), d.status, d.reason);
    st.respond(d.status, d.reason, d.headers);
}

void ProxyCore::on_ack(sip::Message ack, const transport::Peer& from,
                       const transport::Local& local) {
    // The ACK for a 2xx is its own transaction-less request (RFC 3261 13.2.2.4): it
    // follows the Route set like any mid-dialog request, forwarded statelessly. It cannot
    // be challenged, so it goes on only for a dialog this proxy set up (our dialog token
    // on a Route) or from a trusted source (issue #11).
    services_.stats.request(sip::Method::Ack);
    auto snap = snapshot_.shared();
    RequestContext ctx{ack, from, local, *snap, services_};
    validate_request(ctx);
    if (ctx.decided()) return;  // ACKs are never answered
    preprocess_routes(ctx);
    const bool routes_left = ack.routes().size() > ctx.route_edit.own_routes;
    if (!routes_left && ctx.ruri_local) {
        // A 2xx ACK for a device registered here: its Request-URI is the contact.
        log::call(log::Level::debug, ack.call_id(), "ACK for local Request-URI dropped");
        return;
    }
    if (!ctx.dialog_proven && !in_trusted_networks(*snap, from.address)) {
        refuse(services_, Refusal::Ack, from, "ACK for a dialog this proxy did not set up");
        return;
    }
    auto self_transport = &transport_;
    Target t;
    t.label = "ack";
    if (!routes_left) t.destination = websocket_flow(ctx);
    ForwardInput in{nullptr, ctx.route_edit, nullptr, &local, &from, false,
                    layer_.new_branch(transaction::loop_hash(ack)), nullptr, tokens()};
    // The message must outlive the coroutine: move it into the frame.
    asio::co_spawn(
        layer_.executor(),
        [self_transport, msg = std::move(ack), in, t]() mutable -> asio::awaitable<void> {
            in.request = &msg;
            in.target = &t;
            auto fwd = co_await forward_request(in, *self_transport);
            if (fwd) self_transport->post_send(fwd->destination, std::move(fwd->bytes));
        },
        asio::detached);
}

void ProxyCore::forward_response_stateless(const sip::Message& response, bool may_connect) {
    const auto& vias = response.vias();
    if (vias.size() < 2) return;  // nobody to send it to
    const auto& next = vias[1];
    transport::Peer to;
    if (!transport::parse_protocol(next.transport, to.protocol)) return;
    asio::error_code ec;
    to.address = asio::ip::make_address(
        transport::strip_brackets(next.received.empty() ? next.host : next.received), ec);
    if (ec) return;  // a host name in sent-by without received: not resolved statelessly
    to.port = next.rport ? *next.rport : (next.port ? next.port : 5060);
    sip::Rewrite rw(response);
    rw.remove_first_value(vias.front().header_index);
    services_.stats.stateless_forward();
    transport_.post_send(to, rw.write(), may_connect);
}

void ProxyCore::on_stray_response(sip::Message response, const transport::Peer& from) {
    // RFC 3261 16.7: a response without a transaction (a 2xx retransmission after the
    // INVITE transaction ended) goes back by the next Via, but only along a path this
    // proxy created: our Via on top whose branch token binds the Via below it as we
    // stamped it. Never over a new TCP connection (a reflector otherwise).
    const auto& vias = response.vias();
    if (vias.empty()) return;
    auto snap = snapshot_.shared();
    const auto& top = vias.front();
    if (!snap->locality->is_own_address(top.host, top.port)) {
        refuse(services_, Refusal::StrayResponse, from, "response without our Via on top");
        return;
    }
    if (vias.size() < 2) return;  // answered to us (16.7 step 3): nothing to forward
    const auto token = transaction::branch_token(top.branch);
    if (token.empty() || !services_.tokens->via_matches(token, ViaHop::of(vias[1]))) {
        refuse(services_, Refusal::StrayResponse, from,
               std::to_string(response.status()) +
                   " response whose branch this proxy did not sign for its next Via");
        return;
    }
    forward_response_stateless(response, false);
}

void ProxyCore::on_parse_error(std::string_view raw, const sip::ParseError& error,
                               const transport::Peer& from) {
    services_.stats.parse_error();
    // At info the ingress logs it, once per source, reason and interval.
    log::debug("bad message from {}: {} {}", from.to_string(), error.status, error.reason);
    auto reply = sip::make_error_response(raw, error.status, error.reason);
    if (!reply.empty()) {
        services_.stats.response_sent(error.status);
        transport_.post_send(from, std::move(reply));
    }
}

}  // namespace sipproxy::proxy
