#pragma once
// Everything the request pipeline reads that a reload may change, built once per
// (re)load and then immutable: the config, the locality test, the authenticator, the
// trusted networks and the dial plan. Workers pick up a new one between requests.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/authenticator.hpp"
#include "base/cidr.hpp"
#include "config/config.hpp"
#include "proxy/locality.hpp"
#include "registrar/registrar.hpp"
#include "routing/dial_plan.hpp"

namespace sipproxy::proxy {

struct Snapshot {
    std::shared_ptr<const config::Config> config;
    std::shared_ptr<const Locality> locality;
    std::shared_ptr<const auth::Authenticator> authenticator;  // null: no [auth]
    std::vector<Cidr> trusted;
    std::shared_ptr<const routing::DialPlan> dial_plan;
    std::shared_ptr<registrar::Registrar> registrar;  // thread-safe; over the location store
    std::chrono::milliseconds fork_timeout{30000};    // no-answer time per sequential group
};

// The current snapshot, swapped by reload. Readers copy the shared_ptr only when the
// version moved, so the hot path takes no lock.
class SnapshotSource {
public:
    void publish(std::shared_ptr<const Snapshot> s) {
        std::lock_guard lock(mu_);
        current_ = std::move(s);
        version_.fetch_add(1, std::memory_order_release);
    }
    std::shared_ptr<const Snapshot> get() const {
        std::lock_guard lock(mu_);
        return current_;
    }
    std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

private:
    mutable std::mutex mu_;
    std::shared_ptr<const Snapshot> current_;
    std::atomic<std::uint64_t> version_{0};
};

// A worker's view: refreshes its copy when the source's version moved.
class SnapshotView {
public:
    explicit SnapshotView(const SnapshotSource& src) : src_(src) {}
    const Snapshot& get() {
        auto v = src_.version();
        if (v != seen_ || !cached_) {
            cached_ = src_.get();
            seen_ = v;
        }
        return *cached_;
    }
    std::shared_ptr<const Snapshot> shared() {
        get();
        return cached_;
    }

private:
    const SnapshotSource& src_;
    std::shared_ptr<const Snapshot> cached_;
    std::uint64_t seen_ = ~0ull;
};

}  // namespace sipproxy::proxy
