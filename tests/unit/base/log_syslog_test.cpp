// syslog output ([server] log_syslog): facility names and level mapping; set_syslog opens
// and closes without disturbing stderr output.
#include <syslog.h>

#include <catch2/catch.hpp>

#include "base/log.hpp"

using namespace sipproxy;

TEST_CASE("syslog facilities by name") {
    CHECK(log::syslog_facility("daemon") == LOG_DAEMON);
    CHECK(log::syslog_facility("user") == LOG_USER);
    CHECK(log::syslog_facility("local0") == LOG_LOCAL0);
    CHECK(log::syslog_facility("local7") == LOG_LOCAL7);
    CHECK(log::syslog_facility("local8") == -1);
    CHECK(log::syslog_facility("kern") == -1);  // not for a user-space daemon
}

TEST_CASE("syslog priorities by level") {
    CHECK(log::syslog_priority(log::Level::trace) == LOG_DEBUG);
    CHECK(log::syslog_priority(log::Level::debug) == LOG_DEBUG);
    CHECK(log::syslog_priority(log::Level::info) == LOG_INFO);
    CHECK(log::syslog_priority(log::Level::warn) == LOG_WARNING);
    CHECK(log::syslog_priority(log::Level::error) == LOG_ERR);
}

TEST_CASE("syslog on and off") {
    CHECK_FALSE(log::set_syslog(true, "nope"));
    CHECK_FALSE(log::syslog_enabled());
    REQUIRE(log::set_syslog(true, "local3"));
    CHECK(log::syslog_enabled());
    log::write(log::Level::debug, "call\x01id", "a test line from sipproxy's unit tests");
    REQUIRE(log::set_syslog(false, "local3"));
    CHECK_FALSE(log::syslog_enabled());
}
