#include "config/install_layout.hpp"

namespace sipproxy::config {

namespace fs = std::filesystem;

fs::path sysconf_dir_for(const fs::path& prefix) {
    const auto p = prefix.lexically_normal();
    if (p == "/usr" || p == "/usr/" || p == "/") return "/etc";
    return p / "etc";
}

fs::path default_config_file() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    // PREFIX/sbin/sipproxyd or PREFIX/bin/sipproxyctl
    if (ec || exe.parent_path().empty()) return "/etc/sipproxy/sipproxy.toml";
    return sysconf_dir_for(exe.parent_path().parent_path()) / "sipproxy" / "sipproxy.toml";
}

}  // namespace sipproxy::config
