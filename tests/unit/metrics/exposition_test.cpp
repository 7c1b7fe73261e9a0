// The Prometheus text format 0.0.4: HELP and TYPE on every family, labels escaped,
// histograms cumulative up to +Inf with _sum and _count, no timestamps.
#include "metrics/exposition.hpp"

#include <catch2/catch.hpp>
#include <sstream>

using namespace sipproxy::metrics;

namespace {
std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}
}  // namespace

TEST_CASE("exposition: counters and gauges with HELP, TYPE and labels") {
    std::vector<Family> f;
    f.push_back({"sipproxy_requests_total", "SIP requests received, by method.", MetricType::Counter,
                 {{{{"method", "INVITE"}}, 3}, {{{"method", "BYE"}}, 1}}, {}});
    f.push_back({"sipproxy_calls_active", "Calls in progress.", MetricType::Gauge, {{{}, 2}}, {}});
    const auto text = render(f);
    CHECK(lines(text) == std::vector<std::string>{
                             "# HELP sipproxy_requests_total SIP requests received, by method.",
                             "# TYPE sipproxy_requests_total counter",
                             "sipproxy_requests_total{method=\"INVITE\"} 3",
                             "sipproxy_requests_total{method=\"BYE\"} 1",
                             "# HELP sipproxy_calls_active Calls in progress.",
                             "# TYPE sipproxy_calls_active gauge",
                             "sipproxy_calls_active 2",
                         });
    CHECK(text.back() == '\n');
}

TEST_CASE("exposition: label values and HELP are escaped") {
    CHECK(escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
    CHECK(escape_help("x\\y\nz \"q\"") == "x\\\\y\\nz \"q\"");
    std::vector<Family> f{{"x_total", "h\nelp", MetricType::Counter,
                           {{{{"reason", "say \"hi\"\n"}}, 1}}, {}}};
    const auto l = lines(render(f));
    CHECK(l[0] == "# HELP x_total h\\nelp");
    CHECK(l[2] == "x_total{reason=\"say \\\"hi\\\"\\n\"} 1");
}

TEST_CASE("exposition: values") {
    CHECK(format_value(0) == "0");
    CHECK(format_value(12345678901.0) == "12345678901");
    CHECK(format_value(0.1) == "0.1");
    CHECK(format_value(2.5) == "2.5");
    CHECK(format_value(1.0 / 0.0) == "+Inf");
    CHECK(format_value(-1.0 / 0.0) == "-Inf");
    CHECK(format_value(0.0 / 0.0) == "NaN");
}

TEST_CASE("exposition: histogram buckets are cumulative up to +Inf, with _sum and _count") {
    Histogram h({0.1, 1, 5});
    for (double v : {0.05, 0.1, 0.5, 0.7, 3.0, 42.0}) h.observe(v);
    std::vector<Family> f{{"sipproxy_call_setup_seconds", "Setup.", MetricType::Histogram, {},
                           {{{}, h.snapshot()}}}};
    CHECK(lines(render(f)) == std::vector<std::string>{
                                  "# HELP sipproxy_call_setup_seconds Setup.",
                                  "# TYPE sipproxy_call_setup_seconds histogram",
                                  "sipproxy_call_setup_seconds_bucket{le=\"0.1\"} 2",
                                  "sipproxy_call_setup_seconds_bucket{le=\"1\"} 4",
                                  "sipproxy_call_setup_seconds_bucket{le=\"5\"} 5",
                                  "sipproxy_call_setup_seconds_bucket{le=\"+Inf\"} 6",
                                  "sipproxy_call_setup_seconds_sum 46.35",
                                  "sipproxy_call_setup_seconds_count 6",
                              });
}

TEST_CASE("exposition: a labelled histogram puts le last") {
    Histogram h({1});
    h.observe(2);
    std::vector<Family> f{{"t_seconds", "T.", MetricType::Histogram, {},
                           {{{{"route", "pstn"}}, h.snapshot()}}}};
    const auto l = lines(render(f));
    CHECK(l[2] == "t_seconds_bucket{route=\"pstn\",le=\"1\"} 0");
    CHECK(l[3] == "t_seconds_bucket{route=\"pstn\",le=\"+Inf\"} 1");
    CHECK(l[4] == "t_seconds_sum{route=\"pstn\"} 2");
}
