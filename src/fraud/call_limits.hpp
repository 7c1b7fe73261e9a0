#pragma once
// The counters behind the [[fraud]] limits (issue #12 item 7): per counted key (a user, or
// all users, each for every call or for one route) the calls of the last minute, of the
// last 24 hours, and the calls in progress.
//
// admit() decides for one new call against the rules in force: refused when a count would
// pass a critical threshold (nothing is counted then), else counted everywhere, with the
// warning thresholds it reached. An admitted call is held under its key (Call-ID and From
// tag) until release() with that key, which the call's final event calls (however it
// ends: answered then BYE, cancelled, busy, rejected, no answer, timeout, expired): the
// concurrent counts go down exactly as often as they went up. Keys a call holds twice
// (a Call-ID reused while its call is in progress) are released together.
//
// Thread-safe, sharded: a call locks only the shards of its few keys (in shard order).
// Memory: one entry per key with something to count, freed when it is idle (no call in
// progress, none in the last 24 hours); keys exist only for authenticated users that a rule
// names or covers, so a peer without credentials cannot create any.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/string_hash.hpp"
#include "config/config.hpp"
#include "fraud/sliding_count.hpp"

namespace sipproxy::fraud {

enum class Limit : std::uint8_t { CallsPerMinute, CallsPerDay, ConcurrentCalls };
inline constexpr std::array<Limit, 3> kLimits{Limit::CallsPerMinute, Limit::CallsPerDay,
                                              Limit::ConcurrentCalls};
// "calls_per_minute" | "calls_per_day" | "concurrent_calls" (the config keys).
std::string_view to_string(Limit l);
const config::FraudThreshold& threshold(const config::FraudRule& r, Limit l);

// A counted key: one user's calls (user), or every user's (total), on one route or on all.
struct Scope {
    std::string user;   // "" when total
    std::string route;  // "" for every call
    bool total = false;
    bool operator==(const Scope&) const = default;
};

// A threshold reached (warning) or that a call would pass (critical).
struct Crossing {
    Scope scope;
    Limit limit = Limit::CallsPerMinute;
    std::uint32_t value = 0;      // the count with this call
    std::uint32_t threshold = 0;
};

struct Verdict {
    std::optional<Crossing> refused;  // the first critical threshold the call would pass
    std::vector<Crossing> warnings;   // admitted, and at or over these warning thresholds
};

// The rule that applies to a scope: for one user, the rule naming the user, else the "*"
// rule (a named user's rule replaces the "*" rule of the same route); null when none.
const config::FraudRule* rule_for(const std::vector<config::FraudRule>& rules, const Scope& s);

class CallLimits {
public:
    // A new call of `user` (authenticated) on `route` ("" when the dial plan did not route
    // it). `call` identifies it for release(): Call-ID '\n' From tag. Without `hold` the
    // call is checked against every limit and counted per minute and per day, but holds
    // no concurrent count (for a call whose end will never be told).
    Verdict admit(const std::vector<config::FraudRule>& rules, std::string_view user,
                  std::string_view route, std::string_view call, Clock::time_point now,
                  bool hold = true);
    // The call ended (any way); unknown keys are ignored.
    void release(std::string_view call, Clock::time_point now);

    struct Row {
        Scope scope;
        Limit limit = Limit::CallsPerMinute;
        std::uint32_t value = 0;
        std::uint32_t warning = 0, critical = 0;  // 0: unset
    };
    // For `sipproxyctl show limits`: every limit of the rules in force, with its count. With
    // `user`, that user's own limits (zeros when idle); without, those of the users with
    // something counted, and the totals. Sorted by user, route, scope, limit.
    std::vector<Row> list(const std::vector<config::FraudRule>& rules,
                          std::optional<std::string_view> user, Clock::time_point now);

    // Frees the idle entries (admit() does it for its shards at most once a minute).
    void sweep(Clock::time_point now);
    std::size_t entries() const;  // counted keys (tests: idle ones are freed)
    std::size_t held() const;     // calls holding concurrent counts

    // Cluster (issue #15). With sharing on, admit() and release() note what they change for
    // take_shared(), which the daemon sends to the other nodes in small batches. The other
    // nodes' admitted calls are added to the per-minute and per-day counts (add_calls());
    // their calls in progress are kept per node (set_held()) and count until that node's
    // value has not been repeated for `kHeldFresh` (a node that died stops counting).
    static constexpr std::chrono::seconds kHeldFresh{3};
    struct Shared {
        std::vector<std::pair<std::string, std::uint32_t>> calls;  // key, admitted since last
        std::vector<std::pair<std::string, std::uint32_t>> held;   // key, in progress here now
    };
    void share(bool on);
    // As auth::GuessLimiter::on_shared: something noted while nothing was waiting.
    void on_shared(std::function<void()> kick);
    // `all_held`: every key with calls in progress here (a heartbeat), not only the changed.
    Shared take_shared(bool all_held);
    void add_calls(std::string_view key, std::uint32_t n, Clock::time_point now);
    void set_held(std::string_view node, std::string_view key, std::uint32_t n,
                  Clock::time_point now);

private:
    struct Counter {
        SlidingCount<60, 1> minute;     // 59-60 s
        SlidingCount<96, 900> day;      // 23 h 45 min - 24 h in 15 min steps
        std::uint32_t concurrent = 0;
        std::uint32_t value(Limit l, Clock::time_point now) const;
        bool idle(Clock::time_point now) const {
            return concurrent == 0 && day.count(now) == 0 && minute.count(now) == 0;
        }
    };
    struct Shard {
        mutable std::mutex mu;
        std::unordered_map<std::string, Counter, StringHash, std::equal_to<>> counters;
        Clock::time_point swept{};
    };
    struct HoldShard {
        mutable std::mutex mu;
        // call -> the counted keys whose concurrent count it raised
        std::unordered_map<std::string, std::vector<std::string>, StringHash, std::equal_to<>> calls;
    };
    static std::string key_of(const Scope& s);
    static Scope scope_of(std::string_view key);
    std::size_t shard_of(std::string_view key) const;
    static void sweep(Shard& s, Clock::time_point now);  // locked by the caller

    std::array<Shard, 16> shards_;
    std::array<HoldShard, 16> holds_;

    struct RemoteHeld {
        std::string node;
        std::uint32_t n = 0;
        Clock::time_point seen{};
    };
    std::uint32_t remote_held(std::string_view key, Clock::time_point now) const;
    void note_held(const std::string& key);  // sharing: a key whose local count changed
    mutable std::mutex remote_mu_;  // taken after shard locks, never before
    std::unordered_map<std::string, std::vector<RemoteHeld>, StringHash, std::equal_to<>> remote_;
    std::mutex shared_mu_;
    bool sharing_ = false;
    std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> shared_calls_;
    std::vector<std::string> shared_held_;  // keys changed since the last take
    std::function<void()> kick_;
};

}  // namespace sipproxy::fraud
