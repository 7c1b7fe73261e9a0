#include "duration.hpp"

#include <charconv>

namespace sipproxyctl {

std::optional<std::int64_t> parse_duration(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::int64_t unit = 1;
    switch (text.back()) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: unit = 0;
    }
    if (unit) text.remove_suffix(1);
    else unit = 1;
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc{} || p != text.data() + text.size() || n <= 0 ||
        n > 10LL * 365 * 86400 / unit)
        return std::nullopt;
    return n * unit;
}

}  // namespace sipproxyctl
