#include "trace/call_matcher.hpp"

#include "sip/uri.hpp"

namespace sipproxy::trace {

namespace {

bool same_user(std::string_view wire, const std::string& wanted) {
    if (wire.empty()) return false;
    if (wire == wanted) return true;
    // RFC 3261 19.1.4: users compare unescaped.
    return wire.find('%') != std::string_view::npos && sip::unescape(wire) == wanted;
}

}  // namespace

CallMatcher::CallMatcher(TraceFilter filter, std::size_t max_calls)
    : filter_(std::move(filter)),
      max_calls_(max_calls),
      sticky_(filter_.user.has_value() || filter_.source.has_value()) {}

bool CallMatcher::criteria_hold(Direction direction, const AddressKey& remote,
                                const TraceKeys& keys) const {
    if (filter_.call_id && keys.call_id != *filter_.call_id) return false;
    if (filter_.user && !same_user(keys.from_user, *filter_.user) &&
        !same_user(keys.to_user, *filter_.user))
        return false;
    if (filter_.source) {
        if (direction != Direction::In) return false;
        IpFamily family;
        const auto bytes = remote.bytes(family);
        if (!filter_.source->contains(bytes, family)) return false;
    }
    return true;
}

bool CallMatcher::matches(Direction direction, const AddressKey& remote, const TraceKeys& keys) {
    if (sticky_ && !keys.call_id.empty() && calls_.find(keys.call_id) != calls_.end()) return true;
    if (!criteria_hold(direction, remote, keys)) return false;
    if (sticky_ && !keys.call_id.empty()) remember(keys.call_id);
    return true;
}

void CallMatcher::remember(std::string_view call_id) {
    if (max_calls_ == 0) return;
    if (calls_.size() >= max_calls_) {
        calls_.erase(order_.front());
        order_.pop_front();
    }
    order_.emplace_back(call_id);
    calls_.emplace(call_id);
}

}  // namespace sipproxy::trace
