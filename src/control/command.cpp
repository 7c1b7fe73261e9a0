#include "control/command.hpp"

namespace sipproxy::control {

namespace {

const nlohmann::json* find_arg(const nlohmann::json& args, std::string_view name) {
    if (!args.is_object()) return nullptr;
    auto it = args.find(name);
    if (it == args.end() || it->is_null()) return nullptr;
    return &*it;
}

}  // namespace

std::string required_string(const nlohmann::json& args, std::string_view name) {
    auto value = optional_string(args, name);
    if (!value) throw CommandError("missing argument '" + std::string(name) + "'");
    return *value;
}

std::optional<std::string> optional_string(const nlohmann::json& args, std::string_view name) {
    const auto* arg = find_arg(args, name);
    if (!arg) return std::nullopt;
    if (!arg->is_string())
        throw CommandError("argument '" + std::string(name) + "' must be a string");
    return arg->get<std::string>();
}

std::optional<std::int64_t> optional_integer(const nlohmann::json& args, std::string_view name) {
    const auto* arg = find_arg(args, name);
    if (!arg) return std::nullopt;
    if (!arg->is_number_integer())
        throw CommandError("argument '" + std::string(name) + "' must be an integer");
    return arg->get<std::int64_t>();
}

}  // namespace sipproxy::control
