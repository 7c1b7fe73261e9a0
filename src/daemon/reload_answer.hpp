#pragma once
// The reload command's answer (sipproxyctl(8), JSON OUTPUT): what changed as
// {key, old, new} objects (null for a value that is absent: a member added or removed),
// and the keys that take effect only at the next start.
#include <vector>

#include <nlohmann/json.hpp>

#include "config/changes.hpp"

namespace sipproxy::daemon {

// `restart_needed`: the restart-only keys still pending (config::restart_pending()).
nlohmann::json reload_answer(const std::vector<config::Change>& changes,
                             const std::vector<std::string>& restart_needed);

}  // namespace sipproxy::daemon
