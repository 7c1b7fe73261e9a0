#include "transport/peer.hpp"

namespace sipproxy::transport {

std::string address_text(const asio::ip::address& a) {
    if (!a.is_v4()) return a.to_string();
    // IPv4 by hand: asio's to_string goes through inet_ntop and a printf per call, and
    // this runs for every request (Via received=, registrations, dial-plan sources).
    const auto b = a.to_v4().to_bytes();
    char buf[16];
    char* p = buf;
    for (std::size_t i = 0; i < 4; ++i) {
        const unsigned v = b[i];
        if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
        if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
        *p++ = static_cast<char>('0' + v % 10);
        if (i < 3) *p++ = '.';
    }
    return std::string(buf, p);
}

std::string uri_host(const asio::ip::address& a) {
    return a.is_v6() ? "[" + a.to_string() + "]" : address_text(a);
}

std::string_view strip_brackets(std::string_view host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        return host.substr(1, host.size() - 2);
    return host;
}

Local Local::at(Protocol protocol, const asio::ip::address& address, std::uint16_t port) {
    return Local{protocol, address, port, uri_host(address)};
}

std::string Peer::to_string() const {
    return std::string(uri_name(protocol)) + ":" + uri_host(address) + ":" + std::to_string(port);
}

std::string Local::hostport() const { return host + ":" + std::to_string(port); }

}  // namespace sipproxy::transport
