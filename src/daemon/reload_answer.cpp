#include "daemon/reload_answer.hpp"

namespace sipproxy::daemon {

namespace {
nlohmann::json value(const config::ChangeValue& v) {
    return std::visit(
        [](const auto& x) -> nlohmann::json {
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::monostate>)
                return nullptr;
            else
                return x;
        },
        v);
}
}  // namespace

nlohmann::json reload_answer(const std::vector<config::Change>& changes,
                             const std::vector<std::string>& restart_needed) {
    auto changed = nlohmann::json::array();
    for (const auto& c : changes)
        changed.push_back({{"key", c.key}, {"old", value(c.before)}, {"new", value(c.after)}});
    return {{"changed", std::move(changed)}, {"restart_needed", restart_needed}};
}

}  // namespace sipproxy::daemon
