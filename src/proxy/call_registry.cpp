#include "proxy/call_registry.hpp"

#include <functional>

namespace sipproxy::proxy {

CallRegistry::Shard& CallRegistry::shard(std::string_view id) {
    return shards_[std::hash<std::string_view>{}(id) % shards_.size()];
}

void CallRegistry::begin(std::string_view id, std::string_view caller, std::string_view callee) {
    auto& s = shard(id);
    std::lock_guard lock(s.mu);
    auto [it, inserted] = s.calls.try_emplace(std::string(id));
    if (!inserted) return;  // a re-INVITE or a spiral: the call is known already
    it->second = CallInfo{std::string(id), std::string(caller), std::string(callee), "trying",
                          std::chrono::steady_clock::now(), {}};
}

void CallRegistry::ringing(std::string_view id) {
    auto& s = shard(id);
    std::lock_guard lock(s.mu);
    if (auto it = s.calls.find(std::string(id)); it != s.calls.end() && it->second.state == "trying")
        it->second.state = "ringing";
}

void CallRegistry::answered(std::string_view id) {
    auto& s = shard(id);
    std::lock_guard lock(s.mu);
    if (auto it = s.calls.find(std::string(id)); it != s.calls.end() && it->second.state != "confirmed") {
        it->second.state = "confirmed";
        it->second.answered = std::chrono::steady_clock::now();
    }
}

void CallRegistry::end(std::string_view id) {
    auto& s = shard(id);
    std::lock_guard lock(s.mu);
    s.calls.erase(std::string(id));
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

void CallRegistry::purge_older_than(std::chrono::hours max_age) {
    const auto cutoff = std::chrono::steady_clock::now() - max_age;
    for (auto& s : shards_) {
        std::lock_guard lock(s.mu);
        std::erase_if(s.calls, [&](const auto& kv) { return kv.second.started < cutoff; });
    }
}

}  // namespace sipproxy::proxy
