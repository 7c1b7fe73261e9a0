#pragma once
// The transport layer of one worker (RFC 3261 18): UDP sockets and TCP listeners on the
// configured addresses (SO_REUSEPORT, so every worker has its own), TCP connections
// opened on demand and reused, and delivery of every complete message to the handler.
// A worker's Transport is used only from that worker's thread; work for a connection
// owned by another worker is posted to it.
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "sip/message.hpp"
#include "transport/peer.hpp"

namespace sipproxy::transport {

struct TransportOptions {
    std::chrono::seconds tcp_idle_timeout{300};
    std::size_t max_connections = 10000;  // per worker
    sip::Limits limits;
};

class TcpConnection;
class DnsLookups;

class Transport {
public:
    // Called for each complete, parsed message. `local` is the listener it arrived on.
    using MessageHandler = std::function<void(sip::Message, const Peer& from, const Local& local)>;
    // Called with the raw bytes and the reason when a datagram or framed message does not
    // parse (so the proxy can answer 400 with that reason where possible).
    using ParseErrorHandler =
        std::function<void(std::string_view raw, const sip::ParseError&, const Peer& from,
                           const Local& local)>;
    // Called when a TCP connection closes (RFC 5626 flow failure).
    using ConnectionClosedHandler = std::function<void(std::uint64_t connection)>;

    Transport(asio::io_context& io, unsigned worker, std::vector<Local> locals,
              TransportOptions options);
    ~Transport();

    void on_message(MessageHandler h) { on_message_ = std::move(h); }
    void on_parse_error(ParseErrorHandler h) { on_parse_error_ = std::move(h); }
    void on_connection_closed(ConnectionClosedHandler h) { on_closed_ = std::move(h); }
    // All workers' transports, indexed by worker, so a connection owned by another worker
    // can be reached.
    void set_siblings(std::vector<Transport*> siblings) { siblings_ = std::move(siblings); }
    // The process-wide DNS resolver (RFC 3263 lookups), shared by all workers. Without
    // one, next hops with a host name are resolved by A/AAAA only (getaddrinfo).
    void set_resolver(std::shared_ptr<DnsLookups> r) { resolver_ = std::move(r); }
    DnsLookups* resolver() const { return resolver_.get(); }

    // Opens the sockets; throws std::system_error naming the address on failure.
    void start();
    void stop();
    // Reload: closes the listeners that are gone, opens the new ones (a failure to open
    // one is logged; the daemon checks that they can be bound before it asks).
    void reconfigure(const std::vector<Local>& locals);

    // Sends a message. UDP: from the listener of the same address family. TCP: on
    // to.connection when it is alive, else on an open connection to to.address:port,
    // else on a new connection. Completes with an error when the bytes could not be
    // handed to the network (unreachable, refused, connection failed).
    asio::awaitable<std::error_code> send(Peer to, std::string bytes);
    // Fire and forget: responses, ACKs, retransmissions. Without `may_connect`, TCP bytes
    // go only on a connection that exists; with none they are dropped.
    void post_send(const Peer& to, std::string bytes, bool may_connect = true);

    // The local address used to send to `to` (for Via and Record-Route), or nullptr when
    // no listener of that protocol and family exists.
    const Local* local_for(Protocol p, bool v6) const;
    unsigned worker() const { return worker_; }
    std::size_t connection_count() const { return connections_.size(); }
    static unsigned owner_of(std::uint64_t connection) {
        return static_cast<unsigned>(connection >> 48);
    }

private:
    friend class TcpConnection;
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
    asio::awaitable<void> tcp_accept_loop(std::shared_ptr<Listener> l);
    asio::awaitable<std::error_code> tcp_send(Peer to, std::string bytes);
    void deliver(std::string bytes, const Peer& from, const Local& local, bool stream);
    void connection_closed(TcpConnection& c);
    std::shared_ptr<TcpConnection> find_connection(const Peer& to);

    asio::io_context& io_;
    unsigned worker_;
    std::vector<Local> initial_;
    std::vector<std::shared_ptr<Listener>> listeners_;
    TransportOptions options_;
    MessageHandler on_message_;
    ParseErrorHandler on_parse_error_;
    ConnectionClosedHandler on_closed_;
    std::vector<Transport*> siblings_;
    std::shared_ptr<DnsLookups> resolver_;
    std::unordered_map<std::uint64_t, std::shared_ptr<TcpConnection>> connections_;
    std::unordered_multimap<std::string, std::uint64_t> by_remote_;  // "ip:port" -> id
    std::uint64_t next_connection_ = 1;
    bool stopped_ = false;
};

}  // namespace sipproxy::transport
