#include "config_file.hpp"

#include "config/config.hpp"
#include "config/install_layout.hpp"

namespace sipproxyctl {

namespace fs = std::filesystem;

fs::path default_config_path() {
    fs::path local = "conf/sipproxy.toml";
    std::error_code ec;
    if (fs::exists(local, ec)) return local;
    return sipproxy::config::default_config_file();
}

sipproxy::Expected<fs::path, std::string> find_socket(
    const std::optional<std::string>& socket_option,
    const std::optional<std::string>& config_option) {
    if (socket_option) return fs::path(*socket_option);
    fs::path config = config_option ? fs::path(*config_option) : default_config_path();
    auto loaded = sipproxy::config::load_file(config);
    if (!loaded)
        return sipproxy::Unexpected{
            "cannot find the control socket: " + loaded.error().to_string() +
            " (choose with -c FILE or --socket PATH)"};
    return (*loaded)->control.socket;
}

}  // namespace sipproxyctl
