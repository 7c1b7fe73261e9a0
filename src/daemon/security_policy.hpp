#pragma once
// The ingress policy of a validated config: [security] and auth.trusted.
#include <memory>

#include "config/config.hpp"
#include "ingress/policy.hpp"

namespace sipproxy::daemon {

std::shared_ptr<const ingress::Policy> security_policy(const config::Config& cfg);

}  // namespace sipproxy::daemon
