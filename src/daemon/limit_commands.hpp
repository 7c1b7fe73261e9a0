#pragma once
// `sipproxyctl show limits [USER]`: the [[fraud]] counters, per user (or all users) and
// route, with the thresholds in force (docs/control-protocol.md).
#include <functional>
#include <memory>

#include "config/config.hpp"
#include "control/command.hpp"
#include "fraud/call_limits.hpp"

namespace sipproxy::daemon {

struct LimitCommandContext {
    std::function<std::shared_ptr<const config::Config>()> config;  // the one in force
    fraud::CallLimits* limits = nullptr;
};

void add_limit_commands(control::CommandTable& table, LimitCommandContext context);

}  // namespace sipproxy::daemon
