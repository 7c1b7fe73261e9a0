#include "metrics/exposition.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sipproxy::metrics {

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string escape_help(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    if (v == std::floor(v) && std::fabs(v) < 1e15)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else
        // The shortest text that reads back as the same double (0.1, not 0.10000000000000001).
        for (int precision = 6; precision <= 17; ++precision) {
            std::snprintf(buf, sizeof buf, "%.*g", precision, v);
            if (std::strtod(buf, nullptr) == v) break;
        }
    return buf;
}

namespace {

std::string_view type_name(MetricType t) {
    switch (t) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
    }
    return "untyped";
}

void labels(std::string& out, const std::vector<Label>& ls, const Label* extra = nullptr) {
    if (ls.empty() && !extra) return;
    out += '{';
    bool first = true;
    auto one = [&](const Label& l) {
        if (!first) out += ',';
        first = false;
        out += l.name;
        out += "=\"";
        out += escape_label_value(l.value);
        out += '"';
    };
    for (const auto& l : ls) one(l);
    if (extra) one(*extra);
    out += '}';
}

void line(std::string& out, std::string_view name, const std::vector<Label>& ls, double v,
          const Label* extra = nullptr) {
    out += name;
    labels(out, ls, extra);
    out += ' ';
    out += format_value(v);
    out += '\n';
}

}  // namespace

std::string render(const std::vector<Family>& families) {
    std::string out;
    for (const auto& f : families) {
        out += "# HELP " + f.name + " " + escape_help(f.help) + "\n";
        out += "# TYPE " + f.name + " " + std::string(type_name(f.type)) + "\n";
        if (f.type != MetricType::Histogram) {
            for (const auto& s : f.samples) line(out, f.name, s.labels, s.value);
            continue;
        }
        for (const auto& h : f.histograms) {
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i < h.data.counts.size(); ++i) {
                cumulative += h.data.counts[i];
                const Label le{"le", i < h.data.bounds.size() ? format_value(h.data.bounds[i])
                                                              : "+Inf"};
                line(out, f.name + "_bucket", h.labels, static_cast<double>(cumulative), &le);
            }
            line(out, f.name + "_sum", h.labels, h.data.sum);
            line(out, f.name + "_count", h.labels, static_cast<double>(h.data.count));
        }
    }
    return out;
}

}  // namespace sipproxy::metrics
