#pragma once
// `trace` on the control socket (sipproxyctl trace): a streaming command that opens a
// session on the Tracer and writes one JSON line per traced message until the client
// closes (docs/control-protocol.md).
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "control/command.hpp"
#include "trace/tracer.hpp"

namespace asio {
class io_context;
}

namespace sipproxy::daemon {

// The handler; its streams run on `control` (the control socket's io_context).
control::StreamHandler trace_command(std::shared_ptr<trace::Tracer> tracer,
                                     asio::io_context& control);

// One traced message as a line of the stream (without the newline):
// {"time","direction","transport","local","remote","call_id","size","message"}.
std::string trace_event_line(const trace::TraceEvent& event);

// The filter of a trace request's arguments (call_id, user, source); throws
// control::CommandError for a bad argument (e.g. a malformed CIDR).
trace::TraceFilter trace_filter(const nlohmann::json& args);

}  // namespace sipproxy::daemon
