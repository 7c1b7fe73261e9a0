#pragma once
// Password guessing, counted per source: a source that fails authentication
// `max_failures` times within `window` is to be banned (the caller bans it; the ingress
// then drops it before any digest is computed). A success from the source forgets its
// failures, so a phone whose user mistyped the password once is not punished for it.
// Bounded: at most `max_sources` sources are remembered (the oldest window is dropped
// first), so a spoofed-source flood of bad credentials costs a fixed amount of memory.
// Thread-safe.
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/clock.hpp"
#include "base/string_hash.hpp"

namespace sipproxy::auth {

class GuessLimiter {
  public:
    explicit GuessLimiter(std::size_t max_sources = 65536) : max_sources_(max_sources) {}

    // 0 failures: off. Takes effect for the next failure (reload). `ban_time` is only
    // kept for the caller (ban_time()), so it changes with the others on a reload.
    void configure(unsigned max_failures, std::chrono::seconds window,
                   std::chrono::seconds ban_time = std::chrono::seconds(3600));
    std::chrono::seconds ban_time() const;

    // One failure of `source` (an address, or an IPv6 /64 as text). The count within the
    // window, when it has just reached the limit (ban now); 0 otherwise.
    unsigned failure(std::string_view source, Time now);
    void success(std::string_view source);
    std::size_t tracked() const;

    // Cluster (issue #15): with sharing on, failure() and success() are also noted for
    // take_shared(), which the daemon sends to the other nodes in small batches; add() puts
    // another node's in the counts (a `reset`: a success there forgot the earlier failures,
    // before these `n`). add() returns like failure(): the count when the cluster's total
    // has just reached the limit (ban now), else 0.
    // At most this many sources per batch (a flood of spoofed sources must not become a
    // flood of notices); the rest are counted here only.
    static constexpr std::size_t kMaxShared = 4096;
    struct Shared {
        std::string source;
        unsigned failures = 0;
        bool reset = false;
    };
    void share(bool on);
    // Called (under the limiter's lock: keep it short, e.g. a post) when something is noted
    // for sharing and nothing was waiting: the daemon sends it without waiting for a batch.
    void on_shared(std::function<void()> kick);
    std::vector<Shared> take_shared();
    unsigned add(std::string_view source, unsigned n, bool reset, Time now);

  private:
    struct Entry {
        Time window_start{};
        unsigned failures = 0;
    };
    std::size_t max_sources_;
    mutable std::mutex mutex_;
    unsigned max_failures_ = 10;
    std::chrono::seconds window_{600};
    std::chrono::seconds ban_time_{3600};
    std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> sources_;
    bool sharing_ = false;
    std::unordered_map<std::string, Shared, StringHash, std::equal_to<>> shared_;
    std::function<void()> kick_;

    unsigned count(std::string_view source, unsigned n, Time now);  // locked
    Shared* note(std::string_view source);                          // locked; null: full
};

}  // namespace sipproxy::auth
