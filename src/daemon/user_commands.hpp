#pragma once
// `sipproxyctl user add|remove|list|passwd`: the users kept in users.db (HA1 only), managed
// while the daemon runs. The [[auth.users]] of the config file win for a name in both,
// so such a name cannot be added here.
#include <functional>
#include <memory>

#include "auth/subscriber_store.hpp"
#include "config/config.hpp"
#include "control/command.hpp"

namespace sipproxy::daemon {

struct UserCommandContext {
    // The configuration in force and the store of its realm (null without [auth]).
    std::function<std::shared_ptr<const config::Config>()> config;
    std::function<std::shared_ptr<auth::SubscriberStore>()> store;
};

void add_user_commands(control::CommandTable& table, UserCommandContext context);

}  // namespace sipproxy::daemon
