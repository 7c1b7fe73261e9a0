#include "auth/failure_counters.hpp"

#include <algorithm>

namespace sipproxy::auth {

namespace {
std::string_view cut(std::string_view key) {
    return key.substr(0, FailureCounters::max_key_length);
}
}  // namespace

FailureCounters::Map::Map(std::size_t max_entries, std::size_t shards) {
    shards = std::max<std::size_t>(1, shards);
    shard_capacity_ = std::max<std::size_t>(1, max_entries / shards);
    for (std::size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

FailureCounters::Map::Shard& FailureCounters::Map::shard_of(std::string_view key) const {
    return *shards_[StringHash{}(key) % shards_.size()];
}

void FailureCounters::Map::bump(std::string_view key, Time now,
                                std::atomic<std::uint64_t>& evicted) {
    Shard& s = shard_of(key);
    std::lock_guard lock(s.mutex);
    if (auto it = s.index.find(key); it != s.index.end()) {
        auto node = it->second;
        ++node->failures;
        node->last = now;
        s.lru.splice(s.lru.begin(), s.lru, node);  // iterators and key views stay valid
        return;
    }
    if (s.index.size() >= shard_capacity_) {
        s.index.erase(std::string_view(s.lru.back().key));
        s.lru.pop_back();
        evicted.fetch_add(1, std::memory_order_relaxed);
    }
    s.lru.push_front(Entry{std::string(key), 1, now});
    s.index.emplace(std::string_view(s.lru.front().key), s.lru.begin());
}

std::uint64_t FailureCounters::Map::get(std::string_view key) const {
    Shard& s = shard_of(key);
    std::lock_guard lock(s.mutex);
    auto it = s.index.find(key);
    return it == s.index.end() ? 0 : it->second->failures;
}

void FailureCounters::Map::collect(std::vector<Entry>& out) const {
    for (const auto& s : shards_) {
        std::lock_guard lock(s->mutex);
        out.insert(out.end(), s->lru.begin(), s->lru.end());
    }
}

FailureCounters::FailureCounters(std::size_t max_entries, std::size_t shards)
    : sources_(max_entries, shards), users_(max_entries, shards) {}

void FailureCounters::record(std::string_view source, std::string_view user, Time now) {
    total_.fetch_add(1, std::memory_order_relaxed);
    if (!source.empty()) sources_.bump(cut(source), now, evicted_);
    if (!user.empty()) users_.bump(cut(user), now, evicted_);
}

std::uint64_t FailureCounters::failures_from(std::string_view source) const {
    return sources_.get(cut(source));
}

std::uint64_t FailureCounters::failures_for_user(std::string_view user) const {
    return users_.get(cut(user));
}

FailureCounters::Snapshot FailureCounters::snapshot(std::size_t top) const {
    Snapshot snap;
    snap.total = total_.load(std::memory_order_relaxed);
    snap.evicted = evicted_.load(std::memory_order_relaxed);
    auto most_first = [top](std::vector<Entry>& v) {
        auto by_failures = [](const Entry& a, const Entry& b) {
            return a.failures != b.failures ? a.failures > b.failures : a.key < b.key;
        };
        std::size_t n = std::min(top, v.size());
        std::partial_sort(v.begin(), v.begin() + std::ptrdiff_t(n), v.end(), by_failures);
        v.resize(n);
    };
    sources_.collect(snap.by_source);
    users_.collect(snap.by_user);
    most_first(snap.by_source);
    most_first(snap.by_user);
    return snap;
}

}  // namespace sipproxy::auth
