#pragma once
// The live SIP trace (sipproxyctl trace): every worker's transport hands each message it
// receives or sends to the Tracer, which copies the ones a trace session wants into that
// session's queue; the control socket drains the queue to the operator.
//
// Nobody tracing costs one relaxed atomic load per message (active()). A slow reader never
// holds up a worker: each session's queue is bounded and what does not fit is counted as
// dropped.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/address_key.hpp"
#include "base/expected.hpp"
#include "trace/call_matcher.hpp"

namespace sipproxy::trace {

struct TraceLimits {
    std::size_t max_sessions = 4;         // concurrent `sipproxyctl trace` clients
    std::size_t queue_messages = 2000;    // per session, waiting to be written
    std::size_t queue_bytes = 4 << 20;    // per session, message bytes waiting
    std::size_t remembered_calls = 1024;  // per session, Call-IDs matched by user/source
};

// One message as the transport saw it.
struct TraceEvent {
    std::chrono::system_clock::time_point time;
    Direction direction = Direction::In;
    std::string transport;  // "udp", "tcp"
    std::string local;      // "127.0.0.1:5060", "[::1]:5060"
    std::string remote;
    std::string call_id;  // "" when the message has none
    std::string message;  // the bytes as received or sent
};

// A message passing the transport, described cheaply; `endpoints` renders the addresses
// only when some session wants the message.
struct Tap {
    Direction direction = Direction::In;
    std::string_view transport;
    AddressKey remote;
    std::string_view bytes;
};
struct Endpoints {
    std::string local, remote;
};

class Tracer;

// What a session has waiting: the events in order, and how many messages it wanted were
// dropped since the last take() because its queue was full.
struct TraceBatch {
    std::vector<std::shared_ptr<const TraceEvent>> events;
    std::uint64_t dropped = 0;
    bool empty() const { return events.empty() && dropped == 0; }
};

// A session's handle: the session ends when it is destroyed.
class TraceSubscription {
  public:
    TraceSubscription(Tracer& tracer, std::size_t id) : tracer_(&tracer), id_(id) {}
    ~TraceSubscription();
    TraceSubscription(const TraceSubscription&) = delete;
    TraceSubscription& operator=(const TraceSubscription&) = delete;

    // Takes everything waiting. After an empty batch, the next message queued calls the
    // session's wake function again.
    TraceBatch take();

  private:
    Tracer* tracer_;
    std::size_t id_;
};

class Tracer {
  public:
    explicit Tracer(TraceLimits limits = {});
    ~Tracer();
    Tracer(const Tracer&) = delete;
    Tracer& operator=(const Tracer&) = delete;

    // The hot path's test: false unless a session is open.
    bool active() const { return active_.load(std::memory_order_relaxed) != 0; }

    // Offers a message to every session (call only when active()).
    void record(const Tap& tap, const std::function<Endpoints()>& endpoints);

    // Opens a session, or says why not (too many open). `wake` is called from the thread
    // that queued a message (no lock held) when the session's queue stops being empty.
    Expected<std::unique_ptr<TraceSubscription>, std::string> open(TraceFilter filter,
                                                                   std::function<void()> wake);

    std::size_t sessions() const { return active_.load(std::memory_order_relaxed); }
    const TraceLimits& limits() const { return limits_; }

  private:
    friend class TraceSubscription;
    struct Session;
    TraceBatch take(std::size_t id);
    void close(std::size_t id);

    TraceLimits limits_;
    std::atomic<std::size_t> active_{0};
    std::mutex mutex_;  // everything below; taken only while someone traces
    std::vector<std::unique_ptr<Session>> sessions_;
    std::size_t next_id_ = 1;
};

}  // namespace sipproxy::trace
