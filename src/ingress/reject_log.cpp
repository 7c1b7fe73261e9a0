#include "ingress/reject_log.hpp"

#include "base/log.hpp"

namespace sipproxy::ingress {

namespace {
std::string source_text(const AddressKey& k) {
    IpFamily f;
    auto b = k.bytes(f);
    Cidr c;
    c.family = f;
    c.network = b;
    c.prefix = f == IpFamily::v4 ? 32 : 128;
    std::string s = c.to_string();
    return s.substr(0, s.find('/'));
}
}  // namespace

void RejectLog::emit(const AddressKey& source, std::string_view reason, std::uint64_t count,
                     bool summary) {
    ++lines_;
    ++lines_this_interval_;
    if (summary)
        log::info("rejected: source={} reason=\"{}\" count={} interval={}s", source_text(source),
                  reason, count, options_.interval.count());
    else
        log::info("rejected: source={} reason=\"{}\" count={}", source_text(source), reason, count);
}

void RejectLog::record(const AddressKey& source, std::string_view reason, Clock::time_point now) {
    tick(now);
    Key key{source, reason.data(), reason.size()};
    if (auto it = suppressed_.find(key); it != suppressed_.end()) {
        ++it->second;
        return;
    }
    if (lines_this_interval_ < options_.budget && suppressed_.size() < options_.max_sources) {
        suppressed_.emplace(key, 0);
        emit(source, reason, 1, false);
        return;
    }
    ++over_budget_;
    if (over_budget_sources_.size() < options_.max_sources) over_budget_sources_.emplace(source, true);
}

void RejectLog::tick(Clock::time_point now) {
    if (interval_start_ == Clock::time_point{}) interval_start_ = now;
    if (now - interval_start_ < options_.interval) return;
    interval_start_ = now;
    lines_this_interval_ = 0;
    // The counts of the interval that ended: also bounded by the budget.
    std::uint64_t unlogged = over_budget_;
    std::size_t unlogged_sources = over_budget_sources_.size();
    // A source still rejected keeps its entry, so a flood that goes on writes one line
    // per interval; one that went quiet is forgotten.
    for (auto it = suppressed_.begin(); it != suppressed_.end();) {
        if (it->second == 0) {
            it = suppressed_.erase(it);
            continue;
        }
        if (lines_this_interval_ < options_.budget) {
            emit(it->first.source, std::string_view(it->first.reason, it->first.length),
                 it->second, true);
        } else {
            unlogged += it->second;
            ++unlogged_sources;
        }
        it->second = 0;
        ++it;
    }
    if (unlogged) {
        ++lines_;
        log::info("rejected: {} more from {}{} sources not logged one by one interval={}s",
                  unlogged, unlogged_sources >= options_.max_sources ? "at least " : "",
                  unlogged_sources, options_.interval.count());
    }
    over_budget_ = 0;
    over_budget_sources_.clear();
    // The summary lines count against the new interval's budget too.
}

}  // namespace sipproxy::ingress
