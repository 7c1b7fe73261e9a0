#pragma once
// The call counters (calls.* in `show stats`) and the call-timing histograms of the
// metrics endpoint, kept from the call events.
#include <array>
#include <atomic>
#include <utility>
#include <vector>

#include "metrics/histogram.hpp"
#include "proxy/call_events.hpp"
#include "proxy/stats.hpp"

namespace sipproxy::proxy {

class CallMetrics : public CallListener {
public:
    explicit CallMetrics(Stats& stats) : stats_(stats) {}
    void on_call(CallEvent event, const CallRecord& call) override;

    // Seconds from the INVITE to its 2xx, and to its first 18x (post-dial delay).
    metrics::Histogram setup_time{bounds()};
    metrics::Histogram post_dial_delay{bounds()};

    // Finished call attempts by outcome ("answered", "busy", ...), every outcome listed.
    std::vector<std::pair<std::string_view, std::uint64_t>> outcomes() const;

private:
    static std::vector<double> bounds() {
        return {0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60};
    }
    Stats& stats_;
    std::array<std::atomic<std::uint64_t>, 7> outcomes_{};  // by CallOutcome
};

}  // namespace sipproxy::proxy
