#pragma once
// `sipproxyctl trace`: the daemon's live SIP trace (the `trace` streaming command,
// docs/control-protocol.md), printed as the messages arrive until Ctrl-C.
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "control_client.hpp"

namespace sipproxyctl {

// Sends `trace` with `args` (call_id, user, source) and prints every message to `out`, for
// humans or one JSON object per line, until SIGINT/SIGTERM (then returns normally). Throws
// what ControlClient throws: CommandFailed when the daemon refuses the trace, Unreachable
// when it goes away.
void trace(ControlClient& client, const nlohmann::json& args, bool json, std::ostream& out);

// One traced message for humans: a header line
// `2026-12-04T18:30:01.123Z  IN  udp 127.0.0.1:5070 -> 127.0.0.1:5060  (412 bytes)`,
// then the message's lines with control characters escaped, then a blank line.
std::string human_trace_event(const nlohmann::json& event);

}  // namespace sipproxyctl
