#include "daemon/limit_commands.hpp"

namespace sipproxy::daemon {

using nlohmann::json;

void add_limit_commands(control::CommandTable& t, LimitCommandContext c) {
    t["show_limits"] = [c](const json& a) {
        const auto user = control::optional_string(a, "user");
        const auto cfg = c.config();
        json rows = json::array();
        auto threshold = [](std::uint32_t v) { return v ? json(v) : json(nullptr); };
        for (const auto& r : c.limits->list(cfg->fraud, user, fraud::Clock::now()))
            rows.push_back({{"user", r.scope.total ? "*" : r.scope.user},
                            {"route", r.scope.route.empty() ? "*" : r.scope.route},
                            {"scope", r.scope.total ? "total" : "user"},
                            {"limit", std::string(fraud::to_string(r.limit))},
                            {"value", r.value},
                            {"warning", threshold(r.warning)},
                            {"critical", threshold(r.critical)}});
        return json{{"limits", rows}};
    };
}

}  // namespace sipproxy::daemon
