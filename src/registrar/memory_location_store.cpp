#include "registrar/memory_location_store.hpp"

#include <algorithm>

namespace sipproxy::registrar {

namespace {

template <class It>
std::vector<std::uint64_t> flows_of(It first, It last) {
    std::vector<std::uint64_t> out;
    for (; first != last; ++first)
        if (first->flow_id() != 0) out.push_back(first->flow_id());
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace

MemoryLocationStore::Shard& MemoryLocationStore::shard_for(std::string_view aor) const {
    return shards_[StringHash{}(aor) % kShards];
}

MemoryLocationStore::Map::iterator MemoryLocationStore::insert_aor(Shard& shard,
                                                                   std::string_view aor,
                                                                   Bindings bindings) {
    auto it = shard.aors.emplace(std::string(aor), std::move(bindings)).first;
    shard.order.insert(&*it);
    return it;
}

MemoryLocationStore::Map::iterator MemoryLocationStore::erase_aor(Shard& shard, Map::iterator it) {
    shard.order.erase(&*it);
    return shard.aors.erase(it);
}

void MemoryLocationStore::update_flows(std::string_view aor, const Bindings* before,
                                       const Bindings* after) {
    std::vector<std::uint64_t> old_flows, new_flows;
    if (before) old_flows = flows_of(before->begin(), before->end());
    if (after) new_flows = flows_of(after->begin(), after->end());
    update_flow_ids(aor, old_flows, new_flows);
}

void MemoryLocationStore::update_flow_ids(std::string_view aor,
                                          const std::vector<std::uint64_t>& old_flows,
                                          const std::vector<std::uint64_t>& new_flows) {
    if (old_flows == new_flows) return;  // the common case: a refresh on the same flow
    std::lock_guard lock(flows_mu_);
    for (auto flow : old_flows) {
        if (std::binary_search(new_flows.begin(), new_flows.end(), flow)) continue;
        auto [it, end] = flows_.equal_range(flow);
        for (; it != end; ++it) {
            if (it->second == aor) {
                flows_.erase(it);
                break;
            }
        }
    }
    for (auto flow : new_flows) {
        if (std::binary_search(old_flows.begin(), old_flows.end(), flow)) continue;
        flows_.emplace(flow, std::string(aor));
    }
}

std::vector<Binding> MemoryLocationStore::lookup(std::string_view aor, TimePoint now) const {
    std::vector<Binding> out;
    {
        Shard& shard = shard_for(aor);
        std::lock_guard lock(shard.mu);
        auto it = shard.aors.find(aor);
        if (it == shard.aors.end()) return out;
        out.reserve(it->second.size());
        for (const auto& packed : it->second)
            if (packed.live(now)) out.push_back(packed.unpack(it->first));
    }
    sort_by_preference(out);
    return out;
}

bool MemoryLocationStore::apply(std::string_view aor, TimePoint now, const Mutation& mutate,
                                Committed committed) {
    // Nothing is kept anywhere else: a change is as durable as it gets once it is made.
    // (Told also when `mutate` throws, so that nobody waits for ever.)
    bool changed;
    try {
        changed = change(aor, now, mutate);
    } catch (...) {
        if (committed) committed("");
        throw;
    }
    if (committed) committed("");
    return changed;
}

bool MemoryLocationStore::change(std::string_view aor, TimePoint now, const Mutation& mutate) {
    Shard& shard = shard_for(aor);
    std::lock_guard lock(shard.mu);
    auto it = shard.aors.find(aor);

    std::vector<Binding> current;
    if (it != shard.aors.end()) {
        current.reserve(it->second.size());
        for (const auto& packed : it->second)
            if (packed.live(now)) current.push_back(packed.unpack(it->first));
    }
    if (!mutate(current)) return false;

    Bindings next;
    next.reserve(current.size());
    for (const auto& b : current) {
        detail::PackedBinding packed(b);
        if (packed.live(now)) next.push_back(std::move(packed));
    }

    std::size_t before = it == shard.aors.end() ? 0 : it->second.size();
    std::size_t after = next.size();
    update_flows(aor, it == shard.aors.end() ? nullptr : &it->second, &next);
    if (next.empty()) {
        if (it != shard.aors.end()) erase_aor(shard, it);
    } else if (it != shard.aors.end()) {
        it->second = std::move(next);
    } else {
        insert_aor(shard, aor, std::move(next));
    }
    total_.fetch_add(after, std::memory_order_relaxed);
    total_.fetch_sub(before, std::memory_order_relaxed);
    return true;
}

std::size_t MemoryLocationStore::remove_aor(std::string_view aor, Committed committed) {
    std::size_t n = erase(aor, {});
    if (committed) committed("");
    return n;
}

std::size_t MemoryLocationStore::erase(std::string_view aor,
                                       const std::function<void()>& while_locked) {
    Shard& shard = shard_for(aor);
    std::lock_guard lock(shard.mu);
    auto it = shard.aors.find(aor);
    if (it == shard.aors.end()) return 0;
    std::size_t n = it->second.size();
    update_flows(aor, &it->second, nullptr);
    erase_aor(shard, it);
    total_.fetch_sub(n, std::memory_order_relaxed);
    if (while_locked) while_locked();
    return n;
}

std::vector<Binding> MemoryLocationStore::list(std::string_view aor, TimePoint now,
                                               std::size_t limit) const {
    std::vector<Binding> out =
        aor.empty() ? list_after("", now, std::numeric_limits<std::size_t>::max()).bindings
                    : lookup(aor, now);
    if (out.size() > limit) out.resize(limit);
    return out;
}

LocationStore::Page MemoryLocationStore::list_after(std::string_view after, TimePoint now,
                                                    std::size_t max_aors) const {
    Page page;
    if (max_aors == 0) return page;
    // The first `max_aors` live AORs after `after`, merged from the shards' ordered sets:
    // a shard contributes at most `max_aors`, and nothing past the last one chosen so far
    // once that many are chosen. Only the keys are copied here.
    std::vector<std::string> chosen;
    bool more = false;  // AORs (maybe expired ones) follow the last one chosen
    for (const auto& shard : shards_) {
        std::vector<std::string> mine;
        {
            std::lock_guard lock(shard.mu);
            auto it = shard.order.upper_bound(after);
            for (; it != shard.order.end(); ++it) {
                const Entry& entry = **it;
                if (mine.size() == max_aors ||
                    (chosen.size() == max_aors && entry.first >= chosen.back())) {
                    more = true;
                    break;
                }
                if (std::any_of(entry.second.begin(), entry.second.end(),
                                [&](const auto& b) { return b.live(now); }))
                    mine.push_back(entry.first);
            }
        }
        if (mine.empty()) continue;
        auto middle = chosen.insert(chosen.end(), std::make_move_iterator(mine.begin()),
                                    std::make_move_iterator(mine.end()));
        std::inplace_merge(chosen.begin(), middle, chosen.end());
        if (chosen.size() > max_aors) {
            chosen.resize(max_aors);
            more = true;
        }
    }
    if (more && !chosen.empty()) page.next = chosen.back();
    // Then their bindings, as lookup() gives them (an AOR gone meanwhile is skipped).
    for (const auto& aor : chosen) {
        auto bindings = lookup(aor, now);
        page.bindings.insert(page.bindings.end(), std::make_move_iterator(bindings.begin()),
                             std::make_move_iterator(bindings.end()));
    }
    return page;
}

std::size_t MemoryLocationStore::purge_expired(TimePoint now, std::vector<std::string>* touched,
                                               const Expired& expired) {
    std::size_t removed = 0;
    for (auto& shard : shards_) {
        std::lock_guard lock(shard.mu);
        for (auto it = shard.aors.begin(); it != shard.aors.end();) {
            Bindings& bindings = it->second;
            auto dead = std::count_if(bindings.begin(), bindings.end(),
                                      [&](const auto& b) { return !b.live(now); });
            if (dead == 0) {
                ++it;
                continue;
            }
            // Expired ones to the back, then cut them off.
            auto first_dead = std::stable_partition(bindings.begin(), bindings.end(),
                                                    [&](const auto& b) { return b.live(now); });
            bool had_flow = std::any_of(first_dead, bindings.end(),
                                        [](const auto& b) { return b.flow_id() != 0; });
            if (had_flow) {
                // Flows of the dead ones may still be used by live ones of the same AOR.
                auto all = flows_of(bindings.begin(), bindings.end());
                auto kept = flows_of(bindings.begin(), first_dead);
                update_flow_ids(it->first, all, kept);
            }
            if (expired)
                for (auto d = first_dead; d != bindings.end(); ++d) expired(d->unpack(it->first));
            bindings.erase(first_dead, bindings.end());
            removed += static_cast<std::size_t>(dead);
            if (touched) touched->push_back(it->first);
            if (bindings.empty()) {
                it = erase_aor(shard, it);
            } else {
                bindings.shrink_to_fit();
                ++it;
            }
        }
    }
    total_.fetch_sub(removed, std::memory_order_relaxed);
    return removed;
}

std::vector<std::string> MemoryLocationStore::aors_using_flow(std::uint64_t flow_id) const {
    std::vector<std::string> out;
    if (flow_id == 0) return out;
    std::lock_guard lock(flows_mu_);
    auto [it, end] = flows_.equal_range(flow_id);
    for (; it != end; ++it) out.push_back(it->second);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void MemoryLocationStore::load_one(const Binding& binding) {
    Shard& shard = shard_for(binding.aor);
    std::lock_guard lock(shard.mu);
    auto it = shard.aors.find(std::string_view(binding.aor));
    if (it == shard.aors.end()) it = insert_aor(shard, binding.aor, Bindings{});
    if (binding.flow_id != 0) {
        auto before = flows_of(it->second.begin(), it->second.end());
        auto after = before;
        if (!std::binary_search(after.begin(), after.end(), binding.flow_id)) {
            after.insert(std::lower_bound(after.begin(), after.end(), binding.flow_id),
                         binding.flow_id);
        }
        update_flow_ids(binding.aor, before, after);
    }
    it->second.emplace_back(binding);
    total_.fetch_add(1, std::memory_order_relaxed);
}

void MemoryLocationStore::load(std::vector<Binding> bindings) {
    for (const auto& b : bindings) load_one(b);
}

void MemoryLocationStore::reserve(std::size_t bindings) {
    for (auto& shard : shards_) {
        std::lock_guard lock(shard.mu);
        shard.aors.reserve(shard.aors.size() + bindings / kShards + 1);
    }
}

std::size_t MemoryLocationStore::aor_count() const {
    std::size_t n = 0;
    for (const auto& shard : shards_) {
        std::lock_guard lock(shard.mu);
        n += shard.aors.size();
    }
    return n;
}

}  // namespace sipproxy::registrar
