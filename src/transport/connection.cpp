#include "transport/connection.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "base/log.hpp"
#include "transport/transport.hpp"

namespace sipproxy::transport {

namespace {
constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

class TcpStream final : public ByteStream {
public:
    explicit TcpStream(asio::ip::tcp::socket s) : socket_(std::move(s)) {}
    asio::awaitable<std::error_code> handshake() override { co_return std::error_code{}; }
    asio::awaitable<std::pair<std::error_code, std::size_t>> read_some(std::span<char> into) override {
        auto [ec, n] = co_await socket_.async_read_some(asio::buffer(into.data(), into.size()), use_nothrow);
        co_return std::pair<std::error_code, std::size_t>{ec, n};
    }
    asio::awaitable<std::error_code> write(std::string_view bytes) override {
        auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes), use_nothrow);
        (void)n;
        co_return ec;
    }
    void close() override {
        asio::error_code ec;
        socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
        socket_.close(ec);
    }
    asio::ip::tcp::socket& socket() override { return socket_; }

private:
    asio::ip::tcp::socket socket_;
};
}  // namespace

std::unique_ptr<ByteStream> make_tcp_stream(asio::ip::tcp::socket socket) {
    return std::make_unique<TcpStream>(std::move(socket));
}

Connection::Connection(Transport& t, std::unique_ptr<ByteStream> stream,
                       std::unique_ptr<Framing> framing, std::uint64_t id, const Local& local,
                       Protocol protocol, bool inbound)
    : transport_(t), stream_(std::move(stream)), framing_(std::move(framing)), id_(id),
      local_(local), timer_(stream_->socket().get_executor()), inbound_(inbound),
      established_(!inbound) {
    // A connection we accepted must bring its first message in time, like any message
    // (a connection that never sends one is what slowloris holds).
    if (inbound) partial_since_ = started_;
    asio::error_code ec;
    auto ep = stream_->socket().remote_endpoint(ec);
    remote_.protocol = protocol;
    remote_.address = ep.address();
    remote_.port = ep.port();
    remote_.connection = id;
    stream_->socket().set_option(asio::ip::tcp::no_delay(true), ec);
}

void Connection::start() {
    auto self = shared_from_this();
    auto ex = stream_->socket().get_executor();
    asio::co_spawn(ex, [self]() { return self->run(); }, asio::detached);
    asio::co_spawn(ex, [self]() { return self->watchdog(); }, asio::detached);
}

void Connection::write(std::string message) {
    if (closed_) return;
    if (transport_.tracer_ && transport_.tracer_->active()) [[unlikely]]
        transport_.trace(trace::Direction::Out, local_, remote_, message);
    queue(framing_->encode(std::move(message)));
}

void Connection::queue(std::string bytes) {
    if (closed_) return;
    out_.push_back(std::move(bytes));
    if (!writing_ && established_) {
        writing_ = true;
        auto self = shared_from_this();
        asio::co_spawn(stream_->socket().get_executor(), [self]() { return self->write_loop(); },
                       asio::detached);
    }
}

void Connection::close() {
    if (closed_) return;
    closed_ = true;
    stream_->close();
    timer_.cancel();
    transport_.connection_closed(*this);
}

asio::awaitable<void> Connection::run() {
    if (!established_) {
        // The watchdog closes the connection at the handshake deadline.
        const auto ec = co_await stream_->handshake();
        if (closed_) co_return;
        if (ec) {
            transport_.handshake_failed(*this, ec);
            close();
            co_return;
        }
        established_ = true;
        last_activity_ = Clock::now();
        partial_since_ = last_activity_;  // the first message is due within the message timeout
        timer_.cancel();                  // the watchdog recomputes its deadline
        if (!out_.empty() && !writing_) {  // written while the handshake ran
            writing_ = true;
            auto self = shared_from_this();
            asio::co_spawn(stream_->socket().get_executor(), [self]() { return self->write_loop(); },
                           asio::detached);
        }
    }
    std::string buf(stream_->read_size(), '\0');
    for (;;) {
        auto [ec, n] = co_await stream_->read_some(std::span<char>(buf.data(), buf.size()));
        if (ec || closed_) break;
        last_activity_ = Clock::now();
        last_read_ = last_activity_;
        probe_sent_ = false;
        framing_->append(std::string_view(buf.data(), n));
        for (;;) {
            auto r = framing_->next();
            if (r.event == Framing::Event::NeedMore) break;
            if (r.event == Framing::Event::Reply) {
                queue(std::move(r.bytes));
            } else if (r.event == Framing::Event::Message) {
                transport_.deliver(Inbound{r.bytes, &r.bytes, remote_, local_, true});
                if (closed_) co_return;  // the message's source was banned
            } else if (r.event == Framing::Event::Close) {
                // Best effort: the close frame goes out if the socket takes it at once.
                if (!r.bytes.empty()) co_await stream_->write(r.bytes);
                close();
                co_return;
            } else {
                // The ingress logs it (bounded per source).
                transport_.deliver(Inbound{{}, nullptr, remote_, local_, true, &r.error});
                close();
                co_return;
            }
        }
        // The deadline runs from the first byte of a message to its last.
        if (!framing_->partial()) {
            // A WebSocket connection's first keep-alive deadline starts here (the upgrade
            // is done): the watchdog, asleep until the message deadline, recomputes it.
            if (partial_since_ && !framing_->keepalive_probe().empty()) timer_.cancel();
            partial_since_.reset();
        } else if (!partial_since_) {
            partial_since_ = last_activity_;
            timer_.cancel();  // the watchdog recomputes its deadline
        }
    }
    close();
}

asio::awaitable<void> Connection::write_loop() {
    while (!out_.empty() && !closed_) {
        std::string bytes = std::move(out_.front());
        out_.pop_front();
        const auto ec = co_await stream_->write(bytes);
        if (ec) {
            close();
            break;
        }
        last_activity_ = Clock::now();
    }
    writing_ = false;
}

// Three deadlines: the handshake timeout (TLS: a handshake started and not finished),
// the idle timeout (nothing sent or received), and the message timeout (a message
// started and not finished).
asio::awaitable<void> Connection::watchdog() {
    while (!closed_) {
        const auto& o = transport_.options_;
        auto deadline = last_activity_ + o.tcp_idle_timeout;
        if (!established_) deadline = std::min(deadline, started_ + o.handshake_timeout);
        if (established_ && partial_since_ && *partial_since_ + o.message_timeout < deadline)
            deadline = *partial_since_ + o.message_timeout;
        const auto keepalive = o.websocket.keepalive;
        const bool probes = established_ && !framing_->keepalive_probe().empty();
        if (probes) deadline = std::min(deadline, last_read_ + (probe_sent_ ? 2 * keepalive : keepalive));
        timer_.expires_at(deadline);
        co_await timer_.async_wait(use_nothrow);
        if (closed_) break;
        const auto now = Clock::now();
        if (!established_ && now - started_ >= o.handshake_timeout) {
            transport_.handshake_failed(*this, std::make_error_code(std::errc::timed_out));
            close();
        } else if (established_ && partial_since_ && now - *partial_since_ >= o.message_timeout) {
            transport_.message_timeouts_.fetch_add(1, std::memory_order_relaxed);
            log::debug("{} {}: no complete message within {}s, closing", uri_name(remote_.protocol),
                       remote_.to_string(), o.message_timeout.count());
            close();
        } else if (probes && probe_sent_ && now - last_read_ >= 2 * keepalive) {
            log::debug("{} {}: no answer to a keep-alive ping within {}s, closing", uri_name(remote_.protocol),
                       remote_.to_string(), keepalive.count());
            close();
        } else if (probes && !probe_sent_ && now - last_read_ >= keepalive) {
            probe_sent_ = true;
            queue(framing_->keepalive_probe());
        } else if (now - last_activity_ >= o.tcp_idle_timeout) {
            log::debug("{} {}: idle for {}s, closing", uri_name(remote_.protocol),
                       remote_.to_string(), o.tcp_idle_timeout.count());
            close();
        }
    }
}

}  // namespace sipproxy::transport
