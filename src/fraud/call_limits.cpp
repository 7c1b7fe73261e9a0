#include "fraud/call_limits.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <tuple>

namespace sipproxy::fraud {

std::string_view to_string(Limit l) {
    switch (l) {
        case Limit::CallsPerMinute:
            return "calls_per_minute";
        case Limit::CallsPerDay:
            return "calls_per_day";
        case Limit::ConcurrentCalls:
            return "concurrent_calls";
    }
    return "calls_per_minute";
}

const config::FraudThreshold& threshold(const config::FraudRule& r, Limit l) {
    switch (l) {
        case Limit::CallsPerMinute:
            return r.calls_per_minute;
        case Limit::CallsPerDay:
            return r.calls_per_day;
        case Limit::ConcurrentCalls:
            return r.concurrent_calls;
    }
    return r.calls_per_minute;
}

const config::FraudRule* rule_for(const std::vector<config::FraudRule>& rules, const Scope& s) {
    const config::FraudRule* every = nullptr;
    for (const auto& r : rules) {
        if (r.total != s.total || r.route != s.route) continue;
        if (s.total || r.user == s.user) return &r;
        if (r.user == "*") every = &r;
    }
    return every;
}

std::uint32_t CallLimits::Counter::value(Limit l, Clock::time_point now) const {
    switch (l) {
        case Limit::CallsPerMinute:
            return minute.count(now);
        case Limit::CallsPerDay:
            return day.count(now);
        case Limit::ConcurrentCalls:
            return concurrent;
    }
    return 0;
}

// "U" or "T", the route, '\n', the user: route names are plain (no '\n').
std::string CallLimits::key_of(const Scope& s) {
    std::string k(s.total ? "T" : "U");
    k += s.route;
    k += '\n';
    k += s.user;
    return k;
}

Scope CallLimits::scope_of(std::string_view key) {
    Scope s;
    s.total = !key.empty() && key.front() == 'T';
    const auto nl = key.find('\n');
    s.route = std::string(key.substr(1, nl == std::string_view::npos ? 0 : nl - 1));
    if (nl != std::string_view::npos) s.user = std::string(key.substr(nl + 1));
    return s;
}

std::size_t CallLimits::shard_of(std::string_view key) const {
    return std::hash<std::string_view>{}(key) % shards_.size();
}

void CallLimits::sweep(Shard& s, Clock::time_point now) {
    s.swept = now;
    std::erase_if(s.counters, [&](const auto& e) { return e.second.idle(now); });
}

Verdict CallLimits::admit(const std::vector<config::FraudRule>& rules, std::string_view user,
                          std::string_view route, std::string_view call, Clock::time_point now,
                          bool hold) {
    Verdict v;
    struct Counted {
        Scope scope;
        const config::FraudRule* rule;
        std::string key;
        std::size_t shard;
    };
    std::vector<Counted> counted;  // at most four scopes
    auto consider = [&](Scope s) {
        if (const auto* r = rule_for(rules, s)) {
            auto key = key_of(s);
            const auto shard = shard_of(key);
            counted.push_back({std::move(s), r, std::move(key), shard});
        }
    };
    consider({std::string(user), "", false});
    if (!route.empty()) consider({std::string(user), std::string(route), false});
    consider({"", "", true});
    if (!route.empty()) consider({"", std::string(route), true});
    if (counted.empty()) return v;

    // All of the call's shards at once, in shard order (no deadlock with another call's),
    // so that two workers cannot both take the last call under a limit.
    std::vector<std::size_t> order;
    for (const auto& c : counted) order.push_back(c.shard);
    std::sort(order.begin(), order.end());
    order.erase(std::unique(order.begin(), order.end()), order.end());
    std::vector<std::unique_lock<std::mutex>> locks;
    for (auto i : order) locks.emplace_back(shards_[i].mu);

    for (const auto& c : counted) {
        const auto& counters = shards_[c.shard].counters;
        const auto it = counters.find(c.key);
        for (Limit l : kLimits) {
            const auto critical = threshold(*c.rule, l).critical;
            if (!critical) continue;
            std::uint32_t next = (it == counters.end() ? 0 : it->second.value(l, now)) + 1;
            if (l == Limit::ConcurrentCalls) next += remote_held(c.key, now);
            if (next > critical) {
                v.refused = Crossing{c.scope, l, next, critical};
                return v;
            }
        }
    }
    for (const auto& c : counted) {
        auto& shard = shards_[c.shard];
        if (now - shard.swept >= std::chrono::seconds(60)) sweep(shard, now);
        auto& e = shard.counters[c.key];
        e.minute.add(now);
        e.day.add(now);
        if (hold) ++e.concurrent;
        for (Limit l : kLimits) {
            const auto warning = threshold(*c.rule, l).warning;
            auto n = e.value(l, now);
            if (l == Limit::ConcurrentCalls) n += remote_held(c.key, now);
            if (warning && n >= warning)
                v.warnings.push_back(Crossing{c.scope, l, n, warning});
        }
    }
    locks.clear();
    {
        std::lock_guard lock(shared_mu_);
        if (sharing_ && kick_ && shared_calls_.empty() && shared_held_.empty()) kick_();
        if (sharing_)
            for (const auto& c : counted) {
                if (shared_calls_.size() < 100000) ++shared_calls_[c.key];
                if (hold) shared_held_.push_back(c.key);
            }
    }
    if (!hold) return v;

    auto& h = holds_[shard_of(call)];
    std::lock_guard lock(h.mu);
    auto it = h.calls.find(call);
    if (it == h.calls.end())
        it = h.calls.emplace(std::string(call), std::vector<std::string>{}).first;
    for (auto& c : counted) it->second.push_back(std::move(c.key));
    return v;
}

void CallLimits::release(std::string_view call, Clock::time_point now) {
    std::vector<std::string> keys;
    {
        auto& h = holds_[shard_of(call)];
        std::lock_guard lock(h.mu);
        auto it = h.calls.find(call);
        if (it == h.calls.end()) return;
        keys = std::move(it->second);
        h.calls.erase(it);
    }
    for (const auto& k : keys) {
        auto& shard = shards_[shard_of(k)];
        std::lock_guard lock(shard.mu);
        auto it = shard.counters.find(k);
        if (it == shard.counters.end()) continue;  // never expected: held keys are not idle
        if (it->second.concurrent) --it->second.concurrent;
        if (it->second.idle(now)) shard.counters.erase(it);
    }
    std::lock_guard lock(shared_mu_);
    if (sharing_ && kick_ && shared_calls_.empty() && shared_held_.empty()) kick_();
    if (sharing_) shared_held_.insert(shared_held_.end(), keys.begin(), keys.end());
}

void CallLimits::on_shared(std::function<void()> kick) {
    std::lock_guard lock(shared_mu_);
    kick_ = std::move(kick);
}

void CallLimits::share(bool on) {
    std::lock_guard lock(shared_mu_);
    sharing_ = on;
    shared_calls_.clear();
    shared_held_.clear();
}

CallLimits::Shared CallLimits::take_shared(bool all_held) {
    Shared out;
    std::vector<std::string> changed;
    {
        std::lock_guard lock(shared_mu_);
        out.calls.assign(shared_calls_.begin(), shared_calls_.end());
        shared_calls_.clear();
        changed.swap(shared_held_);
    }
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    if (all_held) {
        for (auto& s : shards_) {
            std::lock_guard lock(s.mu);
            for (const auto& [k, c] : s.counters)
                if (c.concurrent && !std::binary_search(changed.begin(), changed.end(), k))
                    out.held.emplace_back(k, c.concurrent);
        }
    }
    // Changed keys with their value now, 0 included (the others drop it at once).
    for (const auto& k : changed) {
        auto& shard = shards_[shard_of(k)];
        std::lock_guard lock(shard.mu);
        auto it = shard.counters.find(k);
        out.held.emplace_back(k, it == shard.counters.end() ? 0 : it->second.concurrent);
    }
    return out;
}

void CallLimits::add_calls(std::string_view key, std::uint32_t n, Clock::time_point now) {
    if (key.empty() || (key.front() != 'U' && key.front() != 'T') || n == 0) return;
    auto& shard = shards_[shard_of(key)];
    std::lock_guard lock(shard.mu);
    auto it = shard.counters.find(key);
    if (it == shard.counters.end()) {
        if (shard.counters.size() >= 65536) return;  // bounded whatever the others send
        it = shard.counters.emplace(std::string(key), Counter{}).first;
    }
    it->second.minute.add(now, n);
    it->second.day.add(now, n);
}

void CallLimits::set_held(std::string_view node, std::string_view key, std::uint32_t n,
                          Clock::time_point now) {
    if (key.empty() || (key.front() != 'U' && key.front() != 'T')) return;
    std::lock_guard lock(remote_mu_);
    auto it = remote_.find(key);
    if (it == remote_.end()) {
        if (n == 0 || remote_.size() >= 65536) return;
        it = remote_.emplace(std::string(key), std::vector<RemoteHeld>{}).first;
    }
    auto& v = it->second;
    auto r = std::find_if(v.begin(), v.end(), [&](const RemoteHeld& h) { return h.node == node; });
    if (n == 0) {
        if (r != v.end()) v.erase(r);
    } else if (r != v.end()) {
        r->n = n;
        r->seen = now;
    } else if (v.size() < 64) {
        v.push_back(RemoteHeld{std::string(node), n, now});
    }
    if (v.empty()) remote_.erase(it);
}

std::uint32_t CallLimits::remote_held(std::string_view key, Clock::time_point now) const {
    std::lock_guard lock(remote_mu_);
    auto it = remote_.find(key);
    if (it == remote_.end()) return 0;
    std::uint32_t n = 0;
    for (const auto& h : it->second)
        if (now - h.seen < kHeldFresh) n += h.n;
    return n;
}

std::vector<CallLimits::Row> CallLimits::list(const std::vector<config::FraudRule>& rules,
                                              std::optional<std::string_view> user,
                                              Clock::time_point now) {
    // What is counted now, key -> values.
    std::map<std::string, std::array<std::uint32_t, 3>> counted;
    for (auto& s : shards_) {
        std::lock_guard lock(s.mu);
        for (const auto& [k, c] : s.counters) {
            if (c.idle(now)) continue;
            auto& values = counted[k];
            for (Limit l : kLimits) values[static_cast<std::size_t>(l)] = c.value(l, now);
        }
    }
    {
        // Other nodes' calls in progress (cluster).
        std::lock_guard lock(remote_mu_);
        for (const auto& [k, v] : remote_) {
            std::uint32_t n = 0;
            for (const auto& h : v)
                if (now - h.seen < kHeldFresh) n += h.n;
            if (n) counted[k][static_cast<std::size_t>(Limit::ConcurrentCalls)] += n;
        }
    }
    // The scopes to show: the user's own (from the rules), or those counted and the totals.
    std::vector<Scope> scopes;
    auto add = [&](Scope s) {
        if (std::find(scopes.begin(), scopes.end(), s) == scopes.end())
            scopes.push_back(std::move(s));
    };
    if (user) {
        for (const auto& r : rules)
            if (!r.total && (r.user == "*" || r.user == *user))
                add({std::string(*user), r.route, false});
    } else {
        for (const auto& [k, values] : counted) add(scope_of(k));
        for (const auto& r : rules)
            if (r.total) add({"", r.route, true});
    }
    std::vector<Row> rows;
    for (const auto& s : scopes) {
        const auto* rule = rule_for(rules, s);
        if (!rule) continue;  // counted under a rule a reload removed
        const auto it = counted.find(key_of(s));
        for (Limit l : kLimits) {
            const auto& t = threshold(*rule, l);
            if (!t.warning && !t.critical) continue;
            Row row;
            row.scope = s;
            row.limit = l;
            row.value = it == counted.end() ? 0 : it->second[static_cast<std::size_t>(l)];
            row.warning = t.warning;
            row.critical = t.critical;
            rows.push_back(std::move(row));
        }
    }
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        return std::tie(a.scope.user, a.scope.route, a.scope.total, a.limit) <
               std::tie(b.scope.user, b.scope.route, b.scope.total, b.limit);
    });
    return rows;
}

void CallLimits::sweep(Clock::time_point now) {
    for (auto& s : shards_) {
        std::lock_guard lock(s.mu);
        sweep(s, now);
    }
    std::lock_guard lock(remote_mu_);
    for (auto it = remote_.begin(); it != remote_.end();) {
        std::erase_if(it->second, [&](const RemoteHeld& h) { return now - h.seen >= kHeldFresh; });
        it = it->second.empty() ? remote_.erase(it) : std::next(it);
    }
}

std::size_t CallLimits::entries() const {
    std::size_t n = 0;
    for (const auto& s : shards_) {
        std::lock_guard lock(s.mu);
        n += s.counters.size();
    }
    return n;
}

std::size_t CallLimits::held() const {
    std::size_t n = 0;
    for (const auto& h : holds_) {
        std::lock_guard lock(h.mu);
        n += h.calls.size();
    }
    return n;
}

}  // namespace sipproxy::fraud
