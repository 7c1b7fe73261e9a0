// The location service (RFC 3261 16.5): a local user's live bindings become the targets.
// Equal q-values ring in parallel; different q-values ring group by group, highest
// first (sequential forking).
#include "proxy/pipeline.hpp"
#include "registrar/registrar.hpp"

namespace sipproxy::proxy {

std::string local_aor(const sip::Uri& u, const Locality& locality);

void find_registered_targets(RequestContext& ctx) {
    const auto& r = ctx.request;
    const auto& ruri = r.request_uri();
    if (!ctx.ruri_local || ruri.user.empty() || r.method() == sip::Method::Register) return;
    if (ctx.route_edit.strict_fix) return;
    auto* registrar = ctx.snapshot.registrar.get();
    if (!registrar) return;
    auto bindings = registrar->lookup(local_aor(ruri, *ctx.snapshot.locality), ctx.now);
    if (bindings.empty()) return;
    registrar::sort_by_preference(bindings);  // highest q first

    std::vector<std::vector<Target>> groups;
    std::uint16_t group_q = 0xffff;
    for (const auto& b : bindings) {
        Target t;
        t.request_uri = b.contact;
        t.routes = b.path;
        // The Path entry this node added for a connection it holds (register_binding.cpp)
        // is for the other nodes: here the connection is used directly.
        if (!t.routes.empty() && t.routes.front().find(PathTokens::flow_param) != std::string::npos) {
            const std::string_view entry = t.routes.front();
            const auto open = entry.find('<'), close = entry.rfind('>');
            auto uri = sip::parse_uri(open != std::string_view::npos && close > open
                                          ? entry.substr(open + 1, close - open - 1)
                                          : entry);
            if (uri && ctx.snapshot.locality->is_own_address(uri->host, uri->port))
                t.routes.erase(t.routes.begin());
        }
        t.label = "binding " + b.contact;
        if (t.routes.empty() && !b.source_address.empty()) {
            // Reach the device where its REGISTER came from (RFC 3581, RFC 5626 flows).
            transport::Peer p;
            asio::error_code ec;
            p.address = asio::ip::make_address(b.source_address, ec);
            if (!ec && transport::parse_protocol(b.transport, p.protocol)) {
                p.port = b.source_port;
                p.connection = b.flow_id;
                t.destination = p;
            }
        }
        if (groups.empty() || b.q_permille != group_q) {
            groups.emplace_back();
            group_q = b.q_permille;
        }
        groups.back().push_back(std::move(t));
    }
    ctx.decision = Decision::forward(std::move(groups), FailoverPolicy::AnyFailure);
    // Sequential forking: each group rings for the no-answer time, then the next.
    if (ctx.decision.groups.size() > 1) ctx.decision.branch_timeout = ctx.snapshot.fork_timeout;
}

}  // namespace sipproxy::proxy
