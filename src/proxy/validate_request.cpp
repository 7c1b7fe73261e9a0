// RFC 3261 16.3: request validation (syntax was checked by the parser).
#include "proxy/pipeline.hpp"
#include "transaction/branch.hpp"

namespace sipproxy::proxy {

namespace {
const std::vector<sip::ExtraHeader>& self_answer_headers() {
    static const std::vector<sip::ExtraHeader> h{
        {"Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, UPDATE, PRACK, "
                  "SUBSCRIBE, NOTIFY, REFER, MESSAGE, PUBLISH"},
        {"Accept", "application/sdp"},
        {"Supported", "path, outbound"}};
    return h;
}
}  // namespace

void validate_request(RequestContext& ctx) {
    const auto& r = ctx.request;
    // Step 2: a scheme we cannot handle.
    if (r.request_uri().scheme == sip::Uri::Scheme::Other) {
        ctx.respond(416, "Unsupported URI Scheme");
        return;
    }
    // A sips: Request-URI means TLS on every hop (RFC 3261 26.2.1; RFC 5630 removes the
    // last-hop exception): one that arrived over UDP or TCP has already crossed an insecure hop, so it
    // is refused rather than forwarded (as 416: the scheme cannot be honoured on this
    // transport; the reason says why). The caller may retry over TLS.
    if (r.request_uri().scheme == sip::Uri::Scheme::Sips &&
        ctx.source.protocol != transport::Protocol::Tls && ctx.source.protocol != transport::Protocol::Wss) {
        ctx.respond(416, "SIPS Requires TLS");
        return;
    }
    // Step 3: Max-Forwards. An OPTIONS that ends here is answered (16.3 step 3, 11).
    if (r.max_forwards() && *r.max_forwards() == 0) {
        if (r.method() == sip::Method::Options) ctx.respond(200, "OK", self_answer_headers());
        else ctx.respond(483, "Too Many Hops");
        return;
    }
    // Step 4: loop detection. One of our Vias carries the same loop hash: the request
    // came back unchanged (a spiral would have a new Request-URI, hence a new hash).
    const auto& locality = *ctx.snapshot.locality;
    std::optional<std::uint32_t> hash;
    for (const auto& via : r.vias()) {
        auto ours = transaction::branch_loop_hash(via.branch);
        if (!ours || !locality.is_own_address(via.host, via.port)) continue;
        if (!hash) hash = transaction::loop_hash(r);
        if (*ours == *hash) {
            ctx.respond(482, "Loop Detected");
            return;
        }
    }
    // Step 5: Proxy-Require. This proxy supports no proxy extension.
    auto tags = r.option_tags(sip::HeaderId::ProxyRequire);
    if (!tags.empty()) {
        std::string list;
        for (auto t : tags) {
            if (!list.empty()) list += ", ";
            list += t;
        }
        ctx.respond(420, "Bad Extension", {{"Unsupported", list}});
        return;
    }
}

void answer_options_to_self(RequestContext& ctx) {
    const auto& r = ctx.request;
    if (r.method() != sip::Method::Options || !ctx.ruri_local || !r.request_uri().user.empty())
        return;
    if (r.routes().size() > ctx.route_edit.own_routes) return;  // it goes further
    ctx.respond(200, "OK", self_answer_headers());
}

}  // namespace sipproxy::proxy
