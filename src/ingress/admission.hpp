#pragma once
// What every worker's ingress shares: the policy (replaced on reload), the ban table, the
// per-source request rates (so the flood limit is the documented one whatever the number
// of workers) and the counters. A worker keeps its own View and refreshes it when version() moves, so the
// per-datagram cost of sharing is one atomic load.
#include <atomic>
#include <memory>
#include <mutex>

#include "ingress/ban_table.hpp"
#include "ingress/counters.hpp"
#include "ingress/policy.hpp"
#include "ingress/rate_tracker.hpp"

namespace sipproxy::ingress {

class Admission {
public:
    // tracked_sources: size of the rate table (sources counted at once, for the daemon).
    explicit Admission(std::size_t max_bans = 100000, std::size_t tracked_sources = 65536)
        : bans_(max_bans), rates_(tracked_sources), policy_(std::make_shared<const Policy>()) {}

    void set_policy(std::shared_ptr<const Policy> p) {
        {
            std::lock_guard lock(mutex_);
            policy_ = std::move(p);
        }
        policy_version_.fetch_add(1, std::memory_order_release);
    }
    std::shared_ptr<const Policy> policy() const {
        std::lock_guard lock(mutex_);
        return policy_;
    }

    struct View {
        std::shared_ptr<const Policy> policy;
        std::shared_ptr<const BanIndex> bans;
        std::uint64_t version = 0;
    };
    // Both parts only ever grow their versions, so their sum changes with either.
    std::uint64_t version() const {
        return policy_version_.load(std::memory_order_acquire) + bans_.version();
    }
    View view() {
        View v;
        v.version = version();
        v.policy = policy();
        v.bans = bans_.index();
        return v;
    }

    BanTable& bans() { return bans_; }
    const BanTable& bans() const { return bans_; }
    RateTracker& rates() { return rates_; }
    const RateTracker& rates() const { return rates_; }
    Counters& counters() { return counters_; }
    const Counters& counters() const { return counters_; }

private:
    BanTable bans_;
    RateTracker rates_;
    Counters counters_;
    mutable std::mutex mutex_;
    std::shared_ptr<const Policy> policy_;
    std::atomic<std::uint64_t> policy_version_{0};
};

}  // namespace sipproxy::ingress
