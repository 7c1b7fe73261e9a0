#include "auth/nonce_failure_table.hpp"

#include <algorithm>

namespace sipproxy::auth {

NonceFailureTable::NonceFailureTable(unsigned limit, std::size_t capacity, std::size_t shards)
    : limit_(std::max(1u, limit)) {
    shards = std::max<std::size_t>(1, shards);
    shard_capacity_ = std::max<std::size_t>(1, capacity / shards);
    shards_.reserve(shards);
    for (std::size_t i = 0; i < shards; ++i) {
        shards_.push_back(std::make_unique<Shard>());
        shards_.back()->entries.reserve(shard_capacity_ + 1);
    }
}

void NonceFailureTable::record(std::string_view nonce, Time expires, Time now) {
    Shard& s = shard_of(nonce);
    std::lock_guard lock(s.mutex);
    if (auto it = s.entries.find(nonce); it != s.entries.end()) {
        if (it->second.failures < limit_) ++it->second.failures;
        return;
    }
    // Expired nonces at the head are refused as stale before they get here.
    while (!s.order.empty() && s.order.front()->second.expires < now) {
        s.entries.erase(s.order.front());
        s.order.pop_front();
    }
    while (s.entries.size() >= shard_capacity_ && !s.order.empty()) {
        s.entries.erase(s.order.front());
        s.order.pop_front();
    }
    auto [it, inserted] = s.entries.emplace(std::string(nonce), Entry{1, expires});
    (void)inserted;
    s.order.push_back(it);
}

bool NonceFailureTable::spent(std::string_view nonce) const {
    const Shard& s = shard_of(nonce);
    std::lock_guard lock(s.mutex);
    auto it = s.entries.find(nonce);
    return it != s.entries.end() && it->second.failures >= limit_;
}

std::size_t NonceFailureTable::size() const {
    std::size_t n = 0;
    for (const auto& s : shards_) {
        std::lock_guard lock(s->mutex);
        n += s->entries.size();
    }
    return n;
}

}  // namespace sipproxy::auth
