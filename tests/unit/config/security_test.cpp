// [security]: keys, defaults, errors, and the deny file format.
#include <catch2/catch.hpp>

#include <algorithm>

#include "config/config.hpp"

using namespace sipproxy;
using namespace std::chrono_literals;

TEST_CASE("deny file: addresses and networks, comments and blank lines; errors name the line") {
    auto ok = config::parse_deny_list("# APIBAN\n192.0.2.7\n\n  198.51.100.0/24   # office\r\n2001:db8::/48\n", "deny.txt");
    REQUIRE(ok);
    REQUIRE(ok->size() == 3);
    CHECK(ok->at(0).to_string() == "192.0.2.7/32");
    CHECK(ok->at(1).to_string() == "198.51.100.0/24");
    CHECK(ok->at(2).to_string() == "2001:db8::/48");
    CHECK(config::parse_deny_list("", "x")->empty());

    auto bad = config::parse_deny_list("192.0.2.7\n10.0.0.1/8\n", "deny.txt");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().to_string() ==
          "deny.txt:2: bad CIDR '10.0.0.1/8': host bits are set (did you mean 10.0.0.0/8?)");
    CHECK_FALSE(config::read_deny_file("/nonexistent/deny.txt"));
}

TEST_CASE("config: [security] keys, defaults and errors") {
    auto c = config::load_string("", "t.toml");
    REQUIRE(c);
    const auto& s = (*c)->security;
    CHECK(s.flood_window == 2s);
    CHECK(s.flood_requests == 1000);
    CHECK(s.ban_time == 300s);
    CHECK(s.max_connections_per_source == 256);
    CHECK(s.message_timeout == 10s);
    CHECK(s.max_pending_per_source == 10000);
    CHECK(s.max_pending_per_destination == 10000);
    CHECK(std::find(s.scanner_user_agents.begin(), s.scanner_user_agents.end(),
                    "friendly-scanner") != s.scanner_user_agents.end());

    auto e = config::load_string("[security]\nallow = [\"10.0.0.1/8\"]\n", "t.toml");
    REQUIRE_FALSE(e);
    CHECK(e.error().to_string().find("t.toml:2:") == 0);
    CHECK(e.error().key == "security.allow[0]");
    e = config::load_string("[security]\nflood_window = 0\n", "t.toml");
    REQUIRE_FALSE(e);
    CHECK(e.error().key == "security.flood_window");
    e = config::load_string("[security]\nflod_requests = 5\n", "t.toml");
    REQUIRE_FALSE(e);
    CHECK(e.error().message.find("unknown key") != std::string::npos);
    auto shares = config::load_string(
        "[security]\nmax_pending_per_source = 200\nmax_pending_per_destination = 0\n", "t.toml");
    REQUIRE(shares);
    CHECK((*shares)->security.max_pending_per_source == 200);
    CHECK((*shares)->security.max_pending_per_destination == 0);
    e = config::load_string("[security]\nmax_pending_per_source = -1\n", "t.toml");
    REQUIRE_FALSE(e);
    CHECK(e.error().key == "security.max_pending_per_source");
    e = config::load_string("[security]\ndeny_file = \"/nonexistent/deny.txt\"\n", "t.toml");
    REQUIRE_FALSE(e);
    CHECK(e.error().key == "security.deny_file");
}

