#pragma once
// The Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): every family with
// # HELP and # TYPE, counters named *_total, label values escaped, histograms with
// cumulative buckets up to le="+Inf", _sum and _count. No sample timestamps (a scraper
// stamps them; some OpenMetrics tools reject a foreign ones).
#include <string>
#include <string_view>
#include <vector>

#include "metrics/histogram.hpp"

namespace sipproxy::metrics {

struct Label {
    std::string name;
    std::string value;
};

struct Sample {
    std::vector<Label> labels;
    double value = 0;
};

struct HistogramSample {
    std::vector<Label> labels;
    HistogramData data;
};

enum class MetricType { Counter, Gauge, Histogram };

struct Family {
    std::string name;  // a counter's ends in _total
    std::string help;
    MetricType type = MetricType::Counter;
    std::vector<Sample> samples;               // counters and gauges
    std::vector<HistogramSample> histograms;   // histograms
};

// The Content-Type of what render() returns.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

std::string render(const std::vector<Family>& families);

// Label value: backslash, double quote and line feed escaped.
std::string escape_label_value(std::string_view v);
// HELP text: backslash and line feed escaped.
std::string escape_help(std::string_view v);
// A sample value as Prometheus reads it: integers without exponent, +Inf, -Inf, NaN.
std::string format_value(double v);

}  // namespace sipproxy::metrics
