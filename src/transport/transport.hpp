#pragma once
// The transport layer of one worker (RFC 3261 18): UDP sockets and stream listeners
// (TCP, TLS, WS, WSS) on the configured addresses (SO_REUSEPORT, so every worker has its
// own), connections (connection.hpp) opened on demand and reused, and delivery of every
// complete message to the handler. How a message reaches a peer is decided in one place,
// reach(): a UDP socket, an open connection (on any worker), or a new connection.
// A worker's Transport is used only from that worker's thread; work for a connection
// owned by another worker is posted to it.
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "base/cidr.hpp"
#include "sip/message.hpp"
#include "trace/tracer.hpp"
#include "transport/framing.hpp"
#include "transport/peer.hpp"

namespace sipproxy::transport {

struct TransportOptions {
    std::chrono::seconds tcp_idle_timeout{300};
    // A TCP message must be complete this long after its first byte arrived (and an
    // accepted connection must deliver its first message this long after the accept):
    // trickling one byte per second no longer holds a connection (slowloris).
    std::chrono::seconds message_timeout{10};
    std::size_t max_connections = 10000;  // across all workers sharing a ConnectionDirectory
    // A TLS (or WebSocket) handshake must complete this long after the accept.
    std::chrono::seconds handshake_timeout{10};
    sip::Limits limits;
    WebSocketOptions websocket;
};

class Connection;
class DnsLookups;
class ConnectionDirectory;
class ByteStream;
class TlsStore;

// Why a send failed when the peer's own connection (its flow) is gone: the proxy does
// not connect() to the ephemeral port of a connection the peer opened (RFC 5626 5.3).
inline std::error_code flow_gone_error() { return std::make_error_code(std::errc::not_connected); }

// One message as received, before anything has looked at it: a datagram (a view into
// the receive buffer, so a message that is dropped is never copied) or one message
// framed from a TCP stream (already in a string of its own, which may be taken).
struct Inbound {
    std::string_view bytes;        // valid during the handler call only
    std::string* owned = nullptr;  // stream: a string holding exactly `bytes`
    const Peer& from;
    const Local& local;            // the listener it arrived on
    bool stream = false;
    // A stream that could not be framed (no or bad Content-Length, headers too large):
    // the connection is being closed; `bytes` is empty.
    const sip::ParseError* stream_error = nullptr;

    std::string take() const { return owned ? std::move(*owned) : std::string(bytes); }
};

class Transport {
public:
    // Called for each datagram and each framed stream message (the ingress: admission,
    // parsing, dispatch).
    using ReceiveHandler = std::function<void(const Inbound&)>;
    // Asked before an accepted connection (any stream protocol) is used: `open` is how many inbound
    // connections that source (its IPv4 address or IPv6 /64) has open already, on any
    // worker. False closes it at once.
    using AcceptFilter = std::function<bool(const asio::ip::address& from, std::size_t open)>;
    // Called when a connection closes (RFC 5626 flow failure).
    using ConnectionClosedHandler = std::function<void(std::uint64_t connection)>;

    Transport(asio::io_context& io, unsigned worker, std::vector<Local> locals,
              TransportOptions options);
    ~Transport();

    void on_receive(ReceiveHandler h) { on_receive_ = std::move(h); }
    void set_accept_filter(AcceptFilter f) { accept_filter_ = std::move(f); }
    // Reload: applies to the next deadline of every connection.
    void set_message_timeout(std::chrono::seconds t) { options_.message_timeout = t; }
    // Reload: [websocket] for the connections accepted from now on (open ones keep theirs).
    void set_websocket(WebSocketOptions o) { options_.websocket = std::move(o); }
    void set_handshake_timeout(std::chrono::seconds t) { options_.handshake_timeout = t; }
    // Closes this worker's connections whose peer is in `network` (it was banned).
    std::size_t close_connections_from(const Cidr& network);
    // accept() failures since start (EMFILE, ENFILE, ...).
    std::uint64_t accept_failures() const { return accept_failures_.load(std::memory_order_relaxed); }
    std::uint64_t message_timeouts() const { return message_timeouts_.load(std::memory_order_relaxed); }
    // Inbound connections closed because their handshake failed or timed out (TLS: wrong
    // CA, plain TCP bytes, a half handshake).
    std::uint64_t handshake_failures() const { return handshake_failures_.load(std::memory_order_relaxed); }
    void on_connection_closed(ConnectionClosedHandler h) { on_closed_ = std::move(h); }
    // All workers' transports, indexed by worker, so a connection owned by another worker
    // can be reached.
    void set_siblings(std::vector<Transport*> siblings) { siblings_ = std::move(siblings); }
    // The process-wide DNS resolver (RFC 3263 lookups), shared by all workers. Without
    // one, next hops with a host name are resolved by A/AAAA only (getaddrinfo).
    void set_resolver(std::shared_ptr<DnsLookups> r) { resolver_ = std::move(r); }
    DnsLookups* resolver() const { return resolver_.get(); }
    // The directory of every worker's connections (one per daemon; each Transport has
    // a private one until the daemon links them).
    void set_directory(std::shared_ptr<ConnectionDirectory> d) { directory_ = std::move(d); }
    const std::shared_ptr<ConnectionDirectory>& directory() const { return directory_; }
    // The certificates and verification settings of TLS connections, shared by all
    // workers and replaced as a whole by a reload (set before start(); without it, TLS
    // listeners accept nothing and TLS next hops fail).
    void set_tls(std::shared_ptr<TlsStore> s) { tls_ = std::move(s); }
    // The live trace every message in and out is offered to (set before start()).
    void set_tracer(trace::Tracer* t) { tracer_ = t; }

    // Opens the sockets; throws std::system_error naming the address on failure.
    void start();
    // On the worker that completed the UDP groups (the last one): requests go to the first
    // `n` workers from now on (response_steering.hpp). Its own thread only.
    void steer_requests(unsigned n);
    void stop();
    // Reload: closes the listeners that are gone, opens the new ones (a failure to open
    // one is logged; the daemon checks that they can be bound before it asks).
    void reconfigure(const std::vector<Local>& locals);

    // Sends a message (see reach()). Completes with an error when the bytes could not be
    // handed to the network (unreachable, refused, connection or handshake failed).
    asio::awaitable<std::error_code> send(Peer to, std::string bytes);
    // Fire and forget: responses, ACKs, retransmissions. Without may_connect, a stream
    // message with no open connection to its peer is dropped instead of connecting.
    void post_send(const Peer& to, std::string bytes, bool may_connect = true);

    // The local address used to send to `to` (for Via and Record-Route), or nullptr when
    // no listener of that protocol and family exists.
    const Local* local_for(Protocol p, bool v6) const;
    unsigned worker() const { return worker_; }
    // Open connections (all stream protocols) of every worker sharing this one's directory.
    std::size_t connections() const;
    static unsigned owner_of(std::uint64_t connection) {
        return static_cast<unsigned>(connection >> 48);
    }

private:
    friend class Connection;
    struct Listener {
        Local local;
        std::unique_ptr<asio::ip::udp::socket> udp;
        std::unique_ptr<asio::ip::tcp::acceptor> tcp;
        bool closed = false;
    };
    void open(const std::shared_ptr<Listener>& l);
    void close(Listener& l);
    asio::ip::udp::socket* udp_socket_for(bool v6) const;
    asio::awaitable<void> udp_receive_loop(std::shared_ptr<Listener> l);
    asio::awaitable<void> accept_loop(std::shared_ptr<Listener> l);
    // Opens a connection to `to` (TCP connect, then the handshake) and sends on it.
    asio::awaitable<std::error_code> connect_and_send(Peer to, std::string bytes);
    // The byte stream of `protocol` over `socket`; nullptr when this worker cannot
    // carry that protocol.
    std::unique_ptr<ByteStream> make_stream(Protocol protocol, asio::ip::tcp::socket socket,
                                            bool inbound, std::string_view server_name = {},
                                            std::string_view listener = {});
    void deliver(const Inbound& in) {
        if (tracer_ && tracer_->active()) [[unlikely]]
            trace(trace::Direction::In, in.local, in.from, in.bytes);
        if (on_receive_) on_receive_(in);
    }
    // Offers a message to the live trace (only while someone traces).
    void trace(trace::Direction d, const Local& local, const Peer& remote, std::string_view bytes);
    void trace_udp_out(const Peer& to, std::string_view bytes);
    void connection_closed(Connection& c);
    void handshake_failed(Connection& c, std::error_code ec);
    // `reserved`: an inbound connection counted already (ConnectionDirectory::reserve_inbound).
    void add_connection(const std::shared_ptr<Connection>& c, bool reserved = false);

    // How a message reaches `to`: UDP from the listener of the same address family;
    // a stream on to.connection when it is alive, else on an open connection of that
    // protocol to to.address:port (whichever worker owns it: the bytes are handed to that
    // worker), else on a new connection, unless the last connection with that protocol,
    // address and port was opened by the peer (flow_gone_error()), or the protocol is
    // one the proxy cannot connect with (WebSocket: only the client connects).
    struct Reach {
        enum class Way { Datagram, Here, Elsewhere, Connect, Fail } way = Way::Fail;
        asio::ip::udp::socket* udp = nullptr;  // Datagram
        std::shared_ptr<Connection> here;      // Here: a connection of this worker
        std::uint64_t elsewhere = 0;           // Elsewhere: a connection of another worker
        std::error_code error;                 // Fail
    };
    Reach reach(const Peer& to) const;
    void send_datagram(asio::ip::udp::socket& socket, const Peer& to, std::string_view bytes,
                       asio::error_code& ec);
    // Hands bytes to the worker owning `connection`; that worker drops them if the
    // connection has closed meanwhile.
    void send_on_owner(std::uint64_t connection, std::string bytes);
    void write_owned(std::uint64_t connection, std::string bytes);
    std::uint64_t new_connection_id() {
        return (static_cast<std::uint64_t>(worker_) << 48) | next_connection_++;
    }

    asio::io_context& io_;
    unsigned worker_;
    std::vector<Local> initial_;
    std::vector<std::shared_ptr<Listener>> listeners_;
    TransportOptions options_;
    ReceiveHandler on_receive_;
    AcceptFilter accept_filter_;
    std::atomic<std::uint64_t> accept_failures_{0};
    std::atomic<std::uint64_t> message_timeouts_{0};
    std::atomic<std::uint64_t> handshake_failures_{0};
    ConnectionClosedHandler on_closed_;
    std::vector<Transport*> siblings_;
    std::shared_ptr<DnsLookups> resolver_;
    std::shared_ptr<ConnectionDirectory> directory_;
    trace::Tracer* tracer_ = nullptr;
    std::shared_ptr<TlsStore> tls_;
    std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> connections_;
    std::uint64_t next_connection_ = 1;
    bool stopped_ = false;
};

}  // namespace sipproxy::transport
