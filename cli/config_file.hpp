#pragma once
// Which config file sipproxyctl reads, and the control socket it names.
#include <filesystem>
#include <optional>
#include <string>

#include "base/expected.hpp"

namespace sipproxyctl {

// ./conf/sipproxy.toml if it exists (a source checkout), else the installed one:
// PREFIX/etc/sipproxy/sipproxy.toml for PREFIX/bin/sipproxyctl (/etc for /usr).
std::filesystem::path default_config_path();

// The socket to talk to: --socket wins; else control.socket of -c FILE; else of the default
// config. The error is a whole message ("FILE:LINE:COL: key: message ...").
sipproxy::Expected<std::filesystem::path, std::string> find_socket(
    const std::optional<std::string>& socket_option,
    const std::optional<std::string>& config_option);

}  // namespace sipproxyctl
