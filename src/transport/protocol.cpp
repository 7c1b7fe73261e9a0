#include "transport/protocol.hpp"

#include <strings.h>

namespace sipproxy::transport {

namespace {
constexpr ProtocolTraits kTraits[kProtocolCount] = {
    {"UDP", "udp", 5060, false, false, false, StreamKind::None},
    {"TCP", "tcp", 5060, true, false, false, StreamKind::Tcp},
    {"TLS", "tls", 5061, true, true, false, StreamKind::Tls},
    {"WS", "ws", 80, true, false, true, StreamKind::Ws},     // RFC 7118 5
    {"WSS", "wss", 443, true, true, true, StreamKind::Wss},
};
}  // namespace

const ProtocolTraits& traits(Protocol p) { return kTraits[static_cast<std::size_t>(p)]; }

bool parse_protocol(std::string_view text, Protocol& out) {
    for (std::size_t i = 0; i < kProtocolCount; ++i) {
        const auto name = kTraits[i].uri;
        if (text.size() == name.size() && strncasecmp(text.data(), name.data(), name.size()) == 0) {
            out = static_cast<Protocol>(i);
            return true;
        }
    }
    return false;
}

}  // namespace sipproxy::transport
