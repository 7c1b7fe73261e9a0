#include "cdr/cdr_line.hpp"

#include <ctime>
#include <nlohmann/json.hpp>

namespace sipproxy::cdr {

using nlohmann::ordered_json;
using proxy::CallRecord;

std::string rfc3339_ms(proxy::WallTime t) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    long frac = static_cast<long>(ms % 1000);
    if (frac < 0) frac += 1000, --secs;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03ldZ", frac);
    return buf;
}

namespace {

ordered_json time_or_null(const CallRecord& c, const std::optional<proxy::SteadyTime>& t) {
    if (!t) return nullptr;
    return rfc3339_ms(c.wall(*t));
}

std::int64_t ms_between(proxy::SteadyTime a, proxy::SteadyTime b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

ordered_json text_or_null(const std::string& s) {
    if (s.empty()) return nullptr;
    return s;
}

}  // namespace

std::string cdr_line(const CallRecord& c) {
    ordered_json j;
    j["record_id"] = c.record_id;
    j["call_id"] = c.call_id;
    j["from_tag"] = c.from_tag;
    j["to_tag"] = text_or_null(c.to_tag);
    j["caller"] = c.caller;
    j["callee"] = c.callee;
    j["target"] = text_or_null(c.target);
    j["route"] = text_or_null(c.route);
    j["gateway"] = text_or_null(c.gateway);
    j["source_ip"] = c.source_ip;
    j["source_port"] = c.source_port;
    j["transport"] = c.transport;
    j["auth_user"] = text_or_null(c.auth_user);
    j["user_agent"] = text_or_null(c.user_agent);
    j["created"] = rfc3339_ms(c.created_wall);
    j["provisional"] = time_or_null(c, c.provisional);
    j["answered"] = time_or_null(c, c.answered);
    j["ended"] = time_or_null(c, c.ended);
    // setup: INVITE to its final response (the answer, or the failure); duration: answer
    // to end (0 for a call never answered: nothing to bill).
    const auto final_at = c.answered ? c.answered : c.ended;
    j["setup_ms"] =
        final_at ? ordered_json(ms_between(c.created, *final_at)) : ordered_json(nullptr);
    j["duration_ms"] = c.answered && c.ended ? ms_between(*c.answered, *c.ended) : 0;
    j["status"] = c.status ? ordered_json(c.status) : ordered_json(nullptr);
    j["reason"] = text_or_null(c.reason);
    j["outcome"] = std::string(proxy::to_string(c.outcome));
    j["ended_by"] = c.ended_by ? ordered_json(std::string(proxy::to_string(*c.ended_by)))
                               : ordered_json(nullptr);
    // Replace: a hostile User-Agent with invalid UTF-8 must not cost the record.
    return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace sipproxy::cdr
