#pragma once
// Health of each gateway: up, down (probes failed) or disabled (by the operator).
// Separate from the DialPlan so it survives config reloads, keyed by gateway name.
// Thread-safe: the call path reads the state lock-free; probes and the control socket
// update it under a small per-gateway mutex.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "routing/gateway_spec.hpp"

namespace sipproxy::routing {

enum class GatewayState : std::uint8_t { up, down, disabled };
std::string_view to_string(GatewayState state);  // "up", "down", "disabled"

using HealthClock = std::chrono::steady_clock;

// What `sipproxyctl show gateways` prints for one gateway.
struct GatewayHealthSnapshot {
    std::string name;
    std::string uri;
    GatewayState state = GatewayState::up;
    bool probing = false;
    std::chrono::seconds probe_interval{0};
    unsigned consecutive_failures = 0;
    unsigned consecutive_successes = 0;
    std::optional<HealthClock::time_point> last_probe;  // nullopt: never probed
    bool last_probe_ok = false;
    std::string last_result;                             // as reported, e.g. "200 OK", "timeout"
    std::optional<HealthClock::time_point> last_change;  // last up/down/disabled change
    std::uint64_t probes = 0;
    std::uint64_t probe_failures = 0;
    std::uint64_t call_failures = 0;
};

class GatewayHealth {
  public:
    GatewayHealth(std::string name, std::string uri, ProbeSpec probe);

    const std::string& name() const noexcept { return name_; }
    GatewayState state() const noexcept { return state_.load(std::memory_order_acquire); }
    bool usable() const noexcept { return state() == GatewayState::up; }

    // One OPTIONS probe finished. Returns true when the state changed (callers log it).
    // up -> down after `failures_before_down` consecutive failures; down -> up after
    // `successes_before_up` consecutive successes. Counted while disabled too, so enable()
    // returns to what the probes say. Ignored when probing is off.
    bool record_probe(bool ok, HealthClock::time_point now, std::string_view result = {});
    // A call to the gateway failed (no answer, 503, transport error). Counts like a failed
    // probe, but only for probed gateways: an unprobed gateway could never come back.
    bool record_call_failure(HealthClock::time_point now, std::string_view reason = {});

    // Operator commands; return true when the state changed.
    bool disable(HealthClock::time_point now = HealthClock::now());
    bool enable(HealthClock::time_point now = HealthClock::now());

    // Config reload: new thresholds apply from the next probe. A new URI or probing turned
    // off resets health to up (the old results were about another host or are stale);
    // disabled stays disabled.
    void reconfigure(std::string uri, ProbeSpec probe);

    GatewayHealthSnapshot snapshot() const;

  private:
    bool failure_locked(HealthClock::time_point now);
    bool publish_locked(HealthClock::time_point now);  // state_ from healthy_/disabled_

    const std::string name_;
    std::atomic<GatewayState> state_{GatewayState::up};

    mutable std::mutex mutex_;  // guards everything below
    std::string uri_;
    ProbeSpec probe_;
    bool healthy_ = true;    // what probes say, independent of disabled_
    bool disabled_ = false;  // operator
    unsigned consecutive_failures_ = 0;
    unsigned consecutive_successes_ = 0;
    std::optional<HealthClock::time_point> last_probe_;
    bool last_probe_ok_ = false;
    std::string last_result_;
    std::optional<HealthClock::time_point> last_change_;
    std::uint64_t probes_ = 0;
    std::uint64_t probe_failures_ = 0;
    std::uint64_t call_failures_ = 0;
};

// All gateways' health by name, in configuration order.
class GatewayHealthTable {
  public:
    GatewayHealthTable() = default;
    explicit GatewayHealthTable(const std::vector<GatewaySpec>& gateways) { sync(gateways); }

    // Config (re)load: adds new gateways, reconfigures kept ones (their state survives),
    // drops removed ones. Holders of a dropped GatewayHealth may keep using it.
    void sync(const std::vector<GatewaySpec>& gateways);

    std::shared_ptr<GatewayHealth> find(std::string_view name) const;
    // True when the gateway may be tried. A name the table does not know is usable: health
    // only ever removes gateways that are known to be down or disabled.
    bool usable(std::string_view name) const;
    // Operator commands by name; nullopt for an unknown name, else whether it changed.
    std::optional<bool> disable(std::string_view name);
    std::optional<bool> enable(std::string_view name);

    // Gateways with probing on, for the prober to schedule.
    std::vector<std::shared_ptr<GatewayHealth>> probed() const;
    std::vector<GatewayHealthSnapshot> snapshot() const;  // configuration order

  private:
    mutable std::shared_mutex mutex_;
    std::vector<std::shared_ptr<GatewayHealth>> ordered_;
    std::map<std::string, std::shared_ptr<GatewayHealth>, std::less<>> by_name_;
};

}  // namespace sipproxy::routing
