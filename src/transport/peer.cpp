#include "transport/peer.hpp"

#include <strings.h>

namespace sipproxy::transport {

std::string_view via_name(Protocol p) { return p == Protocol::Tcp ? "TCP" : "UDP"; }
std::string_view uri_name(Protocol p) { return p == Protocol::Tcp ? "tcp" : "udp"; }

bool parse_protocol(std::string_view text, Protocol& out) {
    auto eq = [&](const char* s) {
        return text.size() == 3 && strncasecmp(text.data(), s, 3) == 0;
    };
    if (eq("udp")) return out = Protocol::Udp, true;
    if (eq("tcp")) return out = Protocol::Tcp, true;
    return false;
}

std::string uri_host(const asio::ip::address& a) {
    return a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
}

std::string_view strip_brackets(std::string_view host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        return host.substr(1, host.size() - 2);
    return host;
}

std::string Peer::to_string() const {
    return std::string(uri_name(protocol)) + ":" + uri_host(address) + ":" + std::to_string(port);
}

std::string Local::hostport() const { return host + ":" + std::to_string(port); }

}  // namespace sipproxy::transport
