#pragma once
// A Prometheus histogram shared by every worker: fixed bucket bounds, relaxed atomics.
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace sipproxy::metrics {

struct HistogramData {
    std::vector<double> bounds;         // upper bounds ("le"), ascending, without +Inf
    std::vector<std::uint64_t> counts;  // per bucket, not cumulative; one more: above the last
    double sum = 0;
    std::uint64_t count = 0;
};

class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double value);
    HistogramData snapshot() const;

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1
    std::atomic<double> sum_{0};
    std::atomic<std::uint64_t> count_{0};
};

}  // namespace sipproxy::metrics
