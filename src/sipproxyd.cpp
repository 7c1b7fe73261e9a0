// sipproxyd: the SIP proxy and registrar daemon. Parses the command line, loads the
// config and hands it to the Daemon; nothing else.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "base/log.hpp"
#include "config/config.hpp"
#include "config/install_layout.hpp"
#include "daemon/daemon.hpp"

int main(int argc, char** argv) {
    CLI::App app{"sipproxyd: SIP proxy and registrar"};
    // PREFIX/etc/sipproxy/sipproxy.toml for PREFIX/sbin/sipproxyd (/etc for /usr).
    std::string config_path = sipproxy::config::default_config_file().string();
    bool check = false;
    std::string log_level;
    app.add_option("-c,--config", config_path, "configuration file")
        ->capture_default_str();
    app.add_flag("--check", check, "validate the configuration and exit (0 valid, 1 invalid)");
    app.add_option("-l,--log-level", log_level, "trace|debug|info|warn|error (overrides server.log_level)")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    app.set_version_flag("--version", std::string("sipproxyd ") + SIPPROXY_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return e.get_exit_code() == 0 ? rc : 2;
    }

    auto loaded = sipproxy::config::load_file(config_path);
    if (!loaded) {
        std::fprintf(stderr, "sipproxyd: %s\n", loaded.error().to_string().c_str());
        return 1;
    }
    if (check) {
        std::printf("%s: OK\n", loaded.value()->file.c_str());
        for (const auto& w : loaded.value()->warnings)
            std::fprintf(stderr, "%s: warning: %s\n", loaded.value()->file.c_str(), w.c_str());
        return 0;
    }
    try {
        sipproxy::daemon::Daemon daemon(loaded.value(),
                                        log_level.empty() ? std::nullopt
                                                          : std::optional<std::string>(log_level));
        daemon.start();
        return daemon.run();
    } catch (const std::exception& e) {
        sipproxy::log::error("cannot start: {}", e.what());
        return 1;
    }
}
