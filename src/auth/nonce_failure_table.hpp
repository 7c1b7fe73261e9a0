#pragma once
// Failed attempts per nonce (RFC 7616 5.4 "Limited-Use Nonce Values"): a nonce that took
// `limit` wrong responses is spent; the right password on it then gets stale=true and a
// fresh nonce, so guessing on one nonce stops after a few tries.
//
// Anyone can add entries (a wrong guess needs no password), so the table is bounded:
// at most `capacity` nonces over `shards` shards behind their own mutexes, the oldest
// forgotten first, entries dropped when their nonce expires. A forgotten nonce starts
// again at zero: to win `limit` more guesses on it, a peer must first push a whole
// shard of other nonces through the table.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/clock.hpp"
#include "base/string_hash.hpp"

namespace sipproxy::auth {

class NonceFailureTable {
  public:
    static constexpr unsigned default_limit = 5;

    explicit NonceFailureTable(unsigned limit = default_limit, std::size_t capacity = 65536,
                               std::size_t shards = 16);

    // One more failed attempt on `nonce` (which expires at `expires`). Thread-safe.
    void record(std::string_view nonce, Time expires, Time now);
    // The nonce took `limit` failures already. Thread-safe.
    bool spent(std::string_view nonce) const;

    unsigned limit() const { return limit_; }
    std::size_t size() const;
    std::size_t capacity() const { return shard_capacity_ * shards_.size(); }

  private:
    struct Entry {
        unsigned failures;
        Time expires;
    };
    struct Shard {
        mutable std::mutex mutex;
        using Map = std::unordered_map<std::string, Entry, StringHash, std::equal_to<>>;
        Map entries;  // reserved to capacity: never rehashed, iterators stay valid
        std::deque<Map::iterator> order;  // first failure first
    };
    Shard& shard_of(std::string_view nonce) const {
        return *shards_[StringHash{}(nonce) % shards_.size()];
    }

    unsigned limit_;
    std::size_t shard_capacity_;
    std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace sipproxy::auth
