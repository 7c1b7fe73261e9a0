#include "proxy/call_metrics.hpp"

namespace sipproxy::proxy {

namespace {
double seconds(SteadyTime a, SteadyTime b) { return std::chrono::duration<double>(b - a).count(); }
}  // namespace

std::vector<std::pair<std::string_view, std::uint64_t>> CallMetrics::outcomes() const {
    std::vector<std::pair<std::string_view, std::uint64_t>> out;
    for (std::size_t i = 0; i < outcomes_.size(); ++i)
        out.emplace_back(to_string(static_cast<CallOutcome>(i)),
                         outcomes_[i].load(std::memory_order_relaxed));
    return out;
}

void CallMetrics::on_call(CallEvent event, const CallRecord& call) {
    if (is_final(event))
        outcomes_[static_cast<std::size_t>(call.outcome)].fetch_add(1, std::memory_order_relaxed);
    switch (event) {
    case CallEvent::Started: stats_.call_started(); break;
    case CallEvent::Provisional:
        if (call.provisional) post_dial_delay.observe(seconds(call.created, *call.provisional));
        break;
    case CallEvent::Answered:
        stats_.call_answered();
        if (call.answered) setup_time.observe(seconds(call.created, *call.answered));
        break;
    case CallEvent::Failed:
    case CallEvent::Cancelled: stats_.call_failed(); break;
    case CallEvent::Refused:
    case CallEvent::Ended:
    case CallEvent::Expired: break;
    }
}

}  // namespace sipproxy::proxy
