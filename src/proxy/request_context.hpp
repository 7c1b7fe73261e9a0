#pragma once
// One request on its way through the pipeline: what the steps read, and what they
// decide.
#include <memory>
#include <string>

#include "proxy/decision.hpp"
#include "proxy/forwarder.hpp"
#include "proxy/services.hpp"
#include "proxy/snapshot.hpp"
#include "sip/message.hpp"
#include "transaction/server_transaction.hpp"

namespace sipproxy::proxy {

struct RequestContext {
    RequestContext(const sip::Message& r, const transport::Peer& src, const transport::Local& l,
                   const Snapshot& snap, Services& svc)
        : request(r), source(src), local(l), snapshot(snap), services(svc) {}

    const sip::Message& request;
    const transport::Peer& source;
    const transport::Local& local;
    const Snapshot& snapshot;
    Services& services;
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now();

    // Filled in by the steps as they go.
    RouteEdit route_edit;
    bool ruri_local = false;       // Request-URI names this proxy or one of its domains
    bool in_dialog = false;        // To has a tag
    bool dialog_proven = false;    // a Route of ours carries a valid dialog token for it
    bool trusted_source = false;   // source in auth.trusted
    std::string authenticated;     // the digest-authenticated user, or ""
    bool record_route = false;
    Decision decision;

    bool decided() const { return decision.kind != Decision::Kind::Undecided; }
    void respond(int status, std::string reason = {}, std::vector<sip::ExtraHeader> h = {}) {
        decision = Decision::respond(status, std::move(reason), std::move(h));
    }
};

}  // namespace sipproxy::proxy
