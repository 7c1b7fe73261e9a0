#include "metrics/process.hpp"

#include <catch2/catch.hpp>

using namespace sipproxy::metrics;

TEST_CASE("process: /proc/self/stat with a command name holding ') '") {
    const std::string stat =
        "1234 (sip) proxyd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 3 0 5000 "
        "1000000 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
    auto s = parse_proc_stat(stat, 100);
    REQUIRE(s);
    CHECK(s->cpu_seconds == Approx(4.0));
    CHECK(s->start_since_boot == Approx(50.0));
    CHECK_FALSE(parse_proc_stat("garbage", 100));
    CHECK_FALSE(parse_proc_stat("1 (x) S 1 2", 100));
}

TEST_CASE("process: the families of this process") {
    auto f = process_families();
    std::vector<std::string> names;
    for (const auto& x : f) names.push_back(x.name);
    CHECK(names == std::vector<std::string>{"process_cpu_seconds_total", "process_resident_memory_bytes",
                                            "process_open_fds", "process_start_time_seconds"});
}
