#pragma once
// The transport protocols a SIP message travels on, and what each one is (RFC 3261 18,
// RFC 7118 for WebSocket). Code above the transport asks the traits ("is it reliable?",
// "which Via token?"), never compares against a particular protocol: a new transport
// is one row in the table in protocol.cpp.
#include <cstdint>
#include <string_view>

namespace sipproxy::transport {

enum class Protocol : std::uint8_t { Udp, Tcp, Tls, Ws, Wss };
inline constexpr std::size_t kProtocolCount = 5;

// How the bytes of a connection protocol are carried: which byte stream (plain TCP or
// TLS over TCP) and how messages are cut out of it (SIP Content-Length framing or
// WebSocket messages).
enum class StreamKind : std::uint8_t { None, Tcp, Tls, Ws, Wss };

struct ProtocolTraits {
    std::string_view via;        // Via sent-protocol transport: "UDP", "TLS", "WSS"
    std::string_view uri;        // URI transport parameter and listen URI scheme: "tls"
    std::uint16_t default_port;  // RFC 3261 19.1.2 / RFC 7118: 5060, 5061, 80, 443
    bool reliable;               // a stream: no retransmissions (RFC 3261 17.1.1.2)
    bool secure;                 // TLS underneath (sips: may use it, RFC 3261 26.2)
    bool websocket;              // RFC 6455 framing: the proxy cannot connect to it
    StreamKind stream;
};

const ProtocolTraits& traits(Protocol p);

inline bool reliable(Protocol p) { return traits(p).reliable; }
inline bool secure(Protocol p) { return traits(p).secure; }
// Whether the proxy can open a connection of this protocol to a peer (not to a
// WebSocket client: it reaches those only over the connection they opened).
inline bool connectable(Protocol p) { return traits(p).reliable && !traits(p).websocket; }
// "UDP"/"TCP"/"TLS"/"WS"/"WSS" as in a Via header.
inline std::string_view via_name(Protocol p) { return traits(p).via; }
// "udp"/"tcp"/"tls"/"ws"/"wss" as in a URI transport param or a listen URI.
inline std::string_view uri_name(Protocol p) { return traits(p).uri; }
inline std::uint16_t default_port(Protocol p) { return traits(p).default_port; }
// Parses a Via transport, a URI transport param or a listen URI scheme,
// case-insensitively.
bool parse_protocol(std::string_view text, Protocol& out);

}  // namespace sipproxy::transport
