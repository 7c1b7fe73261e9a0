#include "proxy/call_registry.hpp"

#include <functional>

namespace sipproxy::proxy {

CallRegistry::Shard& CallRegistry::shard(std::string_view id) {
    return shards_[std::hash<std::string_view>{}(id) % shards_.size()];
}

void CallRegistry::on_call(CallEvent event, const CallRecord& call) {
    if (event == CallEvent::Refused) return;  // never in progress
    auto& s = shard(call.record_id);
    std::lock_guard lock(s.mu);
    if (is_final(event)) {
        s.calls.erase(call.record_id);
        return;
    }
    auto& info = s.calls[call.record_id];
    info.call_id = call.call_id;
    info.caller = call.caller;
    info.callee = call.callee;
    info.state = std::string(call.state());
    info.started = call.created;
    if (call.answered) info.answered = *call.answered;
}

std::vector<CallInfo> CallRegistry::list() const {
    std::vector<CallInfo> out;
    for (const auto& s : shards_) {
        std::lock_guard lock(s.mu);
        for (const auto& [k, v] : s.calls) out.push_back(v);
    }
    return out;
}

std::size_t CallRegistry::count() const {
    std::size_t n = 0;
    for (const auto& s : shards_) {
        std::lock_guard lock(s.mu);
        n += s.calls.size();
    }
    return n;
}

}  // namespace sipproxy::proxy
