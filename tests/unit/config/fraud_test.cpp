// [[fraud]]: rules, their checks, and what a reload reports.
#include <catch2/catch.hpp>

#include <algorithm>

#include "config/config.hpp"

using namespace sipproxy;

namespace {

const char* kBase =
    "[auth]\nrealm = \"example.test\"\n[[auth.users]]\nuser = \"alice\"\npassword = \"x\"\n"
    "[[gateways]]\nname = \"carrier\"\nuri = \"sip:192.0.2.1\"\n"
    "[[routes]]\nname = \"international\"\nmatch_prefix = \"00\"\ngateways = [\"carrier\"]\n";

config::LoadResult load(const std::string& fraud) {
    return config::load_string(std::string(kBase) + fraud, "t.toml");
}

}  // namespace

TEST_CASE("config: [[fraud]] rules with defaults and inline thresholds") {
    auto c = load(
        "[[fraud]]\nuser = \"*\"\nconcurrent_calls = { critical = 4 }\n"
        "calls_per_minute = { warning = 5, critical = 10 }\n"
        "[[fraud]]\nroute = \"international\"\nscope = \"total\"\ncalls_per_day = { warning = 100 }\n"
        "[[fraud]]\nuser = \"alice\"\nroute = \"international\"\ncalls_per_minute = { critical = 2 }\n");
    REQUIRE(c);
    const auto& f = (*c)->fraud;
    REQUIRE(f.size() == 3);
    CHECK(f[0].user == "*");
    CHECK(f[0].route.empty());
    CHECK_FALSE(f[0].total);
    CHECK(f[0].concurrent_calls.critical == 4);
    CHECK(f[0].concurrent_calls.warning == 0);
    CHECK(f[0].calls_per_minute.warning == 5);
    CHECK(f[0].calls_per_minute.critical == 10);
    CHECK(f[0].calls_per_day == config::FraudThreshold{});
    CHECK(f[1].user == "*");
    CHECK(f[1].route == "international");
    CHECK(f[1].total);
    CHECK(f[1].calls_per_day.warning == 100);
    CHECK(f[2].user == "alice");
    CHECK(f[2].line == 21);
}

TEST_CASE("config: [[fraud]] errors name the line and key") {
    struct Case {
        const char* toml;
        const char* key;
        const char* message;
    };
    const Case cases[] = {
        {"[[fraud]]\nroute = \"premium\"\nconcurrent_calls = { critical = 1 }\n", "fraud[0].route",
         "names route 'premium', which is not defined"},
        {"[[fraud]]\nscope = \"each\"\nconcurrent_calls = { critical = 1 }\n", "fraud[0].scope",
         "expected \"user\""},
        {"[[fraud]]\nuser = \"alice\"\nscope = \"total\"\nconcurrent_calls = { critical = 1 }\n",
         "fraud[0].user", "user must be \"*\""},
        {"[[fraud]]\nuser = \"*\"\n", "fraud[0]", "sets no limit"},
        {"[[fraud]]\nconcurrent_calls = { critical = 0 }\n", "fraud[0].concurrent_calls.critical",
         ""},
        {"[[fraud]]\ncalls_per_minute = { warning = 5, critical = 4 }\n",
         "fraud[0].calls_per_minute.warning", "must be at most critical (4)"},
        {"[[fraud]]\ncalls_per_minute = { warn = 5 }\n", "fraud[0].calls_per_minute.warn",
         "unknown key"},
        {"[[fraud]]\ncalls_per_minute = 5\n", "fraud[0].calls_per_minute", "expected a table"},
        {"[[fraud]]\ncalls_per_hour = { critical = 5 }\n", "fraud[0].calls_per_hour", "unknown key"},
        {"[[fraud]]\nconcurrent_calls = { critical = 1 }\n[[fraud]]\nuser = \"*\"\n"
         "concurrent_calls = { critical = 2 }\n",
         "fraud[1]", "a second rule for the same user, route and scope (the first is at line 13)"},
    };
    for (const auto& k : cases) {
        INFO(k.toml);
        auto c = load(k.toml);
        REQUIRE_FALSE(c);
        CHECK(c.error().key == k.key);
        CHECK(c.error().message.find(k.message) != std::string::npos);
        CHECK(c.error().line > 0);
    }
    auto no_auth = config::load_string("[[fraud]]\nconcurrent_calls = { critical = 1 }\n", "t.toml");
    REQUIRE_FALSE(no_auth);
    CHECK(no_auth.error().message.find("needs an [auth] section") != std::string::npos);
}

TEST_CASE("config: a reload reports [[fraud]] rules added, removed and changed") {
    auto a = load("[[fraud]]\nconcurrent_calls = { critical = 4 }\n");
    auto b = load("[[fraud]]\nconcurrent_calls = { warning = 3, critical = 5 }\n"
                  "[[fraud]]\nroute = \"international\"\nscope = \"total\"\n"
                  "calls_per_minute = { critical = 10 }\n");
    REQUIRE(a);
    REQUIRE(b);
    auto lines = config::diff(**a, **b);
    CHECK(lines == std::vector<std::string>{
                       "fraud: removed user=* route=* scope=user concurrent_calls=-/4",
                       "fraud: added user=* route=* scope=user concurrent_calls=3/5",
                       "fraud: added user=* route=international scope=total calls_per_minute=-/10"});
    CHECK(config::diff(**a, **a).empty());
    CHECK(config::restart_needed(lines).empty());  // applied live
}
