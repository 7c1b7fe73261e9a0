#pragma once
// Is a URI for this proxy? Its host is one of server.domains, or one of the proxy's own
// listening addresses (host and port).
#include <string>
#include <string_view>
#include <vector>

#include "sip/uri.hpp"
#include "transport/peer.hpp"

namespace sipproxy::proxy {

class Locality {
public:
    Locality(std::vector<std::string> domains, std::vector<transport::Local> locals);

    bool is_local_domain(std::string_view host) const;
    // host as in a URI or Via (IPv6 in brackets); port 0 means the default 5060.
    bool is_own_address(std::string_view host, std::uint16_t port) const;
    bool is_local(const sip::Uri& u) const {
        return is_local_domain(u.host) || is_own_address(u.host, u.port);
    }
    const std::vector<transport::Local>& locals() const { return locals_; }
    const std::vector<std::string>& domains() const { return domains_; }

private:
    std::vector<std::string> domains_;  // lower-case
    std::vector<transport::Local> locals_;
};

}  // namespace sipproxy::proxy
