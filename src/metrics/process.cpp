#include "metrics/process.hpp"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace sipproxy::metrics {

namespace {

std::string read_file(const char* path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

std::optional<ProcessStat> parse_proc_stat(std::string_view text, long ticks) {
    const auto close = text.rfind(')');
    if (close == std::string_view::npos || ticks <= 0) return std::nullopt;
    std::string_view rest = text.substr(close + 1);
    // Field 3 (state) is the first after ')'; utime is 14, stime 15, starttime 22.
    std::vector<std::string_view> fields;
    while (!rest.empty()) {
        while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
        auto sp = rest.find(' ');
        if (rest.empty()) break;
        fields.push_back(rest.substr(0, sp));
        if (sp == std::string_view::npos) break;
        rest.remove_prefix(sp);
    }
    auto field = [&](std::size_t n, double& out) {
        const std::size_t i = n - 3;
        if (i >= fields.size()) return false;
        unsigned long long v = 0;
        auto [p, ec] = std::from_chars(fields[i].data(), fields[i].data() + fields[i].size(), v);
        if (ec != std::errc{}) return false;
        out = static_cast<double>(v);
        return true;
    };
    double utime = 0, stime = 0, start = 0;
    if (!field(14, utime) || !field(15, stime) || !field(22, start)) return std::nullopt;
    const double t = static_cast<double>(ticks);
    return ProcessStat{(utime + stime) / t, start / t};
}

std::vector<Family> process_families() {
    std::vector<Family> out;
    const long ticks = ::sysconf(_SC_CLK_TCK);
    auto stat = parse_proc_stat(read_file("/proc/self/stat"), ticks);
    if (stat)
        out.push_back({"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                       MetricType::Counter, {{{}, stat->cpu_seconds}}, {}});

    std::istringstream statm(read_file("/proc/self/statm"));
    unsigned long long size = 0, resident = 0;
    if (statm >> size >> resident)
        out.push_back({"process_resident_memory_bytes", "Resident memory size in bytes.",
                       MetricType::Gauge,
                       {{{}, static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE))}},
                       {}});

    std::error_code ec;
    std::size_t fds = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec))
        ++fds;
    if (!ec)
        out.push_back({"process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
                       {{{}, static_cast<double>(fds)}}, {}});

    // btime (boot time, seconds since the epoch) + the start time after boot.
    std::istringstream proc_stat(read_file("/proc/stat"));
    std::string line;
    while (stat && std::getline(proc_stat, line)) {
        if (line.rfind("btime ", 0) != 0) continue;
        const double btime = std::strtod(line.c_str() + 6, nullptr);
        out.push_back({"process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
                       {{{}, btime + stat->start_since_boot}}, {}});
        break;
    }
    return out;
}

}  // namespace sipproxy::metrics
