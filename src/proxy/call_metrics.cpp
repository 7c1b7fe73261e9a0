#include "proxy/call_metrics.hpp"

namespace sipproxy::proxy {

namespace {
double seconds(SteadyTime a, SteadyTime b) { return std::chrono::duration<double>(b - a).count(); }
}  // namespace

namespace {

std::vector<metrics::SeriesSpec> by_outcome() {
    std::vector<metrics::SeriesSpec> out;
    for (std::size_t i = 0; i <= static_cast<std::size_t>(CallOutcome::PolicyRefused); ++i) {
        const auto name = std::string(to_string(static_cast<CallOutcome>(i)));
        out.push_back({{name}, "calls.attempts." + name});
    }
    return out;
}

std::vector<double> call_bounds() { return {0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60}; }

}  // namespace

CallMetrics::CallMetrics(Stats& stats, metrics::Registry& r)
    : stats_(stats),
      outcomes_(r.counter("sipproxy_call_attempts_total",
                          "Call attempts that ended (one CDR each), by outcome.", {"outcome"},
                          by_outcome())),
      setup_time_(r.histogram("sipproxy_call_setup_seconds",
                              "Time from INVITE to its 2xx, answered calls.", call_bounds(), {},
                              {{{}, "calls.setup_seconds"}})),
      post_dial_delay_(r.histogram("sipproxy_call_post_dial_delay_seconds",
                                   "Time from INVITE to its first 18x (post-dial delay).",
                                   call_bounds(), {}, {{{}, "calls.post_dial_delay_seconds"}})) {}

void CallMetrics::on_call(CallEvent event, const CallRecord& call) {
    if (is_final(event))
        outcomes_.inc(static_cast<std::size_t>(call.outcome));
    switch (event) {
    case CallEvent::Started: stats_.call_started(); break;
    case CallEvent::Provisional:
        if (call.provisional) post_dial_delay_.observe(0, seconds(call.created, *call.provisional));
        break;
    case CallEvent::Answered:
        stats_.call_answered();
        if (call.answered) setup_time_.observe(0, seconds(call.created, *call.answered));
        break;
    case CallEvent::Failed:
    case CallEvent::Cancelled: stats_.call_failed(); break;
    case CallEvent::Refused:
    case CallEvent::Ended:
    case CallEvent::Expired: break;
    }
}

}  // namespace sipproxy::proxy
