// Two workers' transports, as in sipproxyd: a message for a peer whose TCP connection
// belongs to the other worker goes over that connection (issue: a TCP callee's ACK and
// BYE were sent to a connect() on its ephemeral port), and a peer's closed connection is
// reported as gone, never connected to.
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "transport/transport.hpp"

using namespace sipproxy;
using namespace std::chrono_literals;

namespace {

std::uint16_t free_tcp_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

const auto loopback = asio::ip::make_address("127.0.0.1");

std::string options_request(const std::string& tag) {
    return "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n"
           "Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK" + tag + "\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:a@example.test>;tag=" + tag + "\r\n"
           "To: <sip:bob@example.test>\r\nCall-ID: " + tag + "@example.test\r\n"
           "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
}

struct TwoWorkers {
    asio::io_context io0, io1;
    std::uint16_t port0 = free_tcp_port(), port1 = free_tcp_port();
    transport::Transport t0{io0, 0, {transport::Local::at(transport::Protocol::Tcp, loopback, port0)}, {}};
    transport::Transport t1{io1, 1, {transport::Local::at(transport::Protocol::Tcp, loopback, port1)}, {}};
    int received0 = 0;

    TwoWorkers() {
        t0.set_siblings({&t0, &t1});
        t1.set_siblings({&t0, &t1});
        t1.set_directory(t0.directory());
        t0.on_receive([this](const transport::Inbound& in) {
            if (!in.stream_error) ++received0;
        });
        t0.start();
        t1.start();
    }
    ~TwoWorkers() {
        t0.stop();
        t1.stop();
        run(50ms);
    }
    void run(std::chrono::milliseconds d) {
        io0.restart();
        io1.restart();
        io0.run_for(d / 2);
        io1.run_for(d / 2);
    }
    template <class Pred>
    bool run_until(Pred p, std::chrono::milliseconds limit = 10000ms) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (!p()) {
            if (std::chrono::steady_clock::now() >= end) return false;
            run(10ms);
        }
        return true;
    }
    std::optional<std::error_code> send_from_1(transport::Peer to, std::string bytes) {
        std::optional<std::error_code> result;
        asio::co_spawn(io1, [&]() -> asio::awaitable<void> {
            result = co_await t1.send(to, std::move(bytes));
        }, asio::detached);
        run_until([&] { return result.has_value(); });
        return result;
    }
};

}  // namespace

TEST_CASE("tcp: a message for a peer connected to worker 0 is sent by worker 1 over that connection") {
    TwoWorkers w;
    asio::io_context client_io;
    asio::ip::tcp::socket phone(client_io);
    phone.connect(asio::ip::tcp::endpoint(loopback, w.port0));
    // The phone's REGISTER flow: worker 0 reads a message from it.
    asio::write(phone, asio::buffer(options_request("reg1")));
    REQUIRE(w.run_until([&] { return w.received0 == 1; }));
    REQUIRE(w.t1.connections() == 1);

    // Worker 1 knows the phone only by its address and port (a Contact, a Via).
    transport::Peer to{transport::Protocol::Tcp, loopback, phone.local_endpoint().port(), 0, {}};
    auto ec = w.send_from_1(to, options_request("bye1"));
    REQUIRE(ec);
    CHECK_FALSE(*ec);
    w.run(50ms);
    asio::streambuf in;
    phone.non_blocking(false);
    asio::read_until(phone, in, "\r\n\r\n");
    std::string got(asio::buffers_begin(in.data()), asio::buffers_end(in.data()));
    CHECK(got.find("Call-ID: bye1@example.test") != std::string::npos);
    CHECK(w.t1.connections() == 1);  // no second connection was opened
}

TEST_CASE("tcp: after the peer closed its connection, its port is reported gone, not connected to") {
    TwoWorkers w;
    asio::io_context client_io;
    std::uint16_t phone_port = 0;
    {
        asio::ip::tcp::socket phone(client_io);
        phone.open(asio::ip::tcp::v4());
        // (so that its port can be listened on while this side is in TIME_WAIT)
        phone.set_option(asio::socket_base::reuse_address(true));
        phone.connect(asio::ip::tcp::endpoint(loopback, w.port0));
        phone_port = phone.local_endpoint().port();
        asio::write(phone, asio::buffer(options_request("reg2")));
        REQUIRE(w.run_until([&] { return w.received0 == 1; }));
    }  // the phone goes away
    REQUIRE(w.run_until([&] { return w.t0.connections() == 0; }));

    // Something listens on that port now: the proxy must still not connect to it.
    asio::ip::tcp::acceptor stranger(client_io);
    stranger.open(asio::ip::tcp::v4());
    stranger.set_option(asio::socket_base::reuse_address(true));
    stranger.bind(asio::ip::tcp::endpoint(loopback, phone_port));
    stranger.listen();
    stranger.non_blocking(true);

    transport::Peer to{transport::Protocol::Tcp, loopback, phone_port, 0, {}};
    auto ec = w.send_from_1(to, options_request("bye2"));
    REQUIRE(ec);
    CHECK(*ec == transport::flow_gone_error());
    w.run(100ms);
    asio::error_code aec;
    asio::ip::tcp::socket accepted(client_io);
    stranger.accept(accepted, aec);
    CHECK(aec == asio::error::would_block);  // nobody connected
    CHECK(w.t1.connections() == 0);
}
