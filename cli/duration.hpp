#pragma once
// Durations as an operator types them: "300" (seconds), "90s", "10m", "2h", "7d".
#include <cstdint>
#include <optional>
#include <string_view>

namespace sipproxyctl {

std::optional<std::int64_t> parse_duration(std::string_view text);

}  // namespace sipproxyctl
