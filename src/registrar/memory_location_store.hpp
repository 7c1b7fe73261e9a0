#pragma once
// LocationStore in memory: a hash map from AOR to its bindings, split into shards each with
// its own mutex so that workers updating different AORs rarely wait for each other. Each
// shard also keeps its AORs in order (a set of pointers to the map's entries, ~48 bytes an
// AOR, touched only when an AOR comes or goes) so that a listing pages by AOR without
// sorting everything. Also the read index of SqliteLocationStore.
#include <array>
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/string_hash.hpp"
#include "registrar/location_store.hpp"
#include "registrar/packed_binding.hpp"

namespace sipproxy::registrar {

class MemoryLocationStore final : public LocationStore {
  public:
    MemoryLocationStore() = default;
    MemoryLocationStore(const MemoryLocationStore&) = delete;
    MemoryLocationStore& operator=(const MemoryLocationStore&) = delete;

    std::vector<Binding> lookup(std::string_view aor, TimePoint now) const override;
    bool apply(std::string_view aor, TimePoint now, const Mutation& mutate,
               Committed committed = {}) override;
    std::size_t remove_aor(std::string_view aor, Committed committed = {}) override;
    std::vector<Binding> list(
        std::string_view aor, TimePoint now,
        std::size_t limit = std::numeric_limits<std::size_t>::max()) const override;
    Page list_after(std::string_view after, TimePoint now, std::size_t max_aors) const override;
    std::size_t count() const override { return total_.load(std::memory_order_relaxed); }
    std::size_t aor_count() const override;
    using LocationStore::purge_expired;
    std::size_t purge_expired(TimePoint now, const Expired& expired) override {
        return purge_expired(now, nullptr, expired);
    }
    std::vector<std::string> aors_using_flow(std::uint64_t flow_id) const override;
    void load(std::vector<Binding> bindings) override;

    // The same, also appending the AORs that lost bindings to `touched` when not null.
    std::size_t purge_expired(TimePoint now, std::vector<std::string>* touched,
                              const Expired& expired = {});
    // remove_aor that also runs `while_locked` with the AOR's shard still locked when there
    // was something to remove (SqliteLocationStore marks the AOR dirty there).
    std::size_t erase(std::string_view aor, const std::function<void()>& while_locked);
    // Adds one binding as it is (bulk load without building a vector first).
    void load_one(const Binding& binding);
    // Sizes the tables for `bindings` bindings ahead of a bulk load.
    void reserve(std::size_t bindings);

  private:
    using Bindings = std::vector<detail::PackedBinding>;
    using Map = std::unordered_map<std::string, Bindings, StringHash, std::equal_to<>>;
    using Entry = Map::value_type;  // its address survives rehashing
    struct EntryOrder {
        using is_transparent = void;
        static std::string_view key(const Entry* e) { return e->first; }
        static std::string_view key(std::string_view s) { return s; }
        template <class A, class B>
        bool operator()(const A& a, const B& b) const {
            return key(a) < key(b);
        }
    };
    struct Shard {
        mutable std::mutex mu;
        Map aors;
        std::set<const Entry*, EntryOrder> order;  // the entries of `aors` by AOR
    };
    static constexpr std::size_t kShards = 64;

    Shard& shard_for(std::string_view aor) const;
    // apply() without `committed`.
    bool change(std::string_view aor, TimePoint now, const Mutation& mutate);
    // Adds or erases an AOR in both the map and the order (shard locked).
    Map::iterator insert_aor(Shard& shard, std::string_view aor, Bindings bindings);
    Map::iterator erase_aor(Shard& shard, Map::iterator it);
    // Keeps flows_ in step with one AOR's change (called with the shard locked).
    void update_flows(std::string_view aor, const Bindings* before, const Bindings* after);
    void update_flow_ids(std::string_view aor, const std::vector<std::uint64_t>& old_flows,
                         const std::vector<std::uint64_t>& new_flows);

    mutable std::array<Shard, kShards> shards_;
    std::atomic<std::size_t> total_{0};
    mutable std::mutex flows_mu_;  // after a shard's mutex, never before
    std::unordered_multimap<std::uint64_t, std::string> flows_;  // flow id -> AOR
};

}  // namespace sipproxy::registrar
