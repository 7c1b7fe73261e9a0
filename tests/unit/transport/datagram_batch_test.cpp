#include "transport/datagram_batch.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

using sipproxy::transport::DatagramBatch;

namespace {

struct UdpSocket {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    UdpSocket() {
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        socklen_t len = sizeof addr;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    }
    ~UdpSocket() { ::close(fd); }
    void send_to(const UdpSocket& to, const std::string& bytes) const {
        ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to.addr),
                 sizeof to.addr);
    }
};

}  // namespace

TEST_CASE("a datagram batch reads what is waiting, never blocks, and names each source") {
    UdpSocket rx, a, b;
    DatagramBatch batch(16, 2);
    std::error_code ec;
    // Nothing waiting: no datagram, EAGAIN, at once.
    CHECK(batch.receive(rx.fd, ec) == 0);
    CHECK(ec == std::errc::resource_unavailable_try_again);

    a.send_to(rx, "one");
    b.send_to(rx, "two");
    a.send_to(rx, "a datagram longer than sixteen bytes");
    // A full batch (the caller reads again), then the rest, then nothing.
    REQUIRE(batch.receive(rx.fd, ec) == 2);
    CHECK(!ec);
    CHECK(batch.data(0) == "one");
    CHECK(batch.data(1) == "two");
    REQUIRE(batch.source_size(0) == sizeof(sockaddr_in));
    const auto* from_a = reinterpret_cast<const sockaddr_in*>(batch.source(0));
    const auto* from_b = reinterpret_cast<const sockaddr_in*>(batch.source(1));
    CHECK(from_a->sin_port == a.addr.sin_port);
    CHECK(from_b->sin_port == b.addr.sin_port);
    REQUIRE(batch.receive(rx.fd, ec) == 1);
    // Cut to the buffer: the transport's buffer is one byte over the limit, so an
    // oversized message is seen as such.
    CHECK(batch.data(0) == "a datagram longe");
    CHECK(batch.receive(rx.fd, ec) == 0);
}
