#include "proxy/refusal_log.hpp"

#include "base/log.hpp"
#include "proxy/pipeline.hpp"

namespace sipproxy::proxy {

RefusalLog::RefusalLog(std::chrono::seconds interval, std::size_t max_sources)
    : interval_(interval), max_sources_(max_sources) {}

std::optional<std::uint64_t> RefusalLog::note(Refusal reason, std::string_view source,
                                              Clock::time_point now) {
    std::string key(refusal_name(reason));
    key += '|';
    key.append(source.substr(0, 64));
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        if (entries_.size() >= max_sources_) {
            // Forget sources whose interval is over; when all are recent (a flood from
            // many addresses), forget everything: a few extra lines, bounded memory.
            std::erase_if(entries_,
                          [&](const auto& e) { return now - e.second.logged >= interval_; });
            if (entries_.size() >= max_sources_) entries_.clear();
        }
        entries_.emplace(std::move(key), Entry{now, 0});
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

void refuse(Services& services, Refusal reason, const transport::Peer& from,
            std::string_view what) {
    services.stats.refused(reason);
    const std::string source = transport::address_text(from.address);
    if (auto n = services.refusals.note(reason, source, RefusalLog::Clock::now())) {
        if (*n == 1)
            log::info("refused ({}) from {}: {}", refusal_name(reason), from.to_string(), what);
        else
            log::info("refused ({}) from {}: {} ({} times since the last line)",
                      refusal_name(reason), from.to_string(), what, *n);
    }
}

}  // namespace sipproxy::proxy
