#include "proxy/call_log.hpp"

#include <chrono>

#include "base/log.hpp"
#include "base/log_fields.hpp"

namespace sipproxy::proxy {

namespace {

using log::field;
using log::quoted;

std::string source(const CallRecord& c) {
    const bool v6 = c.source_ip.find(':') != std::string::npos;
    return c.transport + ":" + (v6 ? "[" + c.source_ip + "]" : c.source_ip) + ":" +
           std::to_string(c.source_port);
}

long long ms_between(SteadyTime a, SteadyTime b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

void parties(std::string& out, const CallRecord& c) {
    field(out, "caller", c.caller);
    field(out, "callee", c.callee);
}

}  // namespace

std::string call_log_line(CallEvent event, const CallRecord& c) {
    std::string out;
    switch (event) {
    case CallEvent::Answered:
    case CallEvent::Failed:
    case CallEvent::Cancelled:
    case CallEvent::Refused: {
        out = "attempt from " + source(c) + ":";
        out += " status=" + std::to_string(c.status);
        quoted(out, "reason", c.reason);
        field(out, "outcome", to_string(c.outcome));
        parties(out, c);
        field(out, "target", c.target);
        field(out, "gateway", c.gateway);
        field(out, "route", c.route);
        field(out, "user", c.auth_user);
        // INVITE to its final response (the answer, the failure, or the CANCEL's end).
        const auto final_at = c.answered ? c.answered : c.ended;
        out += " setup_ms=" + (final_at ? std::to_string(ms_between(c.created, *final_at)) : "-");
        return out;
    }
    case CallEvent::Ended:
    case CallEvent::Expired: {
        out = "ended from " + source(c) + ":";
        field(out, "ended_by", c.ended_by ? to_string(*c.ended_by) : std::string_view{});
        out += " duration_ms=" + (c.answered && c.ended ? std::to_string(ms_between(*c.answered, *c.ended))
                                                        : std::string("0"));
        parties(out, c);
        field(out, "target", c.target);
        field(out, "gateway", c.gateway);
        return out;
    }
    case CallEvent::Started:
    case CallEvent::Provisional: break;
    }
    return out;
}

void CallLog::on_call(CallEvent event, const CallRecord& call) {
    if (!log::enabled(log::Level::info)) return;
    const auto line = call_log_line(event, call);
    if (!line.empty()) log::call(log::Level::info, call.call_id, "call {}", line);
}

}  // namespace sipproxy::proxy
