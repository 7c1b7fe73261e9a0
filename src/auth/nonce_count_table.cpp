#include "auth/nonce_count_table.hpp"

#include <algorithm>

namespace sipproxy::auth {

namespace {
constexpr std::chrono::seconds expiry_margin{2};
}  // namespace

NonceCountTable::NonceCountTable(std::size_t capacity, std::size_t shards) {
    shards = std::max<std::size_t>(1, shards);
    shard_capacity_ = std::max<std::size_t>(1, capacity / shards);
    shards_.reserve(shards);
    for (std::size_t i = 0; i < shards; ++i) {
        shards_.push_back(std::make_unique<Shard>());
    }
}

void NonceCountTable::forget_front(Shard& s) {
    if (auto* e = s.entries.find(s.order.front())) s.entries.erase(e);
    s.order.pop_front();
    s.entries.shrink();  // after a load (a no-op unless the table is mostly empty)
}

NonceCountTable::Result NonceCountTable::advance(std::string_view nonce, std::uint32_t nc,
                                                 Time issued, Time expires, Time now) {
    Result r = record(nonce, nc, issued, expires, now);
    if (r == Result::accepted && on_accepted_) on_accepted_(nonce, nc, issued, expires);
    return r;
}

NonceCountTable::Result NonceCountTable::record(std::string_view nonce, std::uint32_t nc,
                                                Time issued, Time expires, Time now) {
    const std::uint64_t hash = std::hash<std::string_view>{}(nonce);
    // The shard by other bits than those the shard's table probes with.
    Shard& s = *shards_[(hash >> 40) % shards_.size()];
    std::lock_guard lock(s.mutex);

    if (auto* e = s.entries.find(hash)) {
        if (nc <= e->second.last_nc) return Result::replay;
        e->second.last_nc = nc;
        return Result::accepted;
    }

    // Unknown nonce: was it possibly forgotten under pressure? Then its old nc values are
    // unknown, so refuse it (RFC 7616 3.3: the server may treat it as stale).
    if (s.forgot_any && issued <= s.watermark) return Result::replay;

    // Drop expired entries at the head: an expired nonce is refused as stale before it gets
    // here. The margin covers the nonce check's whole-second rounding.
    while (!s.order.empty()) {
        const auto* front = s.entries.find(s.order.front());
        if (front && now < front->second.expires + expiry_margin) break;
        forget_front(s);
    }
    while (s.entries.size() >= shard_capacity_ && !s.order.empty()) {
        if (const auto* front = s.entries.find(s.order.front());
            front && (!s.forgot_any || front->second.issued > s.watermark)) {
            s.watermark = front->second.issued;
            s.forgot_any = true;
        }
        forget_front(s);
    }

    s.entries.emplace(std::uint64_t{hash}, Entry{nc, issued, expires});
    s.order.push_back(hash);
    return Result::accepted;
}

std::size_t NonceCountTable::size() const {
    std::size_t n = 0;
    for (const auto& s : shards_) {
        std::lock_guard lock(s->mutex);
        n += s->entries.size();
    }
    return n;
}

}  // namespace sipproxy::auth
