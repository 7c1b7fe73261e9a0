#include "daemon/security_policy.hpp"

#include <cctype>

namespace sipproxy::daemon {

std::shared_ptr<const ingress::Policy> security_policy(const config::Config& cfg) {
    auto p = std::make_shared<ingress::Policy>();
    const auto& s = cfg.security;
    for (const auto& n : s.allow_networks) p->allow.insert(n, true);
    // Trusted networks are never challenged; they are not rate-limited either.
    if (cfg.auth)
        for (const auto& n : cfg.auth->trusted_networks) p->allow.insert(n, true);
    for (const auto& n : s.deny_networks) p->deny.insert(n, true);
    for (const auto& n : s.deny_file_networks) p->deny.insert(n, true);
    p->flood_window = s.flood_window;
    p->flood_requests = s.flood_requests;
    p->ban_time = s.ban_time;
    for (auto agent : s.scanner_user_agents) {
        for (char& c : agent) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        p->scanner_user_agents.push_back(std::move(agent));
    }
    p->max_connections_per_source = s.max_connections_per_source;
    return p;
}

}  // namespace sipproxy::daemon
