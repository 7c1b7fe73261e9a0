#include "transport/transport.hpp"

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <cstring>
#include <deque>
#include <optional>

#include "base/log.hpp"
#include "transport/connection.hpp"
#include "transport/connection_directory.hpp"
#include "transport/tls_store.hpp"
#include "transport/datagram_batch.hpp"
#include "transport/response_steering.hpp"

namespace sipproxy::transport {

namespace {
constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);
// Datagrams read by one recvmmsg: under load, one system call for several (the receive
// buffers, 64 KiB each, are per listener and worker).
constexpr std::size_t kDatagramsPerReceive = 8;
constexpr std::chrono::seconds kConnectTimeout{5};
}  // namespace

Transport::Transport(asio::io_context& io, unsigned worker, std::vector<Local> locals,
                     TransportOptions options)
    : io_(io), worker_(worker), initial_(std::move(locals)), options_(options),
      directory_(std::make_shared<ConnectionDirectory>()) {
    // Listeners exist (for local_for) before their sockets are opened by start().
    for (auto& l : initial_) listeners_.push_back(std::make_shared<Listener>(Listener{l, nullptr, nullptr, false}));
}

Transport::~Transport() = default;

void Transport::start() {
    for (auto& l : listeners_) open(l);
    // The last worker to open its sockets completes each listener's SO_REUSEPORT group
    // (the daemon opens them in worker order, so socket i is worker i's): from now on
    // responses reach the worker of their client transaction directly. A listener added
    // by a reload is not steered (its group may form in any order): hashed as before.
    if (siblings_.size() > 1 && worker_ + 1 == siblings_.size()) {
        for (auto& l : listeners_) {
            if (!l->udp) continue;
            if (auto ec = steer_responses(l->udp->native_handle(),
                                          static_cast<unsigned>(siblings_.size())))
                log::warn("{}: responses are not steered to their worker: {}",
                          l->local.hostport(), ec.message());
        }
    }
}

void Transport::steer_requests(unsigned n) {
    if (siblings_.size() <= 1 || worker_ + 1 != siblings_.size()) return;
    for (auto& l : listeners_) {
        if (!l->udp || l->closed) continue;
        if (auto ec = steer_responses(l->udp->native_handle(),
                                      static_cast<unsigned>(siblings_.size()), n))
            log::warn("{}: requests are not re-steered: {}", l->local.hostport(), ec.message());
    }
}

void Transport::open(const std::shared_ptr<Listener>& listener) {
    const Local& l = listener->local;
    try {
        if (!l.reliable()) {
            auto s = std::make_unique<asio::ip::udp::socket>(io_);
            asio::ip::udp::endpoint ep(l.address, l.port);
            s->open(ep.protocol());
            s->set_option(asio::socket_base::reuse_address(true));
            int one = 1;
            ::setsockopt(s->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
            if (l.address.is_v6()) s->set_option(asio::ip::v6_only(true));
            s->set_option(asio::socket_base::receive_buffer_size(4 << 20));
            s->bind(ep);
            listener->udp = std::move(s);
            asio::co_spawn(io_, udp_receive_loop(listener), asio::detached);
        } else {
            auto a = std::make_unique<asio::ip::tcp::acceptor>(io_);
            asio::ip::tcp::endpoint ep(l.address, l.port);
            a->open(ep.protocol());
            a->set_option(asio::socket_base::reuse_address(true));
            int one = 1;
            ::setsockopt(a->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
            if (l.address.is_v6()) a->set_option(asio::ip::v6_only(true));
            a->bind(ep);
            a->listen(asio::socket_base::max_listen_connections);
            listener->tcp = std::move(a);
            asio::co_spawn(io_, accept_loop(listener), asio::detached);
        }
    } catch (const std::system_error& e) {
        throw std::system_error(e.code(), std::string(uri_name(l.protocol)) + "://" + l.hostport());
    }
}

void Transport::close(Listener& l) {
    l.closed = true;
    asio::error_code ec;
    if (l.udp) l.udp->close(ec);
    if (l.tcp) l.tcp->close(ec);
}

void Transport::stop() {
    stopped_ = true;
    for (auto& l : listeners_) close(*l);
    auto conns = connections_;
    for (auto& [id, c] : conns) c->close();
}

void Transport::reconfigure(const std::vector<Local>& locals) {
    auto same = [](const Local& a, const Local& b) {
        return a.protocol == b.protocol && a.address == b.address && a.port == b.port;
    };
    std::vector<std::shared_ptr<Listener>> kept;
    for (auto& l : listeners_) {
        bool wanted = false;
        for (const auto& n : locals) wanted = wanted || same(l->local, n);
        if (wanted) kept.push_back(l);
        else close(*l);  // its receive loop ends and drops it
    }
    for (const auto& n : locals) {
        bool have = false;
        for (const auto& l : kept) have = have || same(l->local, n);
        if (have) continue;
        auto l = std::make_shared<Listener>(Listener{n, nullptr, nullptr, false});
        try {
            open(l);
            kept.push_back(l);
        } catch (const std::system_error& e) {
            log::error("worker {}: cannot listen on {}: {}", worker_, e.what(), e.code().message());
        }
    }
    listeners_ = std::move(kept);
}

asio::awaitable<void> Transport::udp_receive_loop(std::shared_ptr<Listener> l) {
    auto& socket = *l->udp;
    const Local local = l->local;
    // One byte more than the limit, so an oversized datagram is seen as such.
    DatagramBatch batch(options_.limits.max_message_size + 1, kDatagramsPerReceive);
    bool more = false;  // the last receive filled the batch: more may be waiting
    while (!stopped_ && !l->closed) {
        if (more) {
            // Timers and the other sockets get their turn before the next batch (no
            // system call: the handler queue of this thread).
            co_await asio::post(io_, asio::use_awaitable);
        } else {
            // Readable, from epoll: the socket is read only then, never speculatively.
            // (Edge-triggered: a datagram that comes after the receive below makes a new
            // edge, and nothing else runs on this thread before this wait is queued.)
            auto [ec] = co_await socket.async_wait(asio::socket_base::wait_read, use_nothrow);
            if (ec) {
                if (ec == asio::error::operation_aborted || stopped_ || l->closed) break;
                continue;
            }
        }
        if (stopped_ || l->closed) break;
        std::error_code ec;
        const std::size_t n = batch.receive(socket.native_handle(), ec);
        // A full batch, or an error (e.g. ICMP errors reported on the socket) that may have
        // left datagrams behind: read again without waiting for a new edge.
        more = n == batch.capacity() ||
               (ec && ec != std::errc::resource_unavailable_try_again &&
                ec != std::errc::operation_would_block);
        for (std::size_t i = 0; i < n && !stopped_ && !l->closed; ++i) {
            std::string_view data = batch.data(i);
            if (data.empty()) continue;
            // RFC 5626 4.4.1 / 3.5.1: keep-alive CRLFs on UDP are not messages.
            if (data.find_first_not_of("\r\n\t ") == std::string_view::npos) continue;
            asio::ip::udp::endpoint from;
            const auto size = batch.source_size(i);
            if (size == 0 || size > from.capacity()) continue;
            std::memcpy(from.data(), batch.source(i), size);
            from.resize(size);
            Peer peer{Protocol::Udp, from.address(), from.port(), 0, {}};
            deliver(Inbound{data, nullptr, peer, local, false});
        }
    }
}

asio::awaitable<void> Transport::accept_loop(std::shared_ptr<Listener> l) {
    auto& acceptor = *l->tcp;
    const Local local = l->local;
    // accept() failing for want of descriptors (EMFILE, ENFILE) or memory fails again at
    // once while the connection waits in the backlog: back off (100 ms, doubling up to
    // 2 s) instead of spinning, and say so once per 10 s with the count.
    constexpr std::chrono::milliseconds kFirstBackoff{100}, kMaxBackoff{2000};
    constexpr std::chrono::seconds kLogInterval{10};
    auto backoff = kFirstBackoff;
    std::uint64_t unlogged = 0;
    std::chrono::steady_clock::time_point logged{};
    asio::steady_timer pause(io_);
    while (!stopped_ && !l->closed) {
        auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
        if (ec) {
            if (ec == asio::error::operation_aborted || stopped_ || l->closed) break;
            accept_failures_.fetch_add(1, std::memory_order_relaxed);
            ++unlogged;
            const auto now = std::chrono::steady_clock::now();
            if (now - logged >= kLogInterval) {
                log::error("{} {}: accept failed: {} ({} time(s) in the last {}s); retrying in {} ms",
                           uri_name(local.protocol), local.hostport(), ec.message(), unlogged, kLogInterval.count(),
                           backoff.count());
                logged = now;
                unlogged = 0;
            }
            pause.expires_after(backoff);
            co_await pause.async_wait(use_nothrow);
            backoff = std::min(backoff * 2, kMaxBackoff);
            continue;
        }
        backoff = kFirstBackoff;
        if (directory_->size() >= options_.max_connections) {
            log::warn("{}: connection limit {} reached, refusing a connection",
                      uri_name(local.protocol), options_.max_connections);
            asio::error_code ignored;
            socket.close(ignored);
            continue;
        }
        asio::error_code e;
        const auto from = socket.remote_endpoint(e).address();
        if (e) {
            socket.close(e);
            continue;
        }
        // Counted before it is judged: the workers accept in parallel (the per-source cap).
        const std::size_t before = directory_->reserve_inbound(from);
        if (accept_filter_ && !accept_filter_(from, before)) {
            directory_->release_inbound(from);
            socket.close(e);
            continue;
        }
        auto stream = make_stream(local.protocol, std::move(socket), true, {},
                                  listener_key(local.address.to_string(), local.port));
        auto framing = make_framing(local.protocol, true, options_.limits, options_.websocket);
        if (!stream || !framing) {  // a protocol this build cannot carry (closed)
            directory_->release_inbound(from);
            continue;
        }
        auto c = std::make_shared<Connection>(*this, std::move(stream), std::move(framing),
                                              new_connection_id(), local, local.protocol, true);
        add_connection(c, true);
        c->start();
    }
}

std::size_t Transport::close_connections_from(const Cidr& network) {
    const auto net = network_key(network);
    const auto prefix = prefix_128(network);
    std::vector<std::shared_ptr<Connection>> doomed;
    for (const auto& [id, c] : connections_)
        if (address_key(c->remote().address).masked(prefix) == net) doomed.push_back(c);
    for (auto& c : doomed) c->close();
    return doomed.size();
}

std::unique_ptr<ByteStream> Transport::make_stream(Protocol protocol, asio::ip::tcp::socket socket,
                                                   bool inbound, std::string_view server_name,
                                                   std::string_view listener) {
    switch (traits(protocol).stream) {
    case StreamKind::Tcp:
    case StreamKind::Ws: return make_tcp_stream(std::move(socket));
    case StreamKind::Tls:
    case StreamKind::Wss:
        // The contexts current now: a reload does not change a connection's session.
        return make_tls_stream(tls_ ? tls_->get() : nullptr, std::move(socket), inbound,
                               server_name, listener);
    case StreamKind::None: break;
    }
    return nullptr;
}

void Transport::add_connection(const std::shared_ptr<Connection>& c, bool reserved) {
    connections_[c->id()] = c;
    directory_->add(c->remote().protocol, c->remote().address, c->remote().port, c->id(),
                    c->inbound(), reserved);
}

void Transport::connection_closed(Connection& c) {
    const auto id = c.id();
    directory_->remove(c.remote().protocol, c.remote().address, c.remote().port, id);
    // Keep the connection alive until its coroutines have returned.
    auto keep = connections_[id];
    connections_.erase(id);
    asio::post(io_, [keep]() {});
    if (on_closed_) on_closed_(id);
}

void Transport::handshake_failed(Connection& c, std::error_code ec) {
    handshake_failures_.fetch_add(1, std::memory_order_relaxed);
    log::debug("{}: handshake failed: {}", c.remote().to_string(), ec.message());
}

Transport::Reach Transport::reach(const Peer& to) const {
    using Way = Reach::Way;
    Reach r;
    if (!to.reliable()) {
        r.udp = udp_socket_for(to.address.is_v6());
        if (r.udp) r.way = Way::Datagram;
        else r.error = std::make_error_code(std::errc::address_family_not_supported);
        return r;
    }
    auto here = [&](std::uint64_t id) {
        auto it = connections_.find(id);
        if (it == connections_.end() || it->second->closed()) return false;
        r.way = Way::Here;
        r.here = it->second;
        return true;
    };
    if (to.connection) {
        if (owner_of(to.connection) == worker_) {
            if (here(to.connection)) return r;
        } else if (owner_of(to.connection) < siblings_.size()) {
            // Its owner knows whether it is still open (send_on_owner).
            r.way = Way::Elsewhere;
            r.elsewhere = to.connection;
            return r;
        }
    }
    // Any open connection with the peer's protocol, address and port, on any worker.
    const auto found = directory_->find(to.protocol, to.address, to.port);
    if (found.connection) {
        if (owner_of(found.connection) != worker_) {
            if (owner_of(found.connection) < siblings_.size()) {
                r.way = Way::Elsewhere;
                r.elsewhere = found.connection;
            } else {
                r.error = flow_gone_error();
            }
            return r;
        }
        if (here(found.connection)) return r;
        r.error = flow_gone_error();
        return r;
    }
    // The peer's port was the far end of a connection it opened: nobody listens there.
    if (found.flow_gone || (to.connection && to.port == 0) || !connectable(to.protocol)) {
        r.error = flow_gone_error();
        return r;
    }
    if (!local_for(to.protocol, to.address.is_v6())) {
        r.error = std::make_error_code(std::errc::address_family_not_supported);
        return r;
    }
    if (directory_->size() >= options_.max_connections) {
        r.error = std::make_error_code(std::errc::too_many_files_open);
        return r;
    }
    r.way = Way::Connect;
    return r;
}

void Transport::send_on_owner(std::uint64_t connection, std::string bytes) {
    Transport* owner = siblings_[owner_of(connection)];
    asio::post(owner->io_, [owner, connection, b = std::move(bytes)]() mutable {
        owner->write_owned(connection, std::move(b));
    });
}

void Transport::write_owned(std::uint64_t connection, std::string bytes) {
    auto it = connections_.find(connection);
    if (it == connections_.end() || it->second->closed()) {
        log::debug("tcp: connection {:x} closed before a message for it was written", connection);
        return;
    }
    it->second->write(std::move(bytes));
}

void Transport::trace(trace::Direction d, const Local& local, const Peer& remote,
                      std::string_view bytes) {
    if (bytes.empty()) return;  // a stream that could not be framed
    trace::Tap tap{d, uri_name(remote.protocol), address_key(remote.address), bytes};
    tracer_->record(tap, [&] {
        return trace::Endpoints{local.hostport(), uri_host(remote.address) + ":" +
                                                      std::to_string(remote.port)};
    });
}

void Transport::trace_udp_out(const Peer& to, std::string_view bytes) {
    static const Local none{};
    const Local* local = local_for(Protocol::Udp, to.address.is_v6());
    trace(trace::Direction::Out, local ? *local : none, to, bytes);
}

std::size_t Transport::connections() const { return directory_->size(); }

const Local* Transport::local_for(Protocol p, bool v6) const {
    for (const auto& l : listeners_)
        if (!l->closed && l->local.protocol == p && l->local.address.is_v6() == v6) return &l->local;
    return nullptr;
}

asio::ip::udp::socket* Transport::udp_socket_for(bool v6) const {
    for (const auto& l : listeners_)
        if (!l->closed && l->udp && l->local.address.is_v6() == v6) return l->udp.get();
    return nullptr;
}

void Transport::send_datagram(asio::ip::udp::socket& socket, const Peer& to,
                              std::string_view bytes, asio::error_code& ec) {
    // Traced before it leaves: the answer, on another worker, is traced after it.
    if (tracer_ && tracer_->active()) [[unlikely]]
        trace_udp_out(to, bytes);
    socket.send_to(asio::buffer(bytes), asio::ip::udp::endpoint(to.address, to.port), 0, ec);
}

asio::awaitable<std::error_code> Transport::send(Peer to, std::string bytes) {
    auto r = reach(to);
    switch (r.way) {
    case Reach::Way::Datagram: {
        asio::error_code ec;
        send_datagram(*r.udp, to, bytes, ec);
        co_return ec;
    }
    case Reach::Way::Here: r.here->write(std::move(bytes)); co_return std::error_code{};
    case Reach::Way::Elsewhere: send_on_owner(r.elsewhere, std::move(bytes)); co_return std::error_code{};
    case Reach::Way::Connect: co_return co_await connect_and_send(std::move(to), std::move(bytes));
    case Reach::Way::Fail: break;
    }
    co_return r.error;
}

asio::awaitable<std::error_code> Transport::connect_and_send(Peer to, std::string bytes) {
    const Local* l = local_for(to.protocol, to.address.is_v6());
    if (!l) co_return std::make_error_code(std::errc::address_family_not_supported);
    const Local local = *l;  // the listener may go in a reload while this waits

    using namespace asio::experimental::awaitable_operators;
    asio::ip::tcp::socket socket(io_);
    asio::steady_timer timer(io_, kConnectTimeout);
    auto result = co_await (socket.async_connect(asio::ip::tcp::endpoint(to.address, to.port),
                                                 use_nothrow) ||
                            timer.async_wait(use_nothrow));
    if (result.index() == 1) co_return std::make_error_code(std::errc::timed_out);
    if (auto [ec] = std::get<0>(result); ec) co_return ec;
    // RFC 5922 7: the certificate must name the host the URI named (else its address).
    auto stream = make_stream(to.protocol, std::move(socket), false,
                              to.server_name.empty() ? address_text(to.address) : to.server_name);
    auto framing = make_framing(to.protocol, false, options_.limits);
    if (!stream || !framing) co_return std::make_error_code(std::errc::protocol_not_supported);
    // The handshake (TLS: the server's certificate verified) before the message is
    // handed over, so that a failure is this send's error.
    timer.expires_after(options_.handshake_timeout);
    auto shaken = co_await (stream->handshake() || timer.async_wait(use_nothrow));
    if (shaken.index() == 1) co_return std::make_error_code(std::errc::timed_out);
    if (auto ec = std::get<0>(shaken); ec) {
        log::info("{}: handshake failed: {}", to.to_string(), ec.message());
        co_return ec;
    }
    // Another send may have connected meanwhile; use one connection per peer.
    auto r = reach(to);
    if (r.way == Reach::Way::Here) {
        r.here->write(std::move(bytes));
        co_return std::error_code{};
    }
    if (r.way == Reach::Way::Elsewhere) {
        send_on_owner(r.elsewhere, std::move(bytes));
        co_return std::error_code{};
    }
    auto c = std::make_shared<Connection>(*this, std::move(stream), std::move(framing),
                                          new_connection_id(), local, to.protocol, false);
    add_connection(c);
    c->start();
    c->write(std::move(bytes));
    co_return std::error_code{};
}

void Transport::post_send(const Peer& to, std::string bytes, bool may_connect) {
    auto r = reach(to);
    switch (r.way) {
    case Reach::Way::Datagram: {
        asio::error_code ec;
        send_datagram(*r.udp, to, bytes, ec);
        return;
    }
    case Reach::Way::Here: r.here->write(std::move(bytes)); return;
    case Reach::Way::Elsewhere: send_on_owner(r.elsewhere, std::move(bytes)); return;
    case Reach::Way::Connect:
        if (!may_connect) return;
        asio::co_spawn(
            io_,
            [this, to, b = std::move(bytes)]() mutable -> asio::awaitable<void> {
                auto ec = co_await connect_and_send(to, std::move(b));
                if (ec) log::debug("send to {} failed: {}", to.to_string(), ec.message());
            },
            asio::detached);
        return;
    case Reach::Way::Fail: return;
    }
}

}  // namespace sipproxy::transport
