#pragma once
// Password guessing against one user from many sources (issue #12 item 3). GuessLimiter
// bans a source after its own failures, so an attacker spread over N sources still gets
// N x (limit - 1) guesses per window at one user. Here the failures are also counted per
// user name (from any source): past `max_failures` within `window` the name is throttled,
// and its credentials from a source that has not authenticated as that user within
// `known_for` are refused without computing the digest (the answer is the same for a right
// and a wrong password, so the attacker learns nothing). Sources the user's own devices
// authenticated from keep working. The throttle holds until `window` has passed without a
// failure or a refused attempt for the name: a steady attack keeps it on.
// Every name is counted, configured or not, so that the throttle's answer does not tell
// which names exist. Bounded: at most `max_names` names with failures and, per user,
// `kMaxKnown` known sources (the most recent). Thread-safe.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "auth/clock.hpp"
#include "base/string_hash.hpp"

namespace sipproxy::auth {

class UserThrottle {
  public:
    static constexpr std::size_t kMaxKnown = 8;

    // From [security] (user_auth_failures, auth_window, user_known_time), read from the
    // config snapshot at each call, so a reload applies at once. 0 failures: off.
    struct Limits {
        unsigned max_failures = 20;
        std::chrono::seconds window{600};
        std::chrono::seconds known_for{86400};
    };

    explicit UserThrottle(std::size_t max_names = 65536) : max_names_(max_names) {}

    // Before the digest is checked: true when credentials for `user` from `source` are to
    // be refused (the name is throttled and the source is not one of its known ones).
    // A refused attempt keeps the throttle on.
    bool refuses(std::string_view user, std::string_view source, Time now, const Limits& l);
    // A failed authentication claiming `user`: true when it has just throttled the name
    // (log it once).
    bool failure(std::string_view user, Time now, const Limits& l);
    // `source` authenticated as `user`: known from now on (for `known_for`).
    void success(std::string_view user, std::string_view source, Time now);

    bool throttled(std::string_view user, Time now, const Limits& l) const;

    // Cluster (issue #15): with sharing on, failure() is also noted for take_shared(), which
    // the daemon sends to the other nodes in small batches; add() counts another node's
    // `n` failures for `user` (true when they have just throttled the name).
    // At most this many names per batch (names are up to 256 bytes); the rest are counted
    // here only.
    static constexpr std::size_t kMaxShared = 1024;
    void share(bool on);
    // As GuessLimiter::on_shared: something noted while nothing was waiting.
    void on_shared(std::function<void()> kick);
    std::vector<std::pair<std::string, unsigned>> take_shared();
    bool add(std::string_view user, unsigned n, Time now, const Limits& l);
    std::size_t tracked() const;

  private:
    struct Failures {
        Time window_start{};
        Time last{};  // the last failure or refused attempt
        unsigned count = 0;
        bool throttled = false;
    };
    struct Known {
        std::string source;
        Time at{};
    };
    using KnownSources = std::array<Known, kMaxKnown>;

    static bool throttled_locked(const Failures& f, Time now, const Limits& l);
    bool count(std::string_view user, unsigned n, Time now, const Limits& l);  // locked

    std::size_t max_names_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Failures, StringHash, std::equal_to<>> failures_;
    // Only users who authenticated have an entry: bounded by the users there are.
    std::unordered_map<std::string, KnownSources, StringHash, std::equal_to<>> known_;
    bool sharing_ = false;
    std::unordered_map<std::string, unsigned, StringHash, std::equal_to<>> shared_;
    std::function<void()> kick_;
};

}  // namespace sipproxy::auth
