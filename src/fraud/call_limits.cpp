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
            const std::uint32_t next = (it == counters.end() ? 0 : it->second.value(l, now)) + 1;
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
            if (const auto n = e.value(l, now); warning && n >= warning)
                v.warnings.push_back(Crossing{c.scope, l, n, warning});
        }
    }
    locks.clear();
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
