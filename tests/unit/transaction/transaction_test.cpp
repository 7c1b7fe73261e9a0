// Transactions over real loopback UDP sockets: the RFC 3261 17 timers, measured by
// counting what a silent or scripted peer receives.
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "transaction/branch.hpp"
#include "transaction/in_transaction_requests.hpp"
#include "transaction/transaction_layer.hpp"

using namespace sipproxy;
using namespace std::chrono_literals;

namespace {

std::uint16_t free_udp_port() {
    asio::io_context io;
    asio::ip::udp::socket s(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return s.local_endpoint().port();
}

struct Failure : transaction::ResponseSink {
    std::vector<int> statuses;
    void on_response(std::size_t, sip::Message m) override { statuses.push_back(m.status()); }
    void on_failure(std::size_t, int status, std::string_view) override { statuses.push_back(status); }
};

// A transaction user that answers every request at once with `status` (0: never; the
// test answers through `seen`).
struct Answer : transaction::TransactionUser {
    int status = 0;
    std::string reason;
    bool vouch = false;  // as for an authenticated request
    std::vector<std::shared_ptr<transaction::ServerTransaction>> seen;
    explicit Answer(int s = 0, std::string r = {}) : status(s), reason(std::move(r)) {}
    void on_request(const std::shared_ptr<transaction::ServerTransaction>& st) override {
        seen.push_back(st);
        if (vouch) st->vouch();
        if (status) st->respond(status, reason);
    }
    void on_ack(sip::Message, const transport::Peer&, const transport::Local&) override {}
    void on_stray_response(sip::Message, const transport::Peer&) override {}
};

// One proxy-side transport + layer on a free port, and a plain UDP socket as the peer.
struct Fixture {
    asio::io_context io;
    std::uint16_t port = free_udp_port();
    transport::Transport transport;
    transaction::TransactionLayer layer;
    asio::ip::udp::socket peer{io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};

    static std::vector<transport::Local> locals(std::uint16_t port) {
        return {transport::Local::at(transport::Protocol::Udp, asio::ip::make_address("127.0.0.1"),
                                     port)};
    }
    explicit Fixture(transaction::Timers t, std::size_t max_transactions = 1000, unsigned worker = 0,
                     std::shared_ptr<transaction::FairShares> shares = nullptr)
        : transport(io, worker, locals(port), {}),
          layer(io, transport, worker, {t, max_transactions, nullptr, std::move(shares)}) {
        transport.on_receive([this](const transport::Inbound& in) {
            auto m = sip::parse(in.take(), in.stream);
            if (m) layer.receive(std::move(m.value()), in.from, in.local);
        });
        transport.start();
        peer.non_blocking(true);
    }
    transport::Peer peer_address() {
        return {transport::Protocol::Udp, asio::ip::make_address("127.0.0.1"),
                peer.local_endpoint().port(), 0, {}};
    }
    // Everything the peer received so far.
    std::vector<std::string> drain() {
        std::vector<std::string> out;
        char buf[4096];
        asio::ip::udp::endpoint from;
        asio::error_code ec;
        for (;;) {
            auto n = peer.receive_from(asio::buffer(buf), from, 0, ec);
            if (ec) break;
            out.emplace_back(buf, n);
        }
        return out;
    }
    void send_to_proxy(const std::string& m) {
        peer.send_to(asio::buffer(m),
                     asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    }
    void run_for(std::chrono::milliseconds d) {
        io.restart();
        io.run_for(d);
    }
    // Runs the loop until `done` holds, for at most `limit` (generous: CI is a busy
    // 2-core machine); false when it never did. Tests assert order and outcome, never
    // how much happened in a few milliseconds.
    template <class Pred>
    bool run_until(Pred done, std::chrono::milliseconds limit = 10000ms) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() >= end) return false;
            run_for(5ms);
        }
        return true;
    }
    // Runs until the peer has received `n` more messages (or the limit); returns them.
    std::vector<std::string> receive(std::size_t n, std::chrono::milliseconds limit = 10000ms) {
        std::vector<std::string> got;
        run_until([&] {
            for (auto& m : drain()) got.push_back(std::move(m));
            return got.size() >= n;
        }, limit);
        return got;
    }
};

std::string request(const std::string& method, const std::string& branch, std::uint16_t via_port) {
    return method + " sip:bob@127.0.0.1 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(via_port) + ";branch=" + branch + "\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:alice@example.test>;tag=a1\r\n"
           "To: <sip:bob@example.test>\r\nCall-ID: tx-test@example.test\r\n"
           "CSeq: 1 " + method + "\r\nContent-Length: 0\r\n\r\n";
}

}  // namespace

TEST_CASE("INVITE client transaction retransmits on timer A and times out with timer B") {
    transaction::Timers t{20ms, 4000ms, 5000ms};
    Fixture f(t);
    auto sink = std::make_shared<Failure>();
    const auto branch = f.layer.new_branch(0);
    f.layer.start_client(f.peer_address(), request("INVITE", branch, f.port), sip::Method::Invite,
                         branch, sink, 0);
    std::size_t sent = 0;
    REQUIRE(f.run_until([&] {
        sent += f.drain().size();
        return !sink->statuses.empty();
    }));
    sent += f.drain().size();
    // Sent at 0, then timer A at 20, 60, 140, 300, 620, 1260 ms; timer B at 1280 ms ends
    // it. A late timer A (a busy machine) can only mean fewer retransmissions, not more.
    CHECK(sent >= 2);
    CHECK(sent <= 7);
    REQUIRE(sink->statuses.size() == 1);
    CHECK(sink->statuses[0] == 408);
    CHECK(f.layer.client_count() == 0);
}

TEST_CASE("non-INVITE client transaction caps retransmissions at T2 and times out with timer F") {
    transaction::Timers t{20ms, 40ms, 5000ms};
    Fixture f(t);
    auto sink = std::make_shared<Failure>();
    const auto branch = f.layer.new_branch(0);
    f.layer.start_client(f.peer_address(), request("OPTIONS", branch, f.port), sip::Method::Options,
                         branch, sink, 0);
    std::vector<std::string> at;
    REQUIRE(f.run_until([&] {
        for (auto& m : f.drain()) at.push_back(std::move(m));
        return !sink->statuses.empty();
    }));
    for (auto& m : f.drain()) at.push_back(std::move(m));
    // 0, 20, 60, then every 40 ms (T2) until timer F at 1280 ms: at most 33 sends. The
    // interval stops doubling at T2 (with doubling there would be 7 at most); a busy
    // machine delays timers, so fewer is possible, but not that few.
    CHECK(at.size() >= 12);
    CHECK(at.size() <= 33);
    REQUIRE(sink->statuses == std::vector<int>{408});
}

TEST_CASE("INVITE server transaction: final retransmitted until the ACK") {
    transaction::Timers t{20ms, 4000ms, 100ms};
    Fixture f(t);
    Answer tu(486, "Busy Here");
    tu.vouch = true;  // authenticated: RFC 3261 17.2.1 as written
    f.layer.set_user(&tu);
    const std::uint16_t peer_port = f.peer.local_endpoint().port();
    f.send_to_proxy(request("INVITE", "z9hG4bKclient1", peer_port));
    auto got = f.receive(3);
    REQUIRE(got.size() >= 3);
    // Answered at once: no 100 Trying before the final (it would stop nothing).
    CHECK(got[0].rfind("SIP/2.0 486 Busy Here", 0) == 0);
    // Timer G: 486 again at 20, 60, 140 ms.
    for (std::size_t i = 1; i < got.size(); ++i) CHECK(got[i].rfind("SIP/2.0 486", 0) == 0);
    CHECK(tu.seen.size() == 1);

    // A retransmitted INVITE is absorbed: the same 486, no new transaction.
    f.send_to_proxy(request("INVITE", "z9hG4bKclient1", peer_port));
    auto again = f.receive(1);
    REQUIRE(!again.empty());
    CHECK(again[0].rfind("SIP/2.0 486", 0) == 0);
    CHECK(tu.seen.size() == 1);

    // ACK: retransmissions stop; after timer I the transaction is gone, and nothing
    // is sent after that.
    auto ack = request("ACK", "z9hG4bKclient1", peer_port);
    f.send_to_proxy(ack);
    REQUIRE(f.run_until([&] { return f.layer.server_count() == 0; }));
    f.drain();
    f.run_for(200ms);
    CHECK(f.drain().empty());
}

TEST_CASE("CANCEL for an unknown transaction gets 481") {
    transaction::Timers t{20ms, 4000ms, 100ms};
    Fixture f(t);
    Answer tu(486, "Busy Here");
    f.layer.set_user(&tu);
    f.send_to_proxy(request("CANCEL", "z9hG4bKnone", f.peer.local_endpoint().port()));
    auto got = f.receive(1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].rfind("SIP/2.0 481 Call/Transaction Does Not Exist", 0) == 0);
    CHECK(tu.seen.empty());
}

TEST_CASE("branches carry the worker index and the loop hash") {
    auto b = transaction::make_branch(3, 0xdeadbeef, 42);
    CHECK(b.rfind("z9hG4bK", 0) == 0);
    CHECK(transaction::branch_worker(b) == 3u);
    CHECK(transaction::branch_loop_hash(b) == 0xdeadbeefu);
    CHECK(!transaction::branch_worker("z9hG4bK776asdhds"));
}

TEST_CASE("branches are spelt z9hG4bK-sp WW LLLLLLLL . counter (hex, as printf %02x%08x.%llx)") {
    CHECK(transaction::make_branch(3, 0xdeadbeef, 42) == "z9hG4bK-sp03deadbeef.2a");
    CHECK(transaction::make_branch(0x1ab, 0, 0) == "z9hG4bK-spab00000000.0");
    CHECK(transaction::make_branch(255, 0x00000001, 0xffffffff00000001ull) ==
          "z9hG4bK-spff00000001.ffffffff00000001");
    CHECK(transaction::make_branch(16, 0x10, 0x100000000ull) == "z9hG4bK-sp1000000010.100000000");
}

TEST_CASE("ACK for a non-2xx and CANCEL are built from the sent request (17.1.1.3, 9.1)") {
    std::string sent =
        "INVITE sip:bob@192.0.2.4 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-sp00abc.1\r\n"
        "Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKupstream\r\n"
        "Route: <sip:edge.example.test;lr>\r\n"
        "Max-Forwards: 69\r\nFrom: <sip:alice@example.test>;tag=a1\r\n"
        "To: <sip:bob@example.test>\r\nCall-ID: c1\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n";
    auto cancel = transaction::make_cancel(sent);
    REQUIRE(cancel);
    CHECK(cancel->rfind("CANCEL sip:bob@192.0.2.4 SIP/2.0\r\n", 0) == 0);
    CHECK(cancel->find("Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-sp00abc.1\r\n") != std::string::npos);
    CHECK(cancel->find("upstream") == std::string::npos);  // only the top Via
    CHECK(cancel->find("Route: <sip:edge.example.test;lr>\r\n") != std::string::npos);
    CHECK(cancel->find("CSeq: 7 CANCEL\r\n") != std::string::npos);

    auto resp = sip::parse(
        "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-sp00abc.1\r\n"
        "From: <sip:alice@example.test>;tag=a1\r\nTo: <sip:bob@example.test>;tag=b9\r\n"
        "Call-ID: c1\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(resp);
    auto ack = transaction::make_ack_for_non2xx(sent, *resp);
    REQUIRE(ack);
    CHECK(ack->find("To: <sip:bob@example.test>;tag=b9\r\n") != std::string::npos);
    CHECK(ack->find("CSeq: 7 ACK\r\n") != std::string::npos);
}

TEST_CASE("max_transactions counts only transactions still waiting for a final response") {
    Fixture f(transaction::Timers{20ms, 4000ms, 100ms}, 1);
    Answer tu;
    f.layer.set_user(&tu);
    const std::uint16_t peer_port = f.peer.local_endpoint().port();

    f.send_to_proxy(request("OPTIONS", "z9hG4bKcap1", peer_port));
    REQUIRE(f.run_until([&] { return tu.seen.size() == 1; }));
    CHECK(f.layer.pending() == 1);
    f.send_to_proxy(request("OPTIONS", "z9hG4bKcap2", peer_port));
    auto got = f.receive(1);
    CHECK(tu.seen.size() == 1);  // refused
    REQUIRE(got.size() == 1);
    CHECK(got[0].rfind("SIP/2.0 503 Service Unavailable", 0) == 0);
    CHECK(got[0].find("Retry-After: 5\r\n") != std::string::npos);

    // Answered: the first transaction lingers (timer J) but no longer counts.
    tu.seen[0]->respond(200, "OK");
    REQUIRE(f.receive(1).size() == 1);
    CHECK(f.layer.pending() == 0);
    CHECK(f.layer.server_count() == 1);
    f.send_to_proxy(request("OPTIONS", "z9hG4bKcap3", peer_port));
    CHECK(f.run_until([&] { return tu.seen.size() == 2; }));
}

TEST_CASE("a finished non-INVITE server transaction repeats its final response until timer J") {
    // T1 = 10 ms: timer J = 640 ms.
    Fixture f(transaction::Timers{10ms, 4000ms, 100ms});
    Answer tu(200, "OK");
    f.layer.set_user(&tu);
    const std::uint16_t peer_port = f.peer.local_endpoint().port();
    const auto started = std::chrono::steady_clock::now();
    f.send_to_proxy(request("OPTIONS", "z9hG4bKlinger1", peer_port));
    auto first = f.receive(1);
    REQUIRE(first.size() == 1);
    CHECK(f.layer.server_count() == 1);
    // (On a stalled machine timer J may already be over: only then is it gone.)
    CHECK((f.layer.lingering() == 1 || std::chrono::steady_clock::now() - started > 600ms));

    // Retransmission while it lingers: the very same bytes, no new request for the TU.
    f.send_to_proxy(request("OPTIONS", "z9hG4bKlinger1", peer_port));
    auto again = f.receive(1);
    REQUIRE(again.size() == 1);
    CHECK(again[0] == first[0]);
    if (std::chrono::steady_clock::now() - started < 600ms) CHECK(tu.seen.size() == 1);

    // After timer J the slot is gone and the same request is a new transaction.
    REQUIRE(f.run_until([&] { return f.layer.server_count() == 0; }));
    CHECK(f.layer.lingering() == 0);
    CHECK(std::chrono::steady_clock::now() - started >= 640ms);
    const auto seen = tu.seen.size();
    f.send_to_proxy(request("OPTIONS", "z9hG4bKlinger1", peer_port));
    CHECK(f.run_until([&] { return tu.seen.size() == seen + 1; }));
}

TEST_CASE("timer D is at least 32 s over UDP whatever T1 is (RFC 3261 17.1.1.2)") {
    CHECK(transaction::Timers{10ms, 4000ms, 100ms}.d() >= 32000ms);
    CHECK(transaction::Timers{500ms, 4000ms, 5000ms}.d() >= 32000ms);
    CHECK(transaction::Timers{1000ms, 4000ms, 5000ms}.d() >= 64000ms);  // the UAS's 64*T1
}

TEST_CASE("a finished INVITE client transaction re-sends its ACK for a retransmitted non-2xx") {
    // T1 = 10 ms, yet timer D stays 32 s: a UAS with the default T1 retransmits its final
    // for 32 s, and each retransmission must still find the transaction.
    Fixture f(transaction::Timers{10ms, 4000ms, 100ms});
    auto sink = std::make_shared<Failure>();
    const auto branch = f.layer.new_branch(0);
    f.layer.start_client(f.peer_address(), request("INVITE", branch, f.port), sip::Method::Invite,
                         branch, sink, 0);
    REQUIRE(f.receive(1).size() == 1);
    const std::string busy =
        "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 127.0.0.1:" + std::to_string(f.port) +
        ";branch=" + branch +
        "\r\nFrom: <sip:alice@example.test>;tag=a1\r\nTo: <sip:bob@example.test>;tag=b1\r\n"
        "Call-ID: tx-test@example.test\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    f.send_to_proxy(busy);
    auto acks = f.receive(1);
    REQUIRE(acks.size() == 1);
    CHECK(acks[0].rfind("ACK sip:bob@127.0.0.1 SIP/2.0\r\n", 0) == 0);
    CHECK(sink->statuses == std::vector<int>{486});
    CHECK(f.layer.lingering() == 1);

    // The 486 again (the ACK was lost): the same ACK again, the TU hears nothing new.
    f.send_to_proxy(busy);
    auto again = f.receive(1);
    REQUIRE(again.size() == 1);
    CHECK(again[0] == acks[0]);
    CHECK(sink->statuses.size() == 1);

    // Well past 64*T1 (640 ms) the transaction still absorbs and ACKs.
    f.run_for(1000ms);
    CHECK(f.layer.lingering() == 1);
    f.drain();
    f.send_to_proxy(busy);
    auto late = f.receive(1);
    REQUIRE(late.size() == 1);
    CHECK(late[0] == acks[0]);
    CHECK(sink->statuses.size() == 1);
}

TEST_CASE("CANCEL after the INVITE's final response gets 200 with the INVITE's To-tag") {
    Fixture f(transaction::Timers{10ms, 4000ms, 100ms});
    Answer tu(486, "Busy Here");
    f.layer.set_user(&tu);
    const std::uint16_t peer_port = f.peer.local_endpoint().port();
    f.send_to_proxy(request("INVITE", "z9hG4bKcancel1", peer_port));
    REQUIRE(f.run_until([&] { return tu.seen.size() == 1; }));
    const std::string tag(tu.seen[0]->to_tag());
    REQUIRE(!tag.empty());
    f.drain();
    f.send_to_proxy(request("CANCEL", "z9hG4bKcancel1", peer_port));
    std::string ok;
    f.run_until([&] {
        for (auto& m : f.drain())
            if (m.rfind("SIP/2.0 200 OK", 0) == 0) ok = m;
        return !ok.empty();
    });
    REQUIRE(!ok.empty());
    CHECK(ok.find("CSeq: 1 CANCEL\r\n") != std::string::npos);
    CHECK(ok.find(";tag=" + tag) != std::string::npos);
    // A retransmitted CANCEL gets the same 200.
    f.send_to_proxy(request("CANCEL", "z9hG4bKcancel1", peer_port));
    bool repeated = false;
    f.run_until([&] {
        for (auto& m : f.drain()) repeated = repeated || m == ok;
        return repeated;
    });
    CHECK(repeated);
}

TEST_CASE("a CANCEL that reaches another worker finds its INVITE there") {
    // Two workers, each with its own socket and io_context, as in sipproxyd. The INVITE
    // reaches worker 0; the CANCEL (sent from another port by some UAs) reaches worker 1.
    const transaction::Timers t{10ms, 4000ms, 100ms};
    Fixture w0(t, 1000, 0), w1(t, 1000, 1);
    w0.layer.set_siblings({&w0.layer, &w1.layer});
    w1.layer.set_siblings({&w0.layer, &w1.layer});
    Answer tu0, tu1;
    w0.layer.set_user(&tu0);
    w1.layer.set_user(&tu1);
    const std::uint16_t peer_port = w0.peer.local_endpoint().port();
    // Both loops take turns until `done` (10 s at most).
    auto run_both_until = [&](auto done) {
        const auto end = std::chrono::steady_clock::now() + 10000ms;
        while (!done() && std::chrono::steady_clock::now() < end) {
            w1.run_for(5ms);
            w0.run_for(5ms);
        }
        return done();
    };
    w0.send_to_proxy(request("INVITE", "z9hG4bKcross1", peer_port));
    REQUIRE(w0.run_until([&] { return tu0.seen.size() == 1; }));
    bool cancelled = false;
    tu0.seen[0]->on_cancel = [&] { cancelled = true; };
    w0.receive(1);  // 100 Trying

    w0.peer.send_to(asio::buffer(request("CANCEL", "z9hG4bKcross1", peer_port)),
                    asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), w1.port));
    // Worker 1 has no INVITE here and asks worker 0.
    std::vector<std::string> got;
    CHECK(run_both_until([&] {
        for (auto& m : w0.drain()) got.push_back(m);
        return cancelled && !got.empty();
    }));
    REQUIRE(got.size() == 1);
    CHECK(got[0].rfind("SIP/2.0 200 OK", 0) == 0);
    CHECK(tu1.seen.empty());

    // A CANCEL that no worker knows: 481 (from the last worker asked).
    w0.peer.send_to(asio::buffer(request("CANCEL", "z9hG4bKnobody", peer_port)),
                    asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), w1.port));
    got.clear();
    CHECK(run_both_until([&] {
        for (auto& m : w0.drain()) got.push_back(m);
        return !got.empty();
    }));
    REQUIRE(got.size() == 1);
    CHECK(got[0].rfind("SIP/2.0 481", 0) == 0);
}

TEST_CASE("an INVITE the proxy does not answer at once gets 100 Trying at once") {
    Fixture f(transaction::Timers{20ms, 4000ms, 100ms});
    Answer tu;
    f.layer.set_user(&tu);
    f.send_to_proxy(request("INVITE", "z9hG4bKtrying1", f.peer.local_endpoint().port()));
    auto got = f.receive(1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].rfind("SIP/2.0 100 Trying", 0) == 0);
    CHECK(got[0].find("To: <sip:bob@example.test>\r\n") != std::string::npos);  // no To-tag
}

TEST_CASE("a challenged non-INVITE keeps no slot: a retransmission is challenged again") {
    Fixture f(transaction::Timers{10ms, 4000ms, 100ms});
    Answer tu(401, "Unauthorized");
    f.layer.set_user(&tu);
    const std::uint16_t peer_port = f.peer.local_endpoint().port();
    f.send_to_proxy(request("REGISTER", "z9hG4bKchal1", peer_port));
    auto got = f.receive(1);
    CHECK(tu.seen.size() == 1);
    CHECK(f.layer.server_count() == 0);
    CHECK(f.layer.lingering() == 0);
    f.send_to_proxy(request("REGISTER", "z9hG4bKchal1", peer_port));
    for (auto& m : f.receive(1)) got.push_back(m);
    CHECK(tu.seen.size() == 2);
    REQUIRE(got.size() == 2);
    for (auto& m : got) CHECK(m.rfind("SIP/2.0 401 Unauthorized", 0) == 0);
}

namespace {
std::size_t count_starting(const std::vector<std::string>& got, const std::string& start) {
    std::size_t n = 0;
    for (const auto& m : got) n += m.rfind(start, 0) == 0;
    return n;
}
}  // namespace

TEST_CASE("a non-2xx to an INVITE nobody vouched for is not retransmitted: no reflection") {
    // T1 = 20 ms: an authenticated caller would get the 404 again at 20, 60, 140, 300 ms...
    Fixture f(transaction::Timers{20ms, 4000ms, 100ms});
    Answer tu(404, "Not Found");
    f.layer.set_user(&tu);
    const std::uint16_t peer_port = f.peer.local_endpoint().port();
    f.send_to_proxy(request("INVITE", "z9hG4bKrefl1", peer_port));
    REQUIRE(f.receive(1).size() == 1);
    f.run_for(400ms);
    CHECK(f.drain().empty());
    // What is left of timer H is a slot: a retransmitted INVITE gets the 404 once more
    // (one datagram for one), the TU sees nothing new, the ACK is absorbed.
    CHECK(f.layer.lingering() == 1);
    f.send_to_proxy(request("INVITE", "z9hG4bKrefl1", peer_port));
    auto again = f.receive(1);
    REQUIRE(again.size() == 1);
    CHECK(again[0].rfind("SIP/2.0 404 Not Found", 0) == 0);
    CHECK(tu.seen.size() == 1);
    f.send_to_proxy(request("ACK", "z9hG4bKrefl1", peer_port));
    f.run_for(50ms);
    CHECK(f.drain().empty());
    // Timer H (64*T1 = 1.28 s) ends it.
    CHECK(f.run_until([&] { return f.layer.server_count() == 0; }));
    CHECK(f.layer.lingering_all() == 0);

    // An exempt source (security.allow, auth.trusted) gets RFC 3261 17.2.1 as written.
    f.layer.set_exempt([](const asio::ip::address&) { return true; });
    f.send_to_proxy(request("INVITE", "z9hG4bKrefl2", peer_port));
    CHECK(count_starting(f.receive(3), "SIP/2.0 404") == 3);
}

TEST_CASE("after 100 Trying, a final to an INVITE nobody vouched for is retransmitted once") {
    // In Proceeding the caller no longer retransmits its INVITE (RFC 3261 17.1.1.2):
    // one retransmission covers one lost final, without reflecting a flood.
    Fixture f(transaction::Timers{20ms, 4000ms, 100ms});
    Answer tu;  // answers later
    f.layer.set_user(&tu);
    const std::uint16_t peer_port = f.peer.local_endpoint().port();
    f.send_to_proxy(request("INVITE", "z9hG4bKrefl3", peer_port));
    REQUIRE(count_starting(f.receive(1), "SIP/2.0 100 Trying") == 1);
    tu.seen.at(0)->respond(480, "Temporarily Unavailable");
    std::vector<std::string> got;
    f.run_until([&] {
        for (auto& m : f.drain()) got.push_back(m);
        return false;
    }, 500ms);
    CHECK(count_starting(got, "SIP/2.0 480") == 2);
    CHECK(got.size() == 2);
}

TEST_CASE("a source holding max_per_source pending transactions gets 503, others do not") {
    auto shares = std::make_shared<transaction::FairShares>();
    shares->max_per_source = 2;
    Fixture f(transaction::Timers{20ms, 4000ms, 100ms}, 1000, 0, shares);
    Answer tu;  // never answers by itself
    f.layer.set_user(&tu);
    const std::uint16_t peer_port = f.peer.local_endpoint().port();
    f.send_to_proxy(request("OPTIONS", "z9hG4bKshare1", peer_port));
    f.send_to_proxy(request("OPTIONS", "z9hG4bKshare2", peer_port));
    REQUIRE(f.run_until([&] { return tu.seen.size() == 2; }));
    f.send_to_proxy(request("OPTIONS", "z9hG4bKshare3", peer_port));
    auto got = f.receive(1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].rfind("SIP/2.0 503 Service Unavailable: too many pending requests from this source", 0) == 0);
    CHECK(got[0].find("Retry-After: 5\r\n") != std::string::npos);
    CHECK(tu.seen.size() == 2);
    CHECK(shares->refused_source == 1);
    CHECK(f.layer.pending() == 2);  // the refused one left nothing behind

    // One answered: the source has room again.
    tu.seen[0]->respond(200, "OK");
    f.send_to_proxy(request("OPTIONS", "z9hG4bKshare4", peer_port));
    REQUIRE(f.run_until([&] { return tu.seen.size() == 3; }));

    // Another source has its own share (the count is per address).
    CHECK(shares->sources.count(AddressKey::from_v4(0x7f000001)) == 2);
    CHECK(shares->sources.count(AddressKey::from_v4(0x7f000002)) == 0);

    // An exempt source is counted, never refused.
    f.layer.set_exempt([](const asio::ip::address&) { return true; });
    f.send_to_proxy(request("OPTIONS", "z9hG4bKshare5", peer_port));
    REQUIRE(f.run_until([&] { return tu.seen.size() == 4; }));
    for (auto& st : tu.seen) st->respond(200, "OK");
    CHECK(shares->sources.count(AddressKey::from_v4(0x7f000001)) == 0);
}

TEST_CASE("a destination holding max_per_destination pending client transactions gets no more") {
    auto shares = std::make_shared<transaction::FairShares>();
    shares->max_per_destination = 1;
    Fixture f(transaction::Timers{20ms, 4000ms, 100ms}, 1000, 0, shares);
    auto first = std::make_shared<Failure>(), second = std::make_shared<Failure>();
    const auto b1 = f.layer.new_branch(0), b2 = f.layer.new_branch(0);
    f.layer.start_client(f.peer_address(), request("INVITE", b1, f.port), sip::Method::Invite, b1,
                         first, 0);
    f.layer.start_client(f.peer_address(), request("INVITE", b2, f.port), sip::Method::Invite, b2,
                         second, 0);
    REQUIRE(f.run_until([&] { return !second->statuses.empty(); }));
    CHECK(second->statuses == std::vector<int>{503});
    CHECK(first->statuses.empty());
    f.run_for(10ms);
    auto got = f.drain();
    REQUIRE(!got.empty());
    for (auto& m : got) CHECK(m.find(";branch=" + b1) != std::string::npos);  // b2 never sent
    CHECK(shares->refused_destination == 1);
    // The first one ends (timer B): room again.
    REQUIRE(f.run_until([&] { return !first->statuses.empty(); }));
    CHECK(shares->destinations.count(AddressKey::from_v4(0x7f000001)) == 0);
}

TEST_CASE("lingering transactions are bounded by max_transactions") {
    Fixture f(transaction::Timers{10ms, 4000ms, 100ms}, 2);
    Answer tu(200, "OK");
    f.layer.set_user(&tu);
    const std::uint16_t peer_port = f.peer.local_endpoint().port();
    for (int i = 0; i < 4; ++i)
        f.send_to_proxy(request("OPTIONS", "z9hG4bKlingerb" + std::to_string(i), peer_port));
    REQUIRE(f.run_until([&] { return tu.seen.size() == 4; }));
    // All four answered; only two may linger (timer J) at once: the others ended at once.
    CHECK(f.layer.lingering() <= 2);
    CHECK(f.layer.lingering_all() == f.layer.lingering());
    CHECK(f.layer.shares().linger_cut >= 2);
    REQUIRE(f.run_until([&] { return f.layer.server_count() == 0; }));
    CHECK(f.layer.lingering_all() == 0);
}
