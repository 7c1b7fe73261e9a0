#pragma once
// The location service (RFC 3261 10): bindings per address-of-record. Thread-safe: worker
// threads look up and update it concurrently. Keys are canonical AORs (canonical_aor()).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "registrar/binding.hpp"

namespace sipproxy::registrar {

// The prefix of a Committed error that means the store could not be reached at all (Redis
// down): nothing was changed, and a REGISTER is answered 503 with Retry-After, not 500.
inline constexpr std::string_view kStoreUnavailable = "store unavailable: ";
inline bool store_unavailable(std::string_view error) { return error.starts_with(kStoreUnavailable); }

// What a Mutation did: false leaves the AOR unchanged. refresh(): the bindings are reached
// as before and only their expiry (and Call-ID, CSeq) moved on; nobody waits for such a
// change, so a store that writes in batches may take its time (SqliteStoreOptions).
struct Mutated {
    Mutated(bool changed) : changed(changed) {}  // NOLINT: a Mutation may return a bool
    static Mutated refresh() {
        Mutated m(true);
        m.refresh_only = true;
        return m;
    }
    explicit operator bool() const { return changed; }
    bool changed;
    bool refresh_only = false;
};

class LocationStore {
  public:
    // Edits the live bindings of one AOR in place; returns false to leave the AOR unchanged.
    // Runs under the AOR's lock: it must be quick and must not call back into the store.
    using Mutation = std::function<Mutated(std::vector<Binding>& bindings)>;
    // Told once whether a change is durable: "" when it is (on disk, or at once for a store
    // without persistence), else why not, e.g. "database or disk is full"; the change has
    // then been undone, so memory and disk agree again. Runs on any thread (the writer's,
    // or the caller's before apply() returns): it must be quick, e.g. post to an executor.
    using Committed = std::function<void(const std::string& error)>;

    // One page of a listing (list_after).
    struct Page {
        std::vector<Binding> bindings;  // by AOR (byte order), then preference
        std::string next;  // `after` for the next page: the last AOR taken; "" when no more
    };

    virtual ~LocationStore() = default;

    // Live bindings of `aor` (expires_at > now), highest q first (sort_by_preference).
    virtual std::vector<Binding> lookup(std::string_view aor, TimePoint now) const = 0;

    // Atomic read-modify-write of one AOR: `mutate` sees the live bindings and what it leaves
    // becomes the new set (aor fields are set by the store, expired ones dropped). Other AORs
    // are not blocked. Returns what `mutate` returned. `committed`, when given, is called
    // exactly once: with "" at once if nothing changed, else as described above.
    virtual bool apply(std::string_view aor, TimePoint now, const Mutation& mutate,
                       Committed committed = {}) = 0;

    // Removes every binding of `aor`; returns how many there were. `committed` as for apply.
    virtual std::size_t remove_aor(std::string_view aor, Committed committed = {}) = 0;

    // For `sipproxyctl show registrations [AOR]`: live bindings of one AOR, or of all when
    // `aor` is empty, sorted by AOR then preference; at most `limit`.
    virtual std::vector<Binding> list(
        std::string_view aor, TimePoint now,
        std::size_t limit = std::numeric_limits<std::size_t>::max()) const = 0;

    // For paging through `show registrations`: the live bindings of the first `max_aors`
    // AORs (each with all its bindings) that sort after `after` in byte order ("" = from the
    // first). The order depends on the AOR alone, so a listing continued with `after` = the
    // last AOR of the previous page lists every AOR that exists throughout exactly once,
    // whatever is added or removed meanwhile; AORs added meanwhile appear if they sort
    // after the cursor.
    virtual Page list_after(std::string_view after, TimePoint now, std::size_t max_aors) const = 0;

    // Bindings held, including expired ones not purged yet.
    virtual std::size_t count() const = 0;
    // Addresses-of-record held (cheap: no binding is copied).
    virtual std::size_t aor_count() const = 0;

    // Drops bindings with expires_at <= now; returns how many. `expired`, when given, sees
    // each one as it goes (the daemon logs it), under the AOR's lock: quick, no store calls.
    using Expired = std::function<void(const Binding&)>;
    virtual std::size_t purge_expired(TimePoint now, const Expired& expired) = 0;
    std::size_t purge_expired(TimePoint now) { return purge_expired(now, Expired{}); }

    // AORs with a binding whose flow_id is `flow_id` (RFC 5626 flow failure).
    virtual std::vector<std::string> aors_using_flow(std::uint64_t flow_id) const = 0;

    // Adds bindings as they are (startup load, tests): no checks, replaces nothing.
    virtual void load(std::vector<Binding> bindings) = 0;

    // Waits until every change made before the call is durable, or has failed and been
    // undone, and its `committed` callback has run. True on success (and always for a store
    // without persistence). Blocks: not for an event loop.
    virtual bool flush() { return true; }

    // How long a change usually waits for its commit when the store gathers changes into
    // batches (SQLite: its batch interval); zero when a commit is not batched (memory: at
    // once; Redis: one round trip). A caller may then pick the result up lazily
    // (proxy/commit_inbox.hpp) instead of being woken for it.
    virtual std::chrono::milliseconds commit_latency() const { return {}; }
};

}  // namespace sipproxy::registrar
