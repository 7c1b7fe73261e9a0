// The request pipeline's own cost (pipeline.cpp), without the transport and transactions:
// a REGISTER refresh with the memory store and an INVITE to the registered user (found,
// forwarded), through run_pipeline and, interleaved in the same process, through the
// pipeline loop as it was before steps could suspend (no step index, no suspension check),
// so the machine's noise hits both alike. Prints the best of several rounds in ns per
// request. Usage: proxy_bench [requests per round] [rounds]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "proxy/pipeline.hpp"
#include "registrar/memory_location_store.hpp"

using namespace sipproxy;
using namespace sipproxy::proxy;
using Clock = std::chrono::steady_clock;

namespace {

// The loop before issue #15 item 1, for comparison: the same steps, run to a decision.
void synchronous_pipeline(RequestContext& ctx) {
    static constexpr Step steps[] = {
        validate_request,       preprocess_routes, route_to_flow,
        answer_options_to_self, authenticate,      forward_in_dialog,
        check_preloaded_route,  register_binding,  find_registered_targets,
        apply_dial_plan,        forward_to_host,   answer_unknown_user,
    };
    for (Step step : steps) {
        step(ctx);
        if (ctx.decided()) break;
    }
    if (!ctx.decided()) {
        ctx.respond(500, "No routing decision");
        return;
    }
    check_fraud_limits(ctx);
}

sip::Message parse(const std::string& text) {
    auto m = sip::parse(text, false);
    if (!m) {
        std::fprintf(stderr, "bench message does not parse\n");
        std::exit(1);
    }
    return std::move(m).value();
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200000;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 7;

    registrar::MemoryLocationStore store;
    auto snap = std::make_shared<Snapshot>();
    auto cfg = std::make_shared<config::Config>();
    cfg->registrar.store = "memory";
    snap->config = cfg;
    snap->locality = std::make_shared<Locality>(
        std::vector<std::string>{"example.test"},
        std::vector<transport::Local>{transport::Local::at(
            transport::Protocol::Udp, asio::ip::make_address("127.0.0.1"), 5060)});
    auto plan = routing::DialPlan::build({}, {});
    snap->dial_plan = std::make_shared<const routing::DialPlan>(std::move(plan.value()));
    snap->registrar = std::make_shared<registrar::Registrar>(store, registrar::RegistrarOptions{});
    Services services;

    transport::Peer source;
    source.address = asio::ip::make_address("127.0.0.1");
    source.port = 5070;
    const auto local = snap->locality->locals().front();
    const sip::Message reg = parse(
        "REGISTER sip:example.test SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-reg;rport\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:bob@example.test>;tag=r1\r\nTo: <sip:bob@example.test>\r\n"
        "Call-ID: bench-reg\r\nCSeq: 1 REGISTER\r\nContact: <sip:bob@127.0.0.1:5070>\r\n"
        "Expires: 3600\r\nContent-Length: 0\r\n\r\n");
    const sip::Message inv = parse(
        "INVITE sip:bob@example.test SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-inv;rport\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:alice@example.test>;tag=i1\r\nTo: "
        "<sip:bob@example.test>\r\n"
        "Call-ID: bench-inv\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@127.0.0.1:5080>\r\n"
        "Content-Length: 0\r\n\r\n");

    std::size_t checksum = 0;
    auto time = [&](const sip::Message& m, bool suspendable) {
        auto t = Clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            RequestContext ctx{m, source, local, *snap, services};
            if (suspendable) {
                if (!run_pipeline(ctx)) std::abort();  // nothing suspends here
            } else {
                synchronous_pipeline(ctx);
            }
            checksum += static_cast<std::size_t>(ctx.decision.status) + ctx.decision.groups.size();
        }
        return std::chrono::duration<double, std::nano>(Clock::now() - t).count() / double(n);
    };
    time(reg, true);  // bob registered
    double best[2][2] = {{1e18, 1e18}, {1e18, 1e18}};
    for (int r = 0; r < rounds; ++r)
        for (int s = 0; s < 2; ++s) {
            best[0][s] = std::min(best[0][s], time(reg, s == 1));
            best[1][s] = std::min(best[1][s], time(inv, s == 1));
        }
    std::printf("pipeline, best of %d rounds of %zu requests (ns per request)\n", rounds, n);
    std::printf(
        "  REGISTER refresh (memory store): synchronous loop %.0f, suspendable %.0f (%+.1f %%)\n",
        best[0][0], best[0][1], 100.0 * (best[0][1] / best[0][0] - 1));
    std::printf(
        "  INVITE to a registered user:     synchronous loop %.0f, suspendable %.0f (%+.1f %%)\n",
        best[1][0], best[1][1], 100.0 * (best[1][1] / best[1][0] - 1));
    std::printf("(checksum %zu)\n", checksum);
    return 0;
}
