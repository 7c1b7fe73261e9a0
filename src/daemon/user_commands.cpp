#include "daemon/user_commands.hpp"

#include <algorithm>

#include "auth/digest.hpp"
#include "base/log.hpp"

namespace sipproxy::daemon {

using nlohmann::json;

namespace {

auth::SubscriberStore& store_of(const UserCommandContext& c) {
    auto s = c.store();
    if (!s)
        throw control::CommandError(
            "no [auth] section: users cannot be authenticated, so none can be managed");
    return *s;
}

bool in_config(const config::Config& cfg, const std::string& name) {
    return cfg.auth && std::any_of(cfg.auth->users.begin(), cfg.auth->users.end(),
                                   [&](const config::User& u) { return u.user == name; });
}

// The HA1s from "password" (hashed here with the realm; never stored) or from
// "ha1_md5"/"ha1_sha256" as given.
std::pair<std::string, std::string> ha1s(const json& args, const std::string& user,
                                         const std::string& realm) {
    auto password = control::optional_string(args, "password");
    auto md5 = control::optional_string(args, "ha1_md5");
    auto sha256 = control::optional_string(args, "ha1_sha256");
    if (password && (md5 || sha256))
        throw control::CommandError("give either password or ha1_md5/ha1_sha256, not both");
    if (password) {
        if (password->empty()) throw control::CommandError("the password is empty");
        return {auth::compute_ha1(auth::Algorithm::md5, user, realm, *password).str(),
                auth::compute_ha1(auth::Algorithm::sha256, user, realm, *password).str()};
    }
    if (!md5 && !sha256) throw control::CommandError("missing argument 'password' (or 'ha1_md5'/'ha1_sha256')");
    return {md5.value_or(""), sha256.value_or("")};
}

}  // namespace

void add_user_commands(control::CommandTable& t, UserCommandContext c) {
    t["user_add"] = [c](const json& a) {
        auto& store = store_of(c);
        auto user = control::required_string(a, "user");
        if (in_config(*c.config(), user))
            throw control::CommandError("user " + user +
                                        " is in the config file's [[auth.users]], which wins; "
                                        "change it there");
        auto [md5, sha256] = ha1s(a, user, store.realm());
        if (auto error = store.put(user, std::move(md5), std::move(sha256), false))
            throw control::CommandError(*error);
        log::info("user {} added by the operator", user);
        return json::object();
    };
    t["user_passwd"] = [c](const json& a) {
        auto& store = store_of(c);
        auto user = control::required_string(a, "user");
        if (in_config(*c.config(), user))
            throw control::CommandError("user " + user + " is in the config file; change it there");
        auto [md5, sha256] = ha1s(a, user, store.realm());
        if (auto error = store.put(user, std::move(md5), std::move(sha256), true))
            throw control::CommandError(*error);
        log::info("user {}: credentials changed by the operator", user);
        return json::object();
    };
    t["user_remove"] = [c](const json& a) {
        auto& store = store_of(c);
        auto user = control::required_string(a, "user");
        if (auto error = store.remove(user)) throw control::CommandError(*error);
        log::info("user {} removed by the operator", user);
        return json::object();
    };
    t["user_list"] = [c](const json&) {
        json users = json::array();
        const auto cfg = c.config();
        if (cfg->auth)
            for (const auto& u : cfg->auth->users)
                users.push_back({{"user", u.user},
                                 {"source", "config"},
                                 {"md5", !u.password.empty() || !u.ha1_md5.empty()},
                                 {"sha256", !u.password.empty() || !u.ha1_sha256.empty()},
                                 {"updated_ms", nullptr}});
        if (auto store = c.store())
            for (const auto& u : store->list()) {
                if (in_config(*cfg, u.name)) continue;  // shadowed: the config's wins
                users.push_back({{"user", u.name},
                                 {"source", "database"},
                                 {"md5", u.md5},
                                 {"sha256", u.sha256},
                                 {"updated_ms", u.updated_ms}});
            }
        std::sort(users.begin(), users.end(), [](const json& x, const json& y) {
            return x["user"].get<std::string>() < y["user"].get<std::string>();
        });
        return json{{"users", users}};
    };
}

}  // namespace sipproxy::daemon
