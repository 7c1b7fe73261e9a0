#pragma once
// The call counters (calls.* in `show stats`), the attempts by outcome and the call-timing
// histograms, kept from the call events in the metrics registry.
#include "metrics/registry.hpp"
#include "proxy/call_events.hpp"
#include "proxy/stats.hpp"

namespace sipproxy::proxy {

class CallMetrics : public CallListener {
public:
    CallMetrics(Stats& stats, metrics::Registry& registry);
    void on_call(CallEvent event, const CallRecord& call) override;

private:
    Stats& stats_;
    metrics::Counter& outcomes_;  // finished attempts, series by CallOutcome
    // Seconds from the INVITE to its 2xx, and to its first 18x (post-dial delay).
    metrics::ShardedHistogram& setup_time_;
    metrics::ShardedHistogram& post_dial_delay_;
};

}  // namespace sipproxy::proxy
