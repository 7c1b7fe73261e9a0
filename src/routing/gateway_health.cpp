#include "routing/gateway_health.hpp"

#include <algorithm>

namespace sipproxy::routing {

std::string_view to_string(GatewayState state) {
    switch (state) {
        case GatewayState::up:
            return "up";
        case GatewayState::down:
            return "down";
        case GatewayState::disabled:
            return "disabled";
    }
    return "up";
}

GatewayHealth::GatewayHealth(std::string name, std::string uri, ProbeSpec probe)
    : name_(std::move(name)), uri_(std::move(uri)), probe_(probe) {}

bool GatewayHealth::publish_locked(HealthClock::time_point now) {
    GatewayState next = disabled_  ? GatewayState::disabled
                        : healthy_ ? GatewayState::up
                                   : GatewayState::down;
    if (state_.load(std::memory_order_relaxed) == next) return false;
    state_.store(next, std::memory_order_release);
    last_change_ = now;
    return true;
}

bool GatewayHealth::failure_locked(HealthClock::time_point now) {
    consecutive_successes_ = 0;
    ++consecutive_failures_;
    if (healthy_ && consecutive_failures_ >= std::max(1u, probe_.failures_before_down)) {
        healthy_ = false;
    }
    return publish_locked(now);
}

bool GatewayHealth::record_probe(bool ok, HealthClock::time_point now, std::string_view result) {
    std::lock_guard lock(mutex_);
    if (!probe_.enabled) return false;
    ++probes_;
    last_probe_ = now;
    last_probe_ok_ = ok;
    last_result_.assign(result);
    if (!ok) {
        ++probe_failures_;
        return failure_locked(now);
    }
    consecutive_failures_ = 0;
    ++consecutive_successes_;
    if (!healthy_ && consecutive_successes_ >= std::max(1u, probe_.successes_before_up)) {
        healthy_ = true;
    }
    return publish_locked(now);
}

bool GatewayHealth::record_call_failure(HealthClock::time_point now, std::string_view reason) {
    std::lock_guard lock(mutex_);
    ++call_failures_;
    if (!probe_.enabled) return false;
    if (!reason.empty()) last_result_ = "call: " + std::string(reason);
    return failure_locked(now);
}

bool GatewayHealth::disable(HealthClock::time_point now) {
    std::lock_guard lock(mutex_);
    disabled_ = true;
    return publish_locked(now);
}

bool GatewayHealth::enable(HealthClock::time_point now) {
    std::lock_guard lock(mutex_);
    disabled_ = false;
    return publish_locked(now);
}

void GatewayHealth::reconfigure(std::string uri, ProbeSpec probe) {
    std::lock_guard lock(mutex_);
    bool reset = uri != uri_ || !probe.enabled;
    uri_ = std::move(uri);
    probe_ = probe;
    if (reset) {
        healthy_ = true;
        consecutive_failures_ = 0;
        consecutive_successes_ = 0;
        publish_locked(HealthClock::now());
    }
}

GatewayHealthSnapshot GatewayHealth::snapshot() const {
    std::lock_guard lock(mutex_);
    GatewayHealthSnapshot s;
    s.name = name_;
    s.uri = uri_;
    s.state = state_.load(std::memory_order_relaxed);
    s.probing = probe_.enabled;
    s.probe_interval = probe_.interval;
    s.consecutive_failures = consecutive_failures_;
    s.consecutive_successes = consecutive_successes_;
    s.last_probe = last_probe_;
    s.last_probe_ok = last_probe_ok_;
    s.last_result = last_result_;
    s.last_change = last_change_;
    s.probes = probes_;
    s.probe_failures = probe_failures_;
    s.call_failures = call_failures_;
    return s;
}

void GatewayHealthTable::sync(const std::vector<GatewaySpec>& gateways) {
    std::vector<std::shared_ptr<GatewayHealth>> ordered;
    std::map<std::string, std::shared_ptr<GatewayHealth>, std::less<>> by_name;
    std::unique_lock lock(mutex_);
    for (const auto& g : gateways) {
        if (by_name.count(g.name)) continue;  // DialPlan::build reports duplicates
        std::shared_ptr<GatewayHealth> h;
        if (auto it = by_name_.find(g.name); it != by_name_.end()) {
            h = it->second;
            h->reconfigure(g.uri, g.probe);
        } else {
            h = std::make_shared<GatewayHealth>(g.name, g.uri, g.probe);
        }
        ordered.push_back(h);
        by_name.emplace(g.name, std::move(h));
    }
    ordered_ = std::move(ordered);
    by_name_ = std::move(by_name);
}

std::shared_ptr<GatewayHealth> GatewayHealthTable::find(std::string_view name) const {
    std::shared_lock lock(mutex_);
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
}

bool GatewayHealthTable::usable(std::string_view name) const {
    std::shared_lock lock(mutex_);
    auto it = by_name_.find(name);
    return it == by_name_.end() || it->second->usable();
}

std::optional<bool> GatewayHealthTable::disable(std::string_view name) {
    auto h = find(name);
    if (!h) return std::nullopt;
    return h->disable();
}

std::optional<bool> GatewayHealthTable::enable(std::string_view name) {
    auto h = find(name);
    if (!h) return std::nullopt;
    return h->enable();
}

std::vector<std::shared_ptr<GatewayHealth>> GatewayHealthTable::probed() const {
    std::shared_lock lock(mutex_);
    std::vector<std::shared_ptr<GatewayHealth>> out;
    for (const auto& h : ordered_)
        if (h->snapshot().probing) out.push_back(h);
    return out;
}

std::vector<GatewayHealthSnapshot> GatewayHealthTable::snapshot() const {
    std::shared_lock lock(mutex_);
    std::vector<GatewayHealthSnapshot> out;
    out.reserve(ordered_.size());
    for (const auto& h : ordered_) out.push_back(h->snapshot());
    return out;
}

}  // namespace sipproxy::routing
