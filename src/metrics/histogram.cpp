#include "metrics/histogram.hpp"

#include <algorithm>

namespace sipproxy::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
    std::sort(bounds_.begin(), bounds_.end());
    for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double value) {
    // The first bucket whose bound is >= value ("le" is inclusive).
    const auto i = static_cast<std::size_t>(
        std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
}

HistogramData Histogram::snapshot() const {
    HistogramData d;
    d.bounds = bounds_;
    d.counts.resize(bounds_.size() + 1);
    std::uint64_t total = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        d.counts[i] = counts_[i].load(std::memory_order_relaxed);
        total += d.counts[i];
    }
    d.sum = sum_.load(std::memory_order_relaxed);
    // The buckets are the truth: a scrape between the two adds must still satisfy
    // count == +Inf bucket.
    d.count = total;
    return d;
}

}  // namespace sipproxy::metrics
