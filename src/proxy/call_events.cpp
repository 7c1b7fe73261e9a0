#include "proxy/call_events.hpp"

#include <cstdio>
#include <functional>
#include <random>

namespace sipproxy::proxy {

std::string_view to_string(CallOutcome o) {
    switch (o) {
    case CallOutcome::Answered: return "answered";
    case CallOutcome::Busy: return "busy";
    case CallOutcome::NoAnswer: return "no-answer";
    case CallOutcome::Cancelled: return "cancelled";
    case CallOutcome::Rejected: return "rejected";
    case CallOutcome::Failed: return "failed";
    case CallOutcome::PolicyRefused: return "policy-refused";
    }
    return "failed";
}

std::string_view to_string(EndedBy e) {
    switch (e) {
    case EndedBy::Caller: return "caller";
    case EndedBy::Callee: return "callee";
    case EndedBy::Proxy: return "proxy";
    case EndedBy::Timeout: return "timeout";
    case EndedBy::Shutdown: return "shutdown";
    }
    return "proxy";
}

std::string_view CallRecord::state() const {
    if (ended) return "ended";
    if (answered) return "confirmed";
    if (provisional) return "ringing";
    return "trying";
}

CallOutcome outcome_of(int status, bool local, bool cancelled) {
    if (cancelled) return CallOutcome::Cancelled;
    if (status >= 200 && status < 300) return CallOutcome::Answered;
    if (status == 486 || status == 600) return CallOutcome::Busy;
    if (status == 408 || (status == 480 && !local)) return CallOutcome::NoAnswer;
    if (status >= 500 && status < 600) return CallOutcome::Failed;
    if (local && (status == 403 || status == 400)) return CallOutcome::PolicyRefused;
    if (status >= 300) return CallOutcome::Rejected;
    return CallOutcome::Failed;
}

namespace {
std::string key(std::string_view call_id, std::string_view from_tag) {
    std::string k;
    k.reserve(call_id.size() + from_tag.size() + 1);
    k.append(call_id).push_back('\n');
    k.append(from_tag);
    return k;
}
}  // namespace

CallEvents::CallEvents() {
    std::random_device rd;
    char buf[20];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
    id_prefix_ = buf;
}

std::string CallEvents::next_record_id() {
    return id_prefix_ + "-" + std::to_string(sequence_.fetch_add(1, std::memory_order_relaxed) + 1);
}

CallEvents::Shard& CallEvents::shard(std::string_view id) {
    return shards_[std::hash<std::string_view>{}(id) % shards_.size()];
}

bool CallEvents::started(CallRecord call) {
    auto& s = shard(call.call_id);
    std::lock_guard lock(s.mu);
    auto [it, inserted] = s.calls.try_emplace(key(call.call_id, call.from_tag));
    if (!inserted) return false;
    call.record_id = next_record_id();
    it->second = std::move(call);
    tell(CallEvent::Started, it->second);
    return true;
}

void CallEvents::provisional(std::string_view call_id, std::string_view from_tag) {
    auto& s = shard(call_id);
    std::lock_guard lock(s.mu);
    auto it = s.calls.find(key(call_id, from_tag));
    if (it == s.calls.end() || it->second.provisional || it->second.answered) return;
    it->second.provisional = std::chrono::steady_clock::now();
    tell(CallEvent::Provisional, it->second);
}

void CallEvents::answered(std::string_view call_id, std::string_view from_tag,
                          std::string_view to_tag, std::string_view target,
                          std::string_view gateway) {
    auto& s = shard(call_id);
    std::lock_guard lock(s.mu);
    auto it = s.calls.find(key(call_id, from_tag));
    if (it == s.calls.end() || it->second.answered) return;  // a second 2xx of a fork
    auto& c = it->second;
    c.answered = std::chrono::steady_clock::now();
    c.to_tag = std::string(to_tag);
    c.target = std::string(target);
    c.gateway = std::string(gateway);
    c.status = 200;
    c.reason = "OK";
    c.outcome = CallOutcome::Answered;
    tell(CallEvent::Answered, c);
}

void CallEvents::failed(std::string_view call_id, std::string_view from_tag, int status,
                        std::string_view reason, bool local, bool cancelled,
                        std::string_view target, std::string_view gateway) {
    auto& s = shard(call_id);
    std::lock_guard lock(s.mu);
    auto it = s.calls.find(key(call_id, from_tag));
    if (it == s.calls.end() || it->second.answered) return;
    auto& c = it->second;
    c.ended = std::chrono::steady_clock::now();
    c.status = status;
    c.reason = std::string(reason);
    c.outcome = outcome_of(status, local, cancelled);
    c.ended_by = cancelled ? EndedBy::Caller : local ? EndedBy::Proxy : EndedBy::Callee;
    if (!target.empty()) c.target = std::string(target);
    if (!gateway.empty()) c.gateway = std::string(gateway);
    tell(cancelled ? CallEvent::Cancelled : CallEvent::Failed, c);
    s.calls.erase(it);
}

void CallEvents::refused(CallRecord call, int status, std::string_view reason) {
    {
        // A spiral's second pass refused (482 Loop Detected): the first pass reports it.
        auto& s = shard(call.call_id);
        std::lock_guard lock(s.mu);
        if (s.calls.count(key(call.call_id, call.from_tag))) return;
    }
    call.record_id = next_record_id();
    call.ended = std::chrono::steady_clock::now();
    call.status = status;
    call.reason = std::string(reason);
    call.outcome = outcome_of(status, true, false);
    call.ended_by = EndedBy::Proxy;
    tell(CallEvent::Refused, call);
}

void CallEvents::bye_answered(std::string_view call_id, std::string_view bye_from_tag,
                              std::string_view bye_to_tag) {
    auto& s = shard(call_id);
    std::lock_guard lock(s.mu);
    // The caller's BYE carries the call's From tag in From; the callee's in To.
    auto it = s.calls.find(key(call_id, bye_from_tag));
    EndedBy by = EndedBy::Caller;
    if (it == s.calls.end()) {
        it = s.calls.find(key(call_id, bye_to_tag));
        by = EndedBy::Callee;
    }
    if (it == s.calls.end() || !it->second.answered) return;
    // A callee's BYE names the caller's tag in To and its own in From.
    if (by == EndedBy::Callee && !it->second.to_tag.empty() && it->second.to_tag != bye_from_tag)
        return;
    auto& c = it->second;
    c.ended = std::chrono::steady_clock::now();
    c.ended_by = by;
    tell(CallEvent::Ended, c);
    s.calls.erase(it);
}

std::size_t CallEvents::expire(SteadyTime now, std::chrono::seconds max_duration) {
    std::size_t n = 0;
    for (auto& s : shards_) {
        std::lock_guard lock(s.mu);
        for (auto it = s.calls.begin(); it != s.calls.end();) {
            auto& c = it->second;
            const SteadyTime since = c.answered ? *c.answered : c.created;
            if (now - since < max_duration) {
                ++it;
                continue;
            }
            c.ended = now;
            if (c.answered) {
                c.ended_by = EndedBy::Timeout;
                tell(CallEvent::Expired, c);
            } else {
                c.ended_by = EndedBy::Proxy;
                c.outcome = CallOutcome::Failed;
                tell(CallEvent::Failed, c);
            }
            it = s.calls.erase(it);
            ++n;
        }
    }
    return n;
}

std::size_t CallEvents::end_by_operator(std::string_view call_id, SteadyTime now) {
    std::size_t n = 0;
    auto& s = shard(call_id);
    std::lock_guard lock(s.mu);
    for (auto it = s.calls.begin(); it != s.calls.end();) {
        auto& c = it->second;
        if (c.call_id != call_id) {
            ++it;
            continue;
        }
        c.ended = now;
        c.ended_by = EndedBy::Proxy;
        if (c.answered) {
            tell(CallEvent::Ended, c);
        } else {
            c.outcome = CallOutcome::Failed;
            tell(CallEvent::Failed, c);
        }
        it = s.calls.erase(it);
        ++n;
    }
    return n;
}

void CallEvents::shutdown() {
    const auto now = std::chrono::steady_clock::now();
    for (auto& s : shards_) {
        std::lock_guard lock(s.mu);
        for (auto& [k, c] : s.calls) {
            c.ended = now;
            c.ended_by = EndedBy::Shutdown;
            if (c.answered) {
                tell(CallEvent::Ended, c);
            } else {
                c.outcome = CallOutcome::Failed;
                c.reason = "proxy shut down";
                tell(CallEvent::Failed, c);
            }
        }
        s.calls.clear();
    }
}

std::vector<CallRecord> CallEvents::list() const {
    std::vector<CallRecord> out;
    for (const auto& s : shards_) {
        std::lock_guard lock(s.mu);
        for (const auto& [k, v] : s.calls) out.push_back(v);
    }
    return out;
}

std::size_t CallEvents::active() const {
    std::size_t n = 0;
    for (const auto& s : shards_) {
        std::lock_guard lock(s.mu);
        n += s.calls.size();
    }
    return n;
}

}  // namespace sipproxy::proxy
