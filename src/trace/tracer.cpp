#include "trace/tracer.hpp"

#include <deque>

namespace sipproxy::trace {

struct Tracer::Session {
    Session(std::size_t i, TraceFilter f, std::size_t calls, std::function<void()> w)
        : id(i), matcher(std::move(f), calls), wake(std::move(w)) {}
    std::size_t id;
    CallMatcher matcher;
    std::function<void()> wake;
    std::deque<std::shared_ptr<const TraceEvent>> queue;
    std::size_t queued_bytes = 0;
    std::uint64_t dropped = 0;
    bool woken = false;  // wake() called since the last take()
};

Tracer::Tracer(TraceLimits limits) : limits_(limits) {}

Tracer::~Tracer() = default;

TraceSubscription::~TraceSubscription() {
    tracer_->close(id_);
}

TraceBatch TraceSubscription::take() {
    return tracer_->take(id_);
}

void Tracer::record(const Tap& tap, const std::function<Endpoints()>& endpoints) {
    const auto keys = trace_keys(tap.bytes);
    std::shared_ptr<const TraceEvent> event;  // made once, shared by every session
    std::vector<std::function<void()>> to_wake;
    {
        std::lock_guard lock(mutex_);
        for (auto& s : sessions_) {
            if (!s->matcher.matches(tap.direction, tap.remote, keys)) continue;
            if (s->queue.size() >= limits_.queue_messages ||
                s->queued_bytes + tap.bytes.size() > limits_.queue_bytes) {
                ++s->dropped;
                continue;
            }
            if (!event) {
                auto e = std::make_shared<TraceEvent>();
                e->time = std::chrono::system_clock::now();
                e->direction = tap.direction;
                e->transport = std::string(tap.transport);
                auto where = endpoints();
                e->local = std::move(where.local);
                e->remote = std::move(where.remote);
                e->call_id = std::string(keys.call_id);
                e->message = std::string(tap.bytes);
                event = std::move(e);
            }
            s->queue.push_back(event);
            s->queued_bytes += tap.bytes.size();
            if (!s->woken && s->wake) {
                s->woken = true;
                to_wake.push_back(s->wake);
            }
        }
    }
    for (auto& w : to_wake) w();
}

Expected<std::unique_ptr<TraceSubscription>, std::string> Tracer::open(TraceFilter filter,
                                                                       std::function<void()> wake) {
    std::lock_guard lock(mutex_);
    if (sessions_.size() >= limits_.max_sessions)
        return Unexpected(std::string("too many trace sessions: ") +
                          std::to_string(limits_.max_sessions) +
                          " are running (the limit); end one first");
    const auto id = next_id_++;
    sessions_.push_back(std::make_unique<Session>(id, std::move(filter), limits_.remembered_calls,
                                                  std::move(wake)));
    active_.store(sessions_.size(), std::memory_order_relaxed);
    return std::make_unique<TraceSubscription>(*this, id);
}

TraceBatch Tracer::take(std::size_t id) {
    TraceBatch batch;
    std::lock_guard lock(mutex_);
    for (auto& s : sessions_) {
        if (s->id != id) continue;
        batch.events.assign(s->queue.begin(), s->queue.end());
        batch.dropped = s->dropped;
        s->queue.clear();
        s->queued_bytes = 0;
        s->dropped = 0;
        s->woken = false;
        break;
    }
    return batch;
}

void Tracer::close(std::size_t id) {
    std::unique_ptr<Session> gone;  // destroyed after the lock is released
    std::lock_guard lock(mutex_);
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
        if ((*it)->id != id) continue;
        gone = std::move(*it);
        sessions_.erase(it);
        break;
    }
    active_.store(sessions_.size(), std::memory_order_relaxed);
}

}  // namespace sipproxy::trace
