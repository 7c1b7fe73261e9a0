// REGISTER for a local domain (RFC 3261 10.3): the wire message becomes a
// registrar::RegisterRequest; the result becomes the response.
#include <cmath>
#include <optional>

#include "base/log.hpp"
#include "proxy/pending_commit.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/registration_log.hpp"
#include "registrar/registrar.hpp"

namespace sipproxy::proxy {

namespace {

std::string unquote(std::string_view v) {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
}

// The AOR a local URI stands for: user@domain, with the proxy's own address meaning the
// first configured domain.
std::string aor_for(const sip::Uri& u, const Locality& locality) {
    std::string domain(u.host);
    if (!locality.is_local_domain(u.host) && !locality.domains().empty())
        domain = locality.domains().front();
    return registrar::canonical_aor(sip::unescape(u.user) + "@" + domain);
}

// "<sip:127.0.0.1:5070;transport=tcp;lr;sipproxy-flow=tcp~127.0.0.1~40312~17~RUN~TOKEN>": where
// another node reaches this one (the TCP listener the phone used, or another TCP one, else
// UDP), and the phone's connection.
std::optional<std::string> flow_path_entry(const RequestContext& ctx) {
    const transport::Local* via = nullptr;
    if (ctx.local.protocol == transport::Protocol::Tcp) via = &ctx.local;
    for (const auto& l : ctx.snapshot.locality->locals())
        if (!via && l.protocol == transport::Protocol::Tcp) via = &l;
    for (const auto& l : ctx.snapshot.locality->locals())
        if (!via && l.protocol == transport::Protocol::Udp) via = &l;
    if (!via || via->address.is_unspecified()) return std::nullopt;
    std::string v = "<sip:" + via->hostport();
    if (via->protocol == transport::Protocol::Tcp) v += ";transport=tcp";
    v += ";lr;";
    v += PathTokens::flow_param;
    v += '=';
    v += ctx.services.tokens->flow_value(ctx.source);
    v += '>';
    return v;
}

// The store's answer to a REGISTER's change: the 200 OK decided stands only when it is
// durable (RFC 3261 10.3 step 8: a crash right after must not lose what it lists).
void store_answered(RequestContext& ctx, const std::string& error) {
    if (error.empty()) return;
    const auto& r = ctx.request;
    if (registrar::store_unavailable(error)) {
        // Nothing was stored (the store was unreachable): the device should retry soon,
        // possibly at another node (RFC 3261 21.5.4).
        log::call(log::Level::warn, r.call_id(), "{} {} from {}: 503, binding not saved: {}",
                  r.method_text(), r.request_uri().raw, ctx.source.to_string(), error);
        ctx.respond(503, "Service Unavailable: location store unreachable", {{"Retry-After", "5"}});
        return;
    }
    // The change was undone: the device must not believe it is registered.
    std::string reason = "Server Internal Error: location store write failed: " + error;
    std::erase_if(reason, [](char c) { return c == '\r' || c == '\n'; });
    log::call(log::Level::warn, r.call_id(), "{} {} from {}: 500, binding not saved: {}",
              r.method_text(), r.request_uri().raw, ctx.source.to_string(), error);
    ctx.respond(500, std::move(reason));
}

}  // namespace

std::string local_aor(const sip::Uri& u, const Locality& locality) { return aor_for(u, locality); }

std::vector<sip::ExtraHeader> registration_ok_headers(
    const sip::Message& r, const std::vector<registrar::CurrentBinding>& bindings, bool outbound) {
    std::vector<sip::ExtraHeader> h;
    for (const auto& b : bindings) {
        std::string v = "<" + b.binding.contact + ">;expires=" + std::to_string(b.expires_in);
        if (b.binding.q_permille != 1000) v += ";q=" + registrar::format_qvalue(b.binding.q_permille);
        if (!b.binding.instance.empty()) v += ";+sip.instance=\"" + b.binding.instance + "\"";
        if (b.binding.reg_id) v += ";reg-id=" + std::to_string(b.binding.reg_id);
        h.push_back({"Contact", std::move(v)});
    }
    // RFC 3327 5.3: the Path is echoed; RFC 5626 6: outbound is confirmed.
    for (const auto& p : r.paths()) h.push_back({"Path", std::string(p.raw)});
    if (outbound) h.push_back({"Require", "outbound"});
    h.push_back({"Supported", "path, outbound"});
    return h;
}

std::vector<sip::ExtraHeader> registration_ok_again(const sip::Message& r, const Snapshot& snapshot,
                                                    registrar::TimePoint now) {
    std::vector<registrar::CurrentBinding> current;
    if (snapshot.registrar && snapshot.locality) {
        for (auto& b : snapshot.registrar->lookup(aor_for(r.to().uri, *snapshot.locality), now)) {
            const auto in = b.expires_in(now);
            current.push_back({std::move(b), in});
        }
    }
    bool outbound = false;
    for (const auto& c : r.contacts())
        outbound = outbound || (c.addr.param("reg-id") && c.addr.param("+sip.instance"));
    return registration_ok_headers(r, current, outbound);
}

void register_binding(RequestContext& ctx) {
    const auto& r = ctx.request;
    if (r.method() != sip::Method::Register || !ctx.ruri_local) return;
    auto* registrar = ctx.snapshot.registrar.get();
    if (!registrar) {
        ctx.respond(501, "Registrar not configured");
        return;
    }
    // Extensions a REGISTER may require of us (RFC 3327 path, RFC 5626 outbound).
    std::string unsupported;
    for (auto tag : r.option_tags(sip::HeaderId::Require)) {
        if (tag == "path" || tag == "outbound") continue;
        if (!unsupported.empty()) unsupported += ", ";
        unsupported += tag;
    }
    if (!unsupported.empty()) {
        ctx.respond(420, "Bad Extension", {{"Unsupported", unsupported}});
        return;
    }
    const auto& to = r.to().uri;
    if (!to.is_sip() || to.user.empty() || !ctx.snapshot.locality->is_local(to)) {
        ctx.respond(404, "Not Found: not a user of this domain");
        return;
    }

    registrar::RegisterRequest req;
    req.aor = aor_for(to, *ctx.snapshot.locality);
    for (const auto& c : r.contacts()) {
        if (c.star) {
            req.star = true;
            continue;
        }
        registrar::ContactSpec spec;
        spec.uri = std::string(c.addr.uri.raw);
        spec.expires = c.expires;
        if (c.q) spec.q_permille = static_cast<std::uint16_t>(std::lround(*c.q * 1000.0));
        if (auto inst = c.addr.param("+sip.instance")) spec.instance = unquote(*inst);
        if (auto id = c.addr.param("reg-id")) {
            std::uint32_t v = 0;
            for (char ch : *id) {
                if (ch < '0' || ch > '9' || v > 100000000) {
                    v = 0;
                    break;
                }
                v = v * 10 + static_cast<std::uint32_t>(ch - '0');
            }
            spec.reg_id = v;
        }
        spec.raw = std::string(c.addr.raw);
        req.contacts.push_back(std::move(spec));
    }
    req.expires = r.expires();
    req.call_id = std::string(r.call_id());
    req.cseq = r.cseq().number;
    req.source.transport = std::string(transport::uri_name(ctx.source.protocol));
    req.source.address = transport::address_text(ctx.source.address);
    req.source.port = ctx.source.port;
    req.source.flow_id = ctx.source.connection;
    // In a cluster, a phone whose connection (TCP/TLS/WS) ends here is reached by the other
    // nodes through this one: a Path entry of ours, first, names the connection with a
    // token only this node can make (route_to_flow.cpp). Not echoed in the 200 OK; this
    // node drops it again when it uses the binding itself (find_registered_targets.cpp).
    if (ctx.source.connection != 0 && ctx.snapshot.config &&
        ctx.snapshot.config->registrar.store == "redis" && ctx.services.tokens) {
        if (auto entry = flow_path_entry(ctx)) req.path.push_back(std::move(*entry));
    }
    for (const auto& p : r.paths()) req.path.push_back(std::string(p.raw));
    if (const auto* ua = r.find(sip::HeaderId::UserAgent)) req.user_agent = std::string(ua->value);
    req.now = ctx.now;

    // The 200 OK waits until the change is on disk (RFC 3261 10.3 step 8: the response lists
    // the bindings the registrar now holds; a crash right after must not lose them), unless
    // it only refreshes (below).
    auto pending = std::make_shared<PendingCommit>();
    registrar::LocationStore::Committed committed = [pending](const std::string& error) {
        pending->complete(error);
    };
    auto result = registrar->handle(req, std::move(committed));
    if (!result.ok()) {
        std::vector<sip::ExtraHeader> h;
        if (result.status == 423) h.push_back({"Min-Expires", std::to_string(result.min_expires)});
        ctx.respond(result.status, result.reason, std::move(h));
        return;
    }
    ctx.services.stats.registration();
    // One line per change, written when the 200 OK goes out (not if the store failed).
    const std::string source = ctx.source.to_string();
    auto lines = change_lines(result.changes, source, req.user_agent, "register");
    bool outbound = false;
    for (const auto& c : req.contacts) outbound = outbound || (c.reg_id && !c.instance.empty());
    ctx.respond(200, "OK", registration_ok_headers(r, result.bindings, outbound));
    ctx.decision.log_when_sent = std::move(lines);  // respond() made a new decision
    if (auto done = pending->result()) {
        store_answered(ctx, *done);  // the memory store, or nothing changed
        return;
    }
    // A refresh of bindings already held, reached the same way, is answered at once: the
    // commit follows within the batch interval, and a crash before it would only bring back
    // the earlier expiry of a binding the phone keeps refreshing (the store logs a failed
    // write). A registration's steady state is mostly refreshes: they cost no wait, no
    // suspended request and no wake-up for the answer.
    if (result.refresh_only) return;
    // Waits for the store's thread without blocking this worker.
    ctx.wait_for(pending->wait(registrar->commit_latency()), [pending](RequestContext& c, std::string error) {
        store_answered(c, error);
    });
}

}  // namespace sipproxy::proxy
