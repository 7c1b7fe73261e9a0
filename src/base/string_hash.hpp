#pragma once
// A transparent hash for std::string keys, so unordered containers can be searched with a
// std::string_view without building a std::string (use with std::equal_to<>).
#include <cstddef>
#include <functional>
#include <string_view>

namespace sipproxy {

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

}  // namespace sipproxy
