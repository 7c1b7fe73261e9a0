#pragma once
// One connection of a stream transport (TCP, TLS, WS, WSS): a byte stream (byte_stream.hpp:
// TCP or TLS), a framing (framing.hpp: SIP Content-Length or WebSocket messages), and the
// flow bookkeeping every kind shares: its id and peer, a reader that delivers each framed
// message, a write queue, the handshake, idle and message deadlines, and its entry in the
// Transport's table (and through it the ConnectionDirectory, keyed by protocol, address
// and port).
//
// Adding a stream kind: WS is `make_tcp_stream` + a WebSocket framing, WSS is a TLS
// stream + the same framing. The framing is a sans-I/O object: it is given the bytes read
// and answers Message (deliver), Reply (write back as is: the HTTP 101 of the upgrade,
// pongs), Close (write and close: a close frame) or Error; `encode()` wraps each
// outgoing SIP message in a frame. make_framing() (framing.cpp) picks it by protocol, the
// listener's protocol picks the stream (Transport::accept_loop), and nothing else changes:
// the transaction layer only asks Peer::reliable().
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "transport/byte_stream.hpp"
#include "transport/framing.hpp"
#include "transport/peer.hpp"

namespace sipproxy::transport {

class Transport;

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(Transport& t, std::unique_ptr<ByteStream> stream, std::unique_ptr<Framing> framing,
               std::uint64_t id, const Local& local, Protocol protocol, bool inbound);

    // Starts the reader and the watchdog. An inbound connection first completes its
    // handshake (TLS) within the handshake timeout; writes queued meanwhile wait for it.
    void start();
    // A SIP message (traced, framed by the framing).
    void write(std::string message);
    void close();

    std::uint64_t id() const { return id_; }
    const Peer& remote() const { return remote_; }
    const Local& local() const { return local_; }
    bool inbound() const { return inbound_; }
    bool closed() const { return closed_; }
    // Whether the handshake has completed (always, for TCP).
    bool established() const { return established_; }

private:
    using Clock = std::chrono::steady_clock;
    void queue(std::string bytes);  // bytes on the wire: not traced, not framed
    asio::awaitable<void> run();    // handshake, then read loop
    asio::awaitable<void> write_loop();
    asio::awaitable<void> watchdog();

    Transport& transport_;
    std::unique_ptr<ByteStream> stream_;
    std::unique_ptr<Framing> framing_;
    std::uint64_t id_;
    Local local_;
    Peer remote_;
    asio::steady_timer timer_;
    std::deque<std::string> out_;
    bool inbound_;
    bool writing_ = false;
    bool closed_ = false;
    bool established_ = false;
    Clock::time_point started_ = Clock::now();
    Clock::time_point last_activity_ = started_;
    Clock::time_point last_read_ = started_;  // keep-alive: the peer's last sign of life
    bool probe_sent_ = false;
    std::optional<Clock::time_point> partial_since_;
};

}  // namespace sipproxy::transport
