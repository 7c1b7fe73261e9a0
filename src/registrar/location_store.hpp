#pragma once
// The location service (RFC 3261 10): bindings per address-of-record. Thread-safe: worker
// threads look up and update it concurrently. Keys are canonical AORs (canonical_aor()).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "registrar/binding.hpp"

namespace sipproxy::registrar {

class LocationStore {
  public:
    // Edits the live bindings of one AOR in place; returns false to leave the AOR unchanged.
    // Runs under the AOR's lock: it must be quick and must not call back into the store.
    using Mutation = std::function<bool(std::vector<Binding>& bindings)>;

    virtual ~LocationStore() = default;

    // Live bindings of `aor` (expires_at > now), highest q first (sort_by_preference).
    virtual std::vector<Binding> lookup(std::string_view aor, TimePoint now) const = 0;

    // Atomic read-modify-write of one AOR: `mutate` sees the live bindings and what it leaves
    // becomes the new set (aor fields are set by the store, expired ones dropped). Other AORs
    // are not blocked. Returns what `mutate` returned.
    virtual bool apply(std::string_view aor, TimePoint now, const Mutation& mutate) = 0;

    // Removes every binding of `aor`; returns how many there were.
    virtual std::size_t remove_aor(std::string_view aor) = 0;

    // For `sipproxyctl show registrations [AOR]`: live bindings of one AOR, or of all when
    // `aor` is empty, sorted by AOR then preference; at most `limit`.
    virtual std::vector<Binding> list(
        std::string_view aor, TimePoint now,
        std::size_t limit = std::numeric_limits<std::size_t>::max()) const = 0;

    // Bindings held, including expired ones not purged yet.
    virtual std::size_t count() const = 0;
    // Addresses-of-record held (cheap: no binding is copied).
    virtual std::size_t aor_count() const = 0;

    // Drops bindings with expires_at <= now; returns how many.
    virtual std::size_t purge_expired(TimePoint now) = 0;

    // AORs with a binding whose flow_id is `flow_id` (RFC 5626 flow failure).
    virtual std::vector<std::string> aors_using_flow(std::uint64_t flow_id) const = 0;

    // Adds bindings as they are (startup load, tests): no checks, replaces nothing.
    virtual void load(std::vector<Binding> bindings) = 0;

    // Waits until every change made before the call is durable. True on success (and always
    // for a store without persistence).
    virtual bool flush() { return true; }
};

}  // namespace sipproxy::registrar
