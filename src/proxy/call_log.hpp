#pragma once
// One info line per finished call attempt, and one when an answered call ends (issue #17):
// what an operator greps to see why a call failed. A listener of the call events, like the
// CDR writer and the call metrics. The line format is stable (sipproxyd(8), LOG LINES):
//   call attempt from udp:192.0.2.7:5060: status=486 reason="Busy Here" outcome=busy
//     caller=sip:alice@example.test callee=sip:bob@example.test target=sip:bob@192.0.2.9:5062
//     gateway=- route=- user=alice setup_ms=412
//   call ended from udp:192.0.2.7:5060: ended_by=caller duration_ms=61203 caller=... callee=...
// (one line each; the Call-ID is in the line's [call-id] prefix).
#include <string>

#include "proxy/call_events.hpp"

namespace sipproxy::proxy {

// The text after "call attempt " / "call ended ", or "" for an event that writes no line.
std::string call_log_line(CallEvent event, const CallRecord& call);

class CallLog : public CallListener {
public:
    void on_call(CallEvent event, const CallRecord& call) override;
};

}  // namespace sipproxy::proxy
