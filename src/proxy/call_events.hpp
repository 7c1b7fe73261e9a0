#pragma once
// A call's life, told once by the part that knows each step (issue #13): the proxy core
// starts it (the pipeline chose its route), the response context sees its first 18x, its
// answer or its failure, the BYE's final response ends it, the daemon's sweep expires it.
// CallEvents keeps what is known of every call in progress (one CallRecord each) and tells
// each listener (`show calls`, the CDR writer, the call metrics) with the whole record.
// Thread-safe: every worker reports here; listeners are added before the workers start.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sipproxy::proxy {

enum class CallOutcome : std::uint8_t {
    Answered,       // a 2xx came back
    Busy,           // 486, 600
    NoAnswer,       // 408, 480, timer C or the route's no-answer timer
    Cancelled,      // the caller sent CANCEL
    Rejected,       // any other 3xx-6xx from downstream, or a 404/480/484 from the proxy
    Failed,         // 5xx (the proxy's too: no gateway up, unreachable target), 0 at shutdown
    PolicyRefused,  // refused by the proxy's own policy: 403, 400 on a bad digest-uri
};
std::string_view to_string(CallOutcome o);

enum class EndedBy : std::uint8_t { Caller, Callee, Proxy, Timeout, Shutdown };
std::string_view to_string(EndedBy e);

enum class CallEvent : std::uint8_t {
    Started,      // an INVITE out of dialog accepted for routing
    Provisional,  // its first 18x
    Answered,     // its first 2xx (a dialog now exists)
    Failed,       // a final non-2xx (outcome says which kind)
    Cancelled,    // ended by the caller's CANCEL
    Refused,      // answered by the proxy itself without routing (no Started before it)
    Ended,        // the 2xx to a BYE passed back (or shutdown)
    Expired,      // answered, but no BYE seen within cdr.max_call_duration
};
// The events after which the call is gone.
inline bool is_final(CallEvent e) { return e >= CallEvent::Failed; }

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

// What is known about one call attempt. Wall-clock time once, at its start; the later
// points are steady-clock (durations survive clock steps) and shown as wall time by
// offset from the start.
struct CallRecord {
    std::string record_id;
    std::string call_id, from_tag, to_tag;
    std::string caller;      // From URI
    std::string callee;      // the original Request-URI
    std::string target;      // the Request-URI of the branch that answered (or failed last)
    std::string route;       // [[routes]] name, "" when not routed by the dial plan
    std::string gateway;     // [[gateways]] name of the answering (or last) branch
    std::string source_ip;
    std::uint16_t source_port = 0;
    std::string transport;   // "udp" | "tcp"
    std::string auth_user;   // the digest-authenticated user, "" when none
    std::string user_agent;

    WallTime created_wall{};
    SteadyTime created{};
    std::optional<SteadyTime> provisional, answered, ended;
    int status = 0;          // the final status (200 when answered); 0: none
    std::string reason;
    CallOutcome outcome = CallOutcome::Failed;
    std::optional<EndedBy> ended_by;

    WallTime wall(SteadyTime t) const {
        return created_wall + std::chrono::duration_cast<WallTime::duration>(t - created);
    }
    // "trying" | "ringing" | "confirmed" | "ended"
    std::string_view state() const;
};

// Who fills in the record at an event (read only inside the callback).
class CallListener {
public:
    virtual ~CallListener() = default;
    virtual void on_call(CallEvent event, const CallRecord& call) = 0;
};

// What a final response says about the attempt (`local`: the proxy made it up).
CallOutcome outcome_of(int status, bool local, bool cancelled);

class CallEvents {
public:
    CallEvents();
    // Before the workers start; the listener outlives this.
    void add(CallListener& listener) { listeners_.push_back(&listener); }

    // False when the call (Call-ID, From tag) is known already (a spiral, a retransmitted
    // INVITE on another worker): only the first context reports on it.
    bool started(CallRecord call);
    void provisional(std::string_view call_id, std::string_view from_tag);
    void answered(std::string_view call_id, std::string_view from_tag, std::string_view to_tag,
                  std::string_view target, std::string_view gateway);
    // A final non-2xx sent upstream.
    void failed(std::string_view call_id, std::string_view from_tag, int status,
                std::string_view reason, bool local, bool cancelled, std::string_view target,
                std::string_view gateway);
    // An INVITE the proxy answered itself (no routing): a record of its own, unless it is
    // a call in progress coming back (a spiral), which its first pass reports.
    void refused(CallRecord call, int status, std::string_view reason);
    // A BYE's final response passed back: a 2xx, or 481/408, which end the dialog too
    // (RFC 3261 12.2.1.2). The BYE's From tag says who hung up.
    void bye_answered(std::string_view call_id, std::string_view bye_from_tag,
                      std::string_view bye_to_tag);
    // Answered calls older than max_duration end as expired (no BYE seen); attempts that
    // never got a final response (never expected) end as failed.
    std::size_t expire(SteadyTime now, std::chrono::seconds max_duration);
    // Every call still known ends (ended_by shutdown).
    void shutdown();
    // The operator ends the calls with this Call-ID (`sipproxyctl call end`: a call whose
    // BYE bypassed the proxy): answered ones end (ended_by proxy), others fail. No BYE is
    // sent. Returns how many.
    std::size_t end_by_operator(std::string_view call_id, SteadyTime now);

    std::vector<CallRecord> list() const;
    std::size_t active() const;

private:
    struct Shard {
        mutable std::mutex mu;
        std::unordered_map<std::string, CallRecord> calls;  // Call-ID '\n' From tag
    };
    Shard& shard(std::string_view call_id);
    void tell(CallEvent e, const CallRecord& c) const {
        for (auto* l : listeners_) l->on_call(e, c);
    }
    std::string next_record_id();

    std::vector<CallListener*> listeners_;
    std::array<Shard, 16> shards_;
    std::string id_prefix_;  // random per process: record ids stay unique across restarts
    std::atomic<std::uint64_t> sequence_{0};
};

}  // namespace sipproxy::proxy
