#include "base/throttled_log.hpp"

namespace sipproxy {

std::optional<std::uint64_t> ThrottledLog::note(std::string_view key, Clock::time_point now) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        if (entries_.size() >= max_keys_) {
            std::erase_if(entries_,
                          [&](const auto& e) { return now - e.second.logged >= interval_; });
            if (entries_.size() >= max_keys_) entries_.clear();
        }
        entries_.emplace(std::string(key), Entry{now, 0});
        return 1;
    }
    Entry& e = it->second;
    ++e.unreported;
    if (now - e.logged < interval_) return std::nullopt;
    const auto n = e.unreported;
    e.unreported = 0;
    e.logged = now;
    return n;
}

}  // namespace sipproxy
