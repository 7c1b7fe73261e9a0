#pragma once
// The one list of what sipproxyd counts, read by both GET /metrics and `sipproxyctl show
// stats`, so the two cannot disagree. A family is registered once, with its Prometheus
// name, help, label names and, per series, the label values and the dotted name `show
// stats` has always used ("requests.INVITE", "responses.200", "refused.in_dialog").
//
// Three kinds of series:
// - Counter: kept here, one cell per shard (a thread takes a shard at its first count), so
//   counting is one relaxed add on a cache line no other worker writes; summed at scrape.
// - counter_from / gauge_from: read from their owner at scrape (bindings, calls active,
//   bans, CDR records written, ...).
// - Histogram: fixed buckets, sharded like counters.
// Families are registered before the workers start; nothing is locked on the hot path.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "metrics/exposition.hpp"
#include "metrics/histogram.hpp"

namespace sipproxy::metrics {

// Shards per family: more than the workers we run; threads beyond share a shard (still
// exact: the adds are atomic).
inline constexpr std::size_t shard_count = 16;
// This thread's shard.
std::size_t this_shard();

struct SeriesSpec {
    std::vector<std::string> label_values;  // one per label name of the family
    std::string json_name;                  // in `show stats`; empty: /metrics only
};

// A family of counters kept here. Series are fixed at registration (no label value made at
// run time: the cardinality is known).
class Counter {
public:
    Counter(std::size_t series);
    void inc(std::size_t series, std::uint64_t n = 1) {
        cell(this_shard() * stride_ + series).fetch_add(n, std::memory_order_relaxed);
    }
    std::uint64_t value(std::size_t series) const;

private:
    static constexpr std::size_t per_line = 8;
    struct alignas(64) Line {
        std::atomic<std::uint64_t> cells[per_line];
    };
    std::atomic<std::uint64_t>& cell(std::size_t i) const {
        return lines_[i / per_line].cells[i % per_line];
    }
    std::size_t stride_;  // series rounded up to whole cache lines: shards share none
    std::unique_ptr<Line[]> lines_;
};

// A family of histograms with the same bucket bounds, sharded like Counter.
class ShardedHistogram {
public:
    ShardedHistogram(std::vector<double> bounds, std::size_t series);
    void observe(std::size_t series, double value) {
        shards_[this_shard() * series_ + series]->histogram.observe(value);
    }
    HistogramData snapshot(std::size_t series) const;

private:
    // A histogram per cache line: two shards' sums never share one.
    struct alignas(64) Shard {
        explicit Shard(std::vector<double> bounds) : histogram(std::move(bounds)) {}
        Histogram histogram;
    };
    std::size_t series_;
    std::vector<std::unique_ptr<Shard>> shards_;  // [shard][series]
};

class Registry {
public:
    Registry() = default;
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // `name` of a counter ends in _total. `hide_zeros`: series at 0 are left out of both
    // outputs (families with hundreds of series, such as responses by code).
    Counter& counter(std::string name, std::string help, std::vector<std::string> label_names,
                     std::vector<SeriesSpec> series, bool hide_zeros = false);
    // One series, no label.
    Counter& counter(std::string name, std::string help, std::string json_name);

    using Read = std::function<double()>;
    struct ReadSeries {
        SeriesSpec spec;
        Read read;
    };
    void counter_from(std::string name, std::string help, std::vector<std::string> label_names,
                      std::vector<ReadSeries> series);
    void gauge_from(std::string name, std::string help, std::vector<std::string> label_names,
                    std::vector<ReadSeries> series);
    // One series, no label.
    void counter_from(std::string name, std::string help, std::string json_name, Read read);
    void gauge_from(std::string name, std::string help, std::string json_name, Read read);

    // In `show stats` as <json_name>.count and <json_name>.sum_ms (whole milliseconds:
    // every value of `show stats` is an integer).
    ShardedHistogram& histogram(std::string name, std::string help, std::vector<double> bounds,
                                std::vector<std::string> label_names,
                                std::vector<SeriesSpec> series);

    // Families rendered by whoever owns them (process metrics, build info): /metrics only.
    void families_from(std::function<std::vector<Family>()> collect);

    // Every family, in registration order, for metrics::render().
    std::vector<Family> collect() const;
    // `show stats`: json name -> value, every series with a json name.
    std::map<std::string, double> json_values() const;

private:
    struct Entry {
        std::string name, help;
        MetricType type;
        std::vector<std::string> label_names;
        std::vector<SeriesSpec> series;
        bool hide_zeros = false;
        std::unique_ptr<Counter> counter;
        std::unique_ptr<ShardedHistogram> histogram;
        std::vector<Read> reads;  // counter_from / gauge_from
        std::function<std::vector<Family>()> families;
        double value(std::size_t i) const;
    };
    void add_read(MetricType type, std::string name, std::string help,
                  std::vector<std::string> label_names, std::vector<ReadSeries> series);
    std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace sipproxy::metrics
