#pragma once
// Authentication failures counted per source address and per claimed user name, for
// `sipproxyctl show stats` now and for blocking later.
//
// Memory bound: each map keeps at most `max_entries` keys (least recently failed are
// evicted first), keys are cut at `max_key_length` bytes, so a flood of spoofed sources or
// invented user names costs at most max_entries * (max_key_length + ~120) bytes per map.
// Sharded mutexes; thread-safe.
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/string_hash.hpp"
#include "auth/clock.hpp"

namespace sipproxy::auth {

class FailureCounters {
  public:
    static constexpr std::size_t max_key_length = 128;

    explicit FailureCounters(std::size_t max_entries = 16384, std::size_t shards = 16);

    // One failed attempt. `source` is e.g. "192.0.2.7" (no port: ports are cheap to change);
    // `user` may be empty when the request carried no parsable user name.
    void record(std::string_view source, std::string_view user, Time now);

    std::uint64_t failures_from(std::string_view source) const;
    std::uint64_t failures_for_user(std::string_view user) const;

    struct Entry {
        std::string key;
        std::uint64_t failures = 0;
        Time last{};
    };
    struct Snapshot {
        std::uint64_t total = 0;       // every failure ever recorded
        std::uint64_t evicted = 0;     // keys forgotten to stay within the bound
        std::vector<Entry> by_source;  // most failures first, at most `top`
        std::vector<Entry> by_user;
    };
    Snapshot snapshot(std::size_t top = 20) const;

  private:
    class Map {
      public:
        Map(std::size_t max_entries, std::size_t shards);
        void bump(std::string_view key, Time now, std::atomic<std::uint64_t>& evicted);
        std::uint64_t get(std::string_view key) const;
        void collect(std::vector<Entry>& out) const;

      private:
        struct Shard {
            mutable std::mutex mutex;
            std::list<Entry> lru;  // most recently failed at the front
            std::unordered_map<std::string_view, std::list<Entry>::iterator, StringHash> index;
        };
        Shard& shard_of(std::string_view key) const;

        std::size_t shard_capacity_;
        std::vector<std::unique_ptr<Shard>> shards_;
    };

    Map sources_;
    Map users_;
    std::atomic<std::uint64_t> total_{0};
    std::atomic<std::uint64_t> evicted_{0};
};

}  // namespace sipproxy::auth
