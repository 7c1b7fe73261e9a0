#pragma once
// Nonce-count replay protection (RFC 7616 3.3 "nc" and its replay-attack considerations in section
// 5): remembers the highest nc accepted per nonce; a request whose nc is not above it is a replay.
//
// Memory bound: at most `capacity` nonces are remembered, split over `shards` shards, each
// behind its own mutex. A nonce is remembered by a 64-bit hash of it (its text is not
// kept): an entry costs 40 bytes in an open-addressing table (SlotTable) plus 8 in the
// queue, so the default 65536 entries stay under ~6 MB, and a shard's table shrinks again
// after a load. Two nonces with the same hash (2^-64 per pair; nonces are the proxy's own,
// checked before they get here) share one nc: the later one may be refused as a replay,
// never accepted wrongly.
//
// When a shard is full the entry used first is forgotten, and the shard raises a watermark
// to that nonce's issue time: a nonce not in the table and issued at or before the
// watermark is refused (treated as stale, so the client gets a fresh nonce). Forgetting an
// entry therefore never re-opens a replay. Entries expire with the nonce TTL.
//
// Callers record only after the response was verified, so only users who know a password
// can add entries.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "auth/clock.hpp"
#include "base/slot_table.hpp"

namespace sipproxy::auth {

class NonceCountTable {
  public:
    explicit NonceCountTable(std::size_t capacity = 65536, std::size_t shards = 16);

    enum class Result {
        accepted,  // nc is above every nc seen for this nonce; now remembered
        replay,    // nc already used (or lower), or the nonce was forgotten under pressure
    };

    // `issued` and `expires` come from the nonce check (expires = issued + TTL).
    // Thread-safe.
    Result advance(std::string_view nonce, std::uint32_t nc, Time issued, Time expires, Time now);

    // Told of every accepted nc, outside the table's locks (a cluster shares them with the
    // other nodes). Set once, before the table is used.
    using Accepted = std::function<void(std::string_view nonce, std::uint32_t nc, Time issued,
                                        Time expires)>;
    void on_accepted(Accepted f) { on_accepted_ = std::move(f); }
    // An nc another node accepted: remembered like advance(), without telling on_accepted.
    void remember(std::string_view nonce, std::uint32_t nc, Time issued, Time expires, Time now) {
        (void)record(nonce, nc, issued, expires, now);
    }

    std::size_t size() const;  // entries currently remembered (all shards)
    std::size_t capacity() const { return shard_capacity_ * shards_.size(); }

  private:
    struct Entry {
        std::uint32_t last_nc;
        Time issued;
        Time expires;
    };
    struct Shard {
        mutable std::mutex mutex;
        SlotTable<Entry, std::uint64_t> entries{16};  // by the nonce's hash
        std::deque<std::uint64_t> order;              // entries in first-use order
        Time watermark{};                      // issue time of the newest forgotten nonce
        bool forgot_any = false;
    };

    void forget_front(Shard& s);
    Result record(std::string_view nonce, std::uint32_t nc, Time issued, Time expires, Time now);
    Accepted on_accepted_;

    std::size_t shard_capacity_;
    std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace sipproxy::auth
