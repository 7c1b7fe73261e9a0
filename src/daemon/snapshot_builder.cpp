#include "daemon/snapshot_builder.hpp"

#include <asio/ip/address.hpp>

namespace sipproxy::daemon {

std::vector<transport::Local> locals_of(const config::Config& cfg) {
    std::vector<transport::Local> out;
    for (const auto& l : cfg.server.listen) {
        transport::Protocol protocol;
        if (!transport::parse_protocol(l.scheme, protocol)) continue;  // validated by the config
        out.push_back(transport::Local::at(protocol, asio::ip::make_address(l.host), l.port));
    }
    return out;
}

transport::TlsSettings tls_settings(const config::Config& cfg) {
    transport::TlsSettings s;
    s.certificate = {"", cfg.tls.certificate.string(), cfg.tls.private_key.string()};
    for (const auto& c : cfg.tls.sni)
        s.sni.push_back({c.name, c.certificate.string(), c.private_key.string()});
    s.ca_file = cfg.tls.ca_file.string();
    s.verify_clients = cfg.tls.verify_clients;
    for (const auto& l : cfg.server.listen)
        if (l.scheme == "tls" && l.verify_clients)
            s.listener_verify[transport::listener_key(asio::ip::make_address(l.host).to_string(), l.port)] =
                *l.verify_clients;
    s.ciphers = cfg.tls.ciphers;
    return s;
}

namespace {

std::vector<routing::RouteSpec> route_specs(const config::Config& cfg) {
    std::vector<routing::RouteSpec> out;
    for (const auto& r : cfg.routes) {
        routing::RouteSpec s;
        s.name = r.name;
        s.regex = r.match;
        s.prefix = r.match_prefix;
        s.strip = r.strip;
        s.prepend = r.prefix;
        s.gateways = r.gateways;
        s.strategy = routing::parse_strategy(r.strategy).value_or(routing::Strategy::failover);
        s.timeout = r.timeout;
        s.sources = r.sources;
        s.users = r.users;
        s.domains = r.domains;
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace

std::vector<routing::GatewaySpec> gateway_specs(const config::Config& cfg) {
    std::vector<routing::GatewaySpec> out;
    for (const auto& g : cfg.gateways) {
        routing::GatewaySpec s;
        s.name = g.name;
        s.uri = g.uri;
        s.weight = g.weight;
        s.probe.enabled = g.probe;
        s.probe.interval = g.probe_interval;
        s.probe.failures_before_down = g.failures_before_down;
        s.probe.successes_before_up = g.successes_before_up;
        out.push_back(std::move(s));
    }
    return out;
}

Expected<std::shared_ptr<const proxy::Snapshot>, std::string> build_snapshot(
    std::shared_ptr<const config::Config> cfg, SnapshotInputs& inputs) {
    auto snap = std::make_shared<proxy::Snapshot>();
    snap->locality = std::make_shared<proxy::Locality>(cfg->server.domains, locals_of(*cfg));

    if (cfg->auth) {
        auth::AuthenticatorOptions o;
        o.realm = cfg->auth->realm;
        o.algorithms = cfg->auth->algorithms;
        o.nonce_ttl = cfg->auth->nonce_ttl;
        for (const auto& u : cfg->auth->users)
            o.users.push_back({u.user, u.password, u.ha1_md5, u.ha1_sha256, u.algorithms});
        if (inputs.subscribers && inputs.subscribers->realm() == o.realm)
            o.subscribers = inputs.subscribers;
        auto a = auth::Authenticator::create(std::move(o), inputs.secret, inputs.nonce_counts,
                                             inputs.nonce_failures);
        if (!a) return Unexpected(a.error());
        inputs.nonce_counts = (*a)->nonce_counts();
        inputs.nonce_failures = (*a)->nonce_failures();
        snap->authenticator = std::move(a.value());
        for (const auto& t : cfg->auth->trusted) {
            auto c = Cidr::parse(t);
            if (!c) return Unexpected("auth.trusted: " + c.error());
            snap->trusted.push_back(*c);
        }
    }

    auto plan = routing::DialPlan::build(route_specs(*cfg), gateway_specs(*cfg));
    if (!plan) return Unexpected(plan.error());
    snap->dial_plan = std::make_shared<const routing::DialPlan>(std::move(plan.value()));

    if (inputs.location) {
        registrar::RegistrarOptions ro;
        ro.min_expires = cfg->registrar.min_expires;
        ro.max_expires = cfg->registrar.max_expires;
        ro.default_expires = cfg->registrar.default_expires;
        ro.max_contacts = cfg->registrar.max_contacts;
        snap->registrar = std::make_shared<registrar::Registrar>(*inputs.location, ro);
    }
    snap->fork_timeout = cfg->transaction.fork_timeout;
    snap->config = std::move(cfg);
    return std::shared_ptr<const proxy::Snapshot>(std::move(snap));
}

}  // namespace sipproxy::daemon
