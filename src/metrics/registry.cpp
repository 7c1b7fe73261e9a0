#include "metrics/registry.hpp"

#include <cmath>
#include <stdexcept>

namespace sipproxy::metrics {

std::size_t this_shard() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t shard = next.fetch_add(1, std::memory_order_relaxed) % shard_count;
    return shard;
}

Counter::Counter(std::size_t series)
    : stride_((series + per_line - 1) / per_line * per_line),
      lines_(new Line[stride_ * shard_count / per_line]) {
    for (std::size_t i = 0; i < stride_ * shard_count; ++i) cell(i).store(0);
}

std::uint64_t Counter::value(std::size_t series) const {
    std::uint64_t v = 0;
    for (std::size_t s = 0; s < shard_count; ++s)
        v += cell(s * stride_ + series).load(std::memory_order_relaxed);
    return v;
}

ShardedHistogram::ShardedHistogram(std::vector<double> bounds, std::size_t series)
    : series_(series) {
    for (std::size_t i = 0; i < series * shard_count; ++i)
        shards_.push_back(std::make_unique<Shard>(bounds));
}

HistogramData ShardedHistogram::snapshot(std::size_t series) const {
    HistogramData d = shards_[series]->histogram.snapshot();
    for (std::size_t s = 1; s < shard_count; ++s) {
        const auto more = shards_[s * series_ + series]->histogram.snapshot();
        for (std::size_t i = 0; i < d.counts.size(); ++i) d.counts[i] += more.counts[i];
        d.sum += more.sum;
        d.count += more.count;
    }
    return d;
}

namespace {

void check(const std::vector<std::string>& label_names, const std::vector<SeriesSpec>& series,
           const std::string& name) {
    for (const auto& s : series)
        if (s.label_values.size() != label_names.size())
            throw std::logic_error("metrics: " + name + ": label values do not match the names");
}

std::vector<Label> labels_of(const std::vector<std::string>& names, const SeriesSpec& s) {
    std::vector<Label> out;
    for (std::size_t i = 0; i < names.size(); ++i) out.push_back({names[i], s.label_values[i]});
    return out;
}

}  // namespace

Counter& Registry::counter(std::string name, std::string help,
                           std::vector<std::string> label_names, std::vector<SeriesSpec> series,
                           bool hide_zeros) {
    check(label_names, series, name);
    auto e = std::make_unique<Entry>();
    e->name = std::move(name);
    e->help = std::move(help);
    e->type = MetricType::Counter;
    e->label_names = std::move(label_names);
    e->counter = std::make_unique<Counter>(series.size());
    e->series = std::move(series);
    e->hide_zeros = hide_zeros;
    entries_.push_back(std::move(e));
    return *entries_.back()->counter;
}

Counter& Registry::counter(std::string name, std::string help, std::string json_name) {
    return counter(std::move(name), std::move(help), {}, {{{}, std::move(json_name)}});
}

void Registry::add_read(MetricType type, std::string name, std::string help,
                        std::vector<std::string> label_names, std::vector<ReadSeries> series) {
    auto e = std::make_unique<Entry>();
    e->name = std::move(name);
    e->help = std::move(help);
    e->type = type;
    e->label_names = std::move(label_names);
    for (auto& s : series) {
        e->series.push_back(std::move(s.spec));
        e->reads.push_back(std::move(s.read));
    }
    check(e->label_names, e->series, e->name);
    entries_.push_back(std::move(e));
}

void Registry::counter_from(std::string name, std::string help,
                            std::vector<std::string> label_names, std::vector<ReadSeries> series) {
    add_read(MetricType::Counter, std::move(name), std::move(help), std::move(label_names),
             std::move(series));
}

void Registry::gauge_from(std::string name, std::string help, std::vector<std::string> label_names,
                          std::vector<ReadSeries> series) {
    add_read(MetricType::Gauge, std::move(name), std::move(help), std::move(label_names),
             std::move(series));
}

void Registry::counter_from(std::string name, std::string help, std::string json_name, Read read) {
    counter_from(std::move(name), std::move(help), {}, {{{{}, std::move(json_name)}, std::move(read)}});
}

void Registry::gauge_from(std::string name, std::string help, std::string json_name, Read read) {
    gauge_from(std::move(name), std::move(help), {}, {{{{}, std::move(json_name)}, std::move(read)}});
}

ShardedHistogram& Registry::histogram(std::string name, std::string help,
                                      std::vector<double> bounds,
                                      std::vector<std::string> label_names,
                                      std::vector<SeriesSpec> series) {
    check(label_names, series, name);
    auto e = std::make_unique<Entry>();
    e->name = std::move(name);
    e->help = std::move(help);
    e->type = MetricType::Histogram;
    e->label_names = std::move(label_names);
    e->histogram = std::make_unique<ShardedHistogram>(std::move(bounds), series.size());
    e->series = std::move(series);
    entries_.push_back(std::move(e));
    return *entries_.back()->histogram;
}

void Registry::families_from(std::function<std::vector<Family>()> collect) {
    auto e = std::make_unique<Entry>();
    e->families = std::move(collect);
    entries_.push_back(std::move(e));
}

double Registry::Entry::value(std::size_t i) const {
    if (counter) return static_cast<double>(counter->value(i));
    return reads[i]();
}

std::vector<Family> Registry::collect() const {
    std::vector<Family> out;
    for (const auto& e : entries_) {
        if (e->families) {
            for (auto& f : e->families()) out.push_back(std::move(f));
            continue;
        }
        Family f{e->name, e->help, e->type, {}, {}};
        for (std::size_t i = 0; i < e->series.size(); ++i) {
            auto labels = labels_of(e->label_names, e->series[i]);
            if (e->histogram) {
                f.histograms.push_back({std::move(labels), e->histogram->snapshot(i)});
                continue;
            }
            const double v = e->value(i);
            if (e->hide_zeros && v == 0) continue;
            f.samples.push_back({std::move(labels), v});
        }
        out.push_back(std::move(f));
    }
    return out;
}

std::map<std::string, double> Registry::json_values() const {
    std::map<std::string, double> out;
    for (const auto& e : entries_) {
        for (std::size_t i = 0; i < e->series.size(); ++i) {
            const auto& json = e->series[i].json_name;
            if (json.empty()) continue;
            if (e->histogram) {
                const auto d = e->histogram->snapshot(i);
                out[json + ".count"] = static_cast<double>(d.count);
                out[json + ".sum_ms"] = std::round(d.sum * 1000);  // show stats has integers only
                continue;
            }
            const double v = e->value(i);
            if (e->hide_zeros && v == 0) continue;
            out[json] = v;
        }
    }
    return out;
}

}  // namespace sipproxy::metrics
