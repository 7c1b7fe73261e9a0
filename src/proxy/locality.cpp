#include "proxy/locality.hpp"

#include <algorithm>
#include <cctype>

namespace sipproxy::proxy {

namespace {
std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}
}  // namespace

Locality::Locality(std::vector<std::string> domains, std::vector<transport::Local> locals)
    : locals_(std::move(locals)) {
    for (auto& d : domains) domains_.push_back(lower(d));
}

bool Locality::is_local_domain(std::string_view host) const {
    for (const auto& d : domains_)
        if (sip::host_equal(d, host)) return true;
    return false;
}

bool Locality::is_own_address(std::string_view host, std::uint16_t port) const {
    const std::uint16_t p = port ? port : 5060;
    for (const auto& l : locals_)
        if (l.port == p && sip::host_equal(l.host, host)) return true;
    return false;
}

}  // namespace sipproxy::proxy
