#pragma once
// Where an installed sipproxy keeps its files, found from where its programs are, so that
// `cmake --install` with any prefix (and the Debian package) gives programs that find the
// configuration the install put there: PREFIX/sbin/sipproxyd reads
// PREFIX/etc/sipproxy/sipproxy.toml, and /usr/sbin/sipproxyd reads /etc/sipproxy/... (the
// GNU convention for the /usr prefix, as CMake's GNUInstallDirs applies it).
#include <filesystem>

namespace sipproxy::config {

// The configuration directory for programs installed under `prefix`.
std::filesystem::path sysconf_dir_for(const std::filesystem::path& prefix);
// The default configuration file of the running program (from /proc/self/exe); when
// that cannot be read, /etc/sipproxy/sipproxy.toml.
std::filesystem::path default_config_file();

}  // namespace sipproxy::config
