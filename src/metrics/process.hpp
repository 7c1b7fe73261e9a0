#pragma once
// The standard process metrics (process_cpu_seconds_total, process_resident_memory_bytes,
// process_open_fds, process_start_time_seconds), read from /proc/self as the Prometheus
// client libraries do.
#include <optional>
#include <string_view>
#include <vector>

#include "metrics/exposition.hpp"

namespace sipproxy::metrics {

struct ProcessStat {
    double cpu_seconds = 0;        // utime + stime
    double start_since_boot = 0;   // seconds after boot
};
// /proc/self/stat: the fields after the command name in parentheses (which may contain
// spaces and parentheses itself).
std::optional<ProcessStat> parse_proc_stat(std::string_view text, long ticks_per_second);

// The families for this process (those it cannot read are left out).
std::vector<Family> process_families();

}  // namespace sipproxy::metrics
