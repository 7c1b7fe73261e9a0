// The installed programs find the configuration the install put next to them.
#include "config/install_layout.hpp"

#include <catch2/catch.hpp>

using namespace sipproxy::config;

TEST_CASE("install layout: /usr reads /etc, any other prefix its own etc") {
    CHECK(sysconf_dir_for("/usr") == "/etc");
    CHECK(sysconf_dir_for("/usr/") == "/etc");
    CHECK(sysconf_dir_for("/usr/local") == "/usr/local/etc");
    CHECK(sysconf_dir_for("/opt/sipproxy") == "/opt/sipproxy/etc");
}

TEST_CASE("install layout: the default file is under the running program's prefix") {
    // This test binary runs from the build tree: BUILD/tests/unit_config.
    auto f = default_config_file();
    CHECK(f.filename() == "sipproxy.toml");
    CHECK(f.parent_path().filename() == "sipproxy");
    CHECK(f.parent_path().parent_path().filename() == "etc");
}
