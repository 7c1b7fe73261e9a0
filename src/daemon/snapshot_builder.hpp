#pragma once
// Builds the immutable proxy::Snapshot from a validated config: the locality test, the
// authenticator (keeping the daemon's nonce secret and nonce-count table across
// reloads, so clients need not re-authenticate), the trusted networks, the dial plan,
// the registrar options.
#include <memory>
#include <string>

#include "auth/nonce.hpp"
#include "auth/nonce_count_table.hpp"
#include "auth/nonce_failure_table.hpp"
#include "auth/subscriber_store.hpp"
#include "base/expected.hpp"
#include "config/config.hpp"
#include "proxy/snapshot.hpp"
#include "registrar/location_store.hpp"
#include "transport/tls_store.hpp"

namespace sipproxy::daemon {

struct SnapshotInputs {
    auth::NonceSecret secret = auth::NonceSecret::random();
    std::shared_ptr<auth::NonceCountTable> nonce_counts;
    std::shared_ptr<auth::NonceFailureTable> nonce_failures;
    // Users managed with `sipproxyctl user` (users.db in state_dir), for the realm in force.
    std::shared_ptr<auth::SubscriberStore> subscribers;
    registrar::LocationStore* location = nullptr;
};

// The listeners' advertised addresses (IPv6 in brackets).
std::vector<transport::Local> locals_of(const config::Config& cfg);
// [tls] as the transport reads it.
transport::TlsSettings tls_settings(const config::Config& cfg);
std::vector<routing::GatewaySpec> gateway_specs(const config::Config& cfg);

Expected<std::shared_ptr<const proxy::Snapshot>, std::string> build_snapshot(
    std::shared_ptr<const config::Config> cfg, SnapshotInputs& inputs);

}  // namespace sipproxy::daemon
