#pragma once
// Human output for each control command's result (the shapes are in
// docs/control-protocol.md). Scripts use --json instead, which prints the result as is.
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "table.hpp"

namespace sipproxyctl {

// `args` are the request's arguments, for messages such as "gateway carrier-a disabled".
void print_human(std::string_view cmd, const nlohmann::json& args, const nlohmann::json& result,
                 std::ostream& out);

// q as SIP writes it: "1.0", "0.5", "0.125"; "-" when absent.
std::string q_value(const nlohmann::json& q);

// The table `show registrations` prints, without rows, and one binding of its result as a
// row of it.
Table registrations_table();
std::vector<std::string> registration_row(const nlohmann::json& binding);

}  // namespace sipproxyctl
