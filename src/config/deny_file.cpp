// security.deny_file: a list of addresses and networks maintained outside sipproxy
// (APIBAN, fail2ban, a cron job), one per line, re-read on every reload.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/config.hpp"

namespace sipproxy::config {

Expected<std::vector<Cidr>, ConfigError> parse_deny_list(std::string_view text,
                                                         const std::string& name) {
    std::vector<Cidr> out;
    int line_no = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string_view::npos) {
            if (end == text.size()) break;
            continue;
        }
        line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
        auto c = Cidr::parse(line);
        if (!c) {
            ConfigError e;
            e.file = name;
            e.line = line_no;
            e.message = c.error();
            return Unexpected{e};
        }
        out.push_back(*c);
        if (end == text.size()) break;
    }
    return out;
}

Expected<std::vector<Cidr>, ConfigError> read_deny_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ConfigError e;
        e.file = path.string();
        e.message = std::string("cannot open: ") + std::strerror(errno);
        return Unexpected{e};
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_deny_list(text.str(), path.string());
}

}  // namespace sipproxy::config
