#pragma once
// How SIP messages are cut out of a connection's bytes and put into it: the part of a
// connection that differs between TCP/TLS (RFC 3261 18.3: Content-Length) and WebSocket
// (RFC 7118: one SIP message per WebSocket message). Sans-I/O: it is given the bytes
// read and says what to deliver and what to write back; Connection does the I/O.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sip/message.hpp"
#include "transport/protocol.hpp"

namespace sipproxy::transport {

class Framing {
public:
    enum class Event {
        NeedMore,  // nothing complete yet
        Message,   // `bytes` is one complete SIP message: deliver it
        Reply,     // `bytes` go back to the peer as they are (CRLF pong, WebSocket
                   // handshake answer, WebSocket pong): not a SIP message, not traced
        Close,     // write `bytes` (may be empty: a WebSocket close frame) and close
        Error,     // the stream is unusable: `error` says why (the ingress logs it); close
    };
    struct Result {
        Event event = Event::NeedMore;
        std::string bytes;
        sip::ParseError error;
    };

    virtual ~Framing() = default;
    virtual void append(std::string_view data) = 0;
    // Call repeatedly until NeedMore after each append().
    virtual Result next() = 0;
    // Whether part of a message (or of a handshake) is buffered: the message timeout runs.
    virtual bool partial() const = 0;
    // The bytes that carry one outgoing SIP message.
    virtual std::string encode(std::string message) { return message; }
    // What the connection sends when nothing was received for a while, so that a dead
    // peer is found (a WebSocket ping); empty: nothing (TCP/TLS rely on the idle timeout).
    virtual std::string keepalive_probe() const { return {}; }
};

// What a WebSocket listener accepts ([websocket] in the config).
struct WebSocketOptions {
    std::vector<std::string> allowed_origins;  // empty: any Origin
    // Nothing received for this long: a ping (Kamailio's default is 180 s); nothing
    // received for twice as long: closed (RFC 6455 5.5.2).
    std::chrono::seconds keepalive{180};
};

// RFC 3261 18.3 framing with RFC 5626 3.5.1 CRLF keep-alives (TCP and TLS).
std::unique_ptr<Framing> make_sip_stream_framing(const sip::Limits& limits);

// RFC 7118 framing for an accepted WS/WSS connection: the HTTP upgrade, then one SIP
// message per WebSocket message (websocket_framing.cpp).
std::unique_ptr<Framing> make_websocket_framing(const sip::Limits& limits, const WebSocketOptions& options);

// The framing for a connection of `protocol` (inbound: the peer opened it).
std::unique_ptr<Framing> make_framing(Protocol protocol, bool inbound, const sip::Limits& limits,
                                      const WebSocketOptions& websocket = {});

}  // namespace sipproxy::transport
