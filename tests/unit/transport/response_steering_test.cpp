// The kernel, with the steering program attached, hands a response to the socket of the
// worker its branch names, whatever port it comes from; anything else is hashed as before.
#include "transport/response_steering.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

using namespace sipproxy::transport;

namespace {

struct Socket {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    ~Socket() { ::close(fd); }
};

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return a;
}

// A SO_REUSEPORT group of `n` sockets on one loopback port, joined in order.
struct Group {
    std::vector<std::unique_ptr<Socket>> sockets;
    std::uint16_t port = 0;
    explicit Group(int n) {
        for (int i = 0; i < n; ++i) {
            auto s = std::make_unique<Socket>();
            int one = 1;
            REQUIRE(::setsockopt(s->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0);
            auto a = loopback(port);
            REQUIRE(::bind(s->fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
            socklen_t len = sizeof a;
            ::getsockname(s->fd, reinterpret_cast<sockaddr*>(&a), &len);
            port = ntohs(a.sin_port);
            sockets.push_back(std::move(s));
        }
    }
    // Which socket the datagram reached (-1: none within a second).
    int receiver() {
        std::vector<pollfd> fds;
        for (auto& s : sockets) fds.push_back({s->fd, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), 1000) <= 0) return -1;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].revents & POLLIN) {
                char buf[2048];
                ::recv(sockets[i]->fd, buf, sizeof buf, MSG_DONTWAIT);
                return static_cast<int>(i);
            }
        }
        return -1;
    }
};

void send_from(const Socket& from, std::uint16_t port, const std::string& bytes) {
    auto a = loopback(port);
    ::sendto(from.fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
}

std::string response(const std::string& branch) {
    return "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=" + branch +
           "\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-sp00abcdef01.7\r\n"
           "Call-ID: a@b\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
}

}  // namespace

TEST_CASE("the steering program fits classic BPF") {
    auto p = response_steering_program(64);
    CHECK(p.size() <= BPF_MAXINSNS);
}

TEST_CASE("responses reach the socket of the worker their top Via branch names") {
    Group group(3);
    REQUIRE_FALSE(steer_responses(group.sockets.front()->fd, static_cast<unsigned>(group.sockets.size())));
    // From many source ports (which the kernel's hash would spread over the group).
    for (int round = 0; round < 8; ++round) {
        Socket client;
        for (int worker : {0, 1, 2, 1, 0, 2}) {
            char branch[64];
            std::snprintf(branch, sizeof branch, "z9hG4bK-sp%02x1a2b3c4d.%x.tok", worker, round);
            send_from(client, group.port, response(branch));
            CHECK(group.receiver() == worker);
        }
        // The branch at the very end of the datagram still counts.
        send_from(client, group.port, "x z9hG4bK-sp02");
        CHECK(group.receiver() == 2);
    }
}

TEST_CASE("requests from one source are spread by their branch; a retransmission follows") {
    Group group(2);
    REQUIRE_FALSE(steer_responses(group.sockets.front()->fd, 2));
    Socket client;  // one address and port: the kernel's hash alone picks one socket
    int seen[2] = {0, 0};
    for (int i = 0; i < 64; ++i) {
        const std::string invite = "INVITE sip:b@example.test SIP/2.0\r\nVia: SIP/2.0/UDP "
                                   "192.0.2.9:5060;branch=z9hG4bK" + std::to_string(i * 7919) +
                                   "abcdefgh\r\nCall-ID: " + std::to_string(i) + "\r\n\r\n";
        send_from(client, group.port, invite);
        const int first = group.receiver();
        REQUIRE(first >= 0);
        ++seen[first];
        send_from(client, group.port, invite);  // a retransmission
        CHECK(group.receiver() == first);
        auto cancel = invite;
        cancel.replace(0, 6, "CANCEL");  // same branch (RFC 3261 9.1)
        send_from(client, group.port, cancel);
        CHECK(group.receiver() == first);
    }
    CHECK(seen[0] > 8);
    CHECK(seen[1] > 8);
}

// SIPp numbers its branches z9hG4bK-<pid>-<call>-<message>: only the call number varies,
// after the first 8 bytes past the cookie. Spread by those 8 bytes, calls 1000-1999 all
// went to one worker (bench/README.md, transit time); the whole token spreads them.
TEST_CASE("requests whose branches differ only in a counter near the end are spread too") {
    Group group(2);
    REQUIRE_FALSE(steer_responses(group.sockets.front()->fd, 2));
    Socket client;
    int seen[2] = {0, 0};
    for (int call = 1000; call < 1040; ++call) {
        const std::string branch = "z9hG4bK-16063-" + std::to_string(call) + "-0";
        const std::string invite = "INVITE sip:b@example.test SIP/2.0\r\nVia: SIP/2.0/UDP "
                                   "127.0.0.1:5061;branch=" + branch +
                                   "\r\nMax-Forwards: 70\r\nCall-ID: " + std::to_string(call) +
                                   "-16063@127.0.0.1\r\n\r\n";
        send_from(client, group.port, invite);
        const int first = group.receiver();
        REQUIRE(first >= 0);
        ++seen[first];
        // the ACK of a failure: same branch, other headers after the Via (RFC 3261 17.1.1.3)
        send_from(client, group.port, "ACK sip:b@example.test SIP/2.0\r\nVia: SIP/2.0/UDP "
                                      "127.0.0.1:5061;branch=" + branch + ";rport\r\nTo: <sip:b@example.test>;tag=x\r\n\r\n");
        CHECK(group.receiver() == first);
    }
    CHECK(seen[0] >= 10);
    CHECK(seen[1] >= 10);
}

TEST_CASE("anything else is delivered as before") {
    Group group(2);
    REQUIRE_FALSE(steer_responses(group.sockets.front()->fd, static_cast<unsigned>(group.sockets.size())));
    Socket client;
    const std::vector<std::string> others = {
        "INVITE sip:b@example.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKabc\r\n\r\n",
        response("z9hG4bK-sp05aaaaaaaa.1"),  // a worker past the group
        "OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n",  // short branch
        response("z9hG4bK-spzzaaaaaaaa.1"),  // not a hex worker
        "\r\n\r\n",                          // a keep-alive
        "z9hG4bK-sp0",                       // cut short
        std::string(600, 'x') + "z9hG4bK-sp01",  // past the bytes searched
        "",
    };
    for (const auto& d : others) {
        send_from(client, group.port, d);
        CHECK(group.receiver() >= 0);
    }
}

TEST_CASE("gathered on one worker, requests all reach worker 0; responses still their own") {
    Group group(3);
    REQUIRE_FALSE(steer_responses(group.sockets.front()->fd, 3, 1));
    Socket client;
    for (int i = 0; i < 32; ++i) {
        send_from(client, group.port,
                  "REGISTER sip:example.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch="
                  "z9hG4bK" + std::to_string(i * 7919) + "abcdefgh\r\nCall-ID: x\r\n\r\n");
        CHECK(group.receiver() == 0);
    }
    send_from(client, group.port, response("z9hG4bK-sp02deadbeef.1"));
    CHECK(group.receiver() == 2);
    // Spread again (re-attached): both of the others get requests again.
    REQUIRE_FALSE(steer_responses(group.sockets.front()->fd, 3));
    int seen[3] = {0, 0, 0};
    for (int i = 0; i < 48; ++i) {
        send_from(client, group.port,
                  "REGISTER sip:example.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch="
                  "z9hG4bK" + std::to_string(i * 7919) + "abcdefgh\r\nCall-ID: x\r\n\r\n");
        const int r = group.receiver();
        REQUIRE(r >= 0);
        ++seen[r];
    }
    CHECK(seen[1] > 4);
    CHECK(seen[2] > 4);
}

TEST_CASE("request spreading: out at once when a worker is busy, back after quiet intervals") {
    RequestSpreading s(2, {0.5, 0.3, 3});
    CHECK(s.current() == 2);  // as attached at start
    CHECK(s.next({0.05, 0.04}) == 2);
    CHECK(s.next({0.05, 0.04}) == 2);
    CHECK(s.next({0.05, 0.04}) == 1);  // third quiet interval
    CHECK(s.next({0.45, 0.0}) == 1);   // one worker keeps up
    CHECK(s.next({0.55, 0.0}) == 2);   // busy: spread at once
    CHECK(s.next({0.20, 0.15}) == 2);  // 0.35 together: not quiet
    CHECK(s.next({0.10, 0.10}) == 2);
    CHECK(s.next({0.10, 0.10}) == 2);
    CHECK(s.next({0.20, 0.15}) == 2);  // the quiet run is broken
    CHECK(s.next({0.10, 0.10}) == 2);
    CHECK(s.next({0.10, 0.10}) == 2);
    CHECK(s.next({0.10, 0.10}) == 1);
}
