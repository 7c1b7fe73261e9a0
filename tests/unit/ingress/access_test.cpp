// CIDR maps (allow/deny lookups), the ban table (expiry, persistence) and the ingress
// order of checks, without sockets.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "ingress/ban_table.hpp"
#include "ingress/cidr_map.hpp"
#include "ingress/ingress.hpp"

using namespace sipproxy;
using namespace sipproxy::ingress;
using namespace std::chrono_literals;

namespace {
AddressKey ip(const char* text) {
    IpBytes b;
    IpFamily f;
    REQUIRE(parse_ip(text, b, f));
    return AddressKey::from_bytes(b, f);
}
Cidr cidr(const char* text) {
    auto c = Cidr::parse(text);
    REQUIRE(c);
    return *c;
}
}  // namespace

TEST_CASE("cidr map: most specific network wins, IPv4 and IPv6 in one map") {
    CidrMap<int> m;
    m.insert(cidr("10.0.0.0/8"), 8);
    m.insert(cidr("10.1.0.0/16"), 16);
    m.insert(cidr("10.1.2.3"), 32);
    m.insert(cidr("2001:db8::/32"), 6);
    CHECK(*m.find(ip("10.9.9.9")) == 8);
    CHECK(*m.find(ip("10.1.9.9")) == 16);
    CHECK(*m.find(ip("10.1.2.3")) == 32);
    CHECK(*m.find(ip("::ffff:10.1.2.3")) == 32);
    CHECK(*m.find(ip("2001:db8:ffff::1")) == 6);
    CHECK_FALSE(m.contains(ip("11.0.0.1")));
    CHECK_FALSE(m.contains(ip("2001:db9::1")));
    CHECK(m.size() == 4);
    CHECK(m.erase(network_key(cidr("10.1.0.0/16")), prefix_128(cidr("10.1.0.0/16"))));
    CHECK(*m.find(ip("10.1.9.9")) == 8);
    CHECK(m.size() == 3);

    CidrMap<int> all;
    all.insert(cidr("0.0.0.0/0"), 1);
    CHECK(all.contains(ip("203.0.113.9")));
    CHECK_FALSE(all.contains(ip("2001:db8::1")));  // IPv4's /0 is not all of IPv6
}

TEST_CASE("ban table: add once, expire, remove, index follows") {
    BanTable t;
    const auto now = WallClock::now();
    const auto v0 = t.version();
    CHECK(t.add({cidr("192.0.2.7"), "flood", "requests=1001 window=2s", 300s, true}, now));
    CHECK_FALSE(t.add({cidr("192.0.2.7"), "flood", "", 300s, true}, now));  // once
    CHECK(t.add({cidr("10.0.0.0/8"), "operator", "ticket", 0s, false}, now));
    CHECK(t.version() != v0);
    auto index = t.index();
    CHECK(index->contains(ip("192.0.2.7")));
    CHECK(index->contains(ip("10.200.0.1")));
    CHECK_FALSE(index->contains(ip("192.0.2.8")));

    CHECK(t.expire(now + 299s) == 0);
    CHECK(t.expire(now + 300s) == 1);
    CHECK_FALSE(t.index()->contains(ip("192.0.2.7")));
    CHECK(t.index()->contains(ip("10.200.0.1")));  // forever
    CHECK(t.remove(cidr("10.0.0.0/8")));
    CHECK_FALSE(t.remove(cidr("10.0.0.0/8")));
    CHECK(t.size() == 0);
}

TEST_CASE("ban table: a full table refuses automatic bans, not the operator's") {
    BanTable t(2);
    CHECK(t.add({cidr("192.0.2.1"), "flood", "", 300s, true}));
    CHECK(t.add({cidr("192.0.2.2"), "flood", "", 300s, true}));
    CHECK_FALSE(t.add({cidr("192.0.2.3"), "flood", "", 300s, true}));
    CHECK(t.add({cidr("192.0.2.4"), "operator", "", 0s, false}));
}

TEST_CASE("ban table: survives a restart through its file, expired bans do not") {
    const auto dir = std::filesystem::temp_directory_path() / "sipproxy-ban-test";
    std::filesystem::create_directories(dir);
    const auto file = dir / "bans";
    std::filesystem::remove(file);
    const auto now = WallClock::now();
    {
        BanTable t;
        REQUIRE(t.load(file, now));  // no file yet: nothing, no error
        t.add({cidr("192.0.2.7"), "flood", "requests=1001 window=2s", 300s, true}, now);
        t.add({cidr("2001:db8:1:2::/64"), "scanner", "user_agent=\"friendly-scanner\"", 60s, true}, now);
        t.add({cidr("10.0.0.0/8"), "operator", "ticket 12", 0s, false}, now);
        (*t.index()->find(ip("192.0.2.7")))->hits = 42;
        auto saved = t.save(file);
        REQUIRE(saved);
        CHECK(*saved);
        CHECK_FALSE(*t.save(file));  // nothing changed since
        CHECK_FALSE(std::filesystem::exists(file.string() + ".tmp"));
    }
    BanTable t;
    auto loaded = t.load(file, now + 120s);  // the scanner ban (60 s) is over by then
    REQUIRE(loaded);
    CHECK(*loaded == 2);
    auto list = t.list();
    REQUIRE(list.size() == 2);
    for (const auto& b : list) {
        if (b.network == "192.0.2.7") {
            CHECK(b.reason == "flood");
            CHECK(b.note == "requests=1001 window=2s");
            CHECK(b.hits == 42);
            CHECK(std::chrono::duration_cast<std::chrono::seconds>(b.until - b.since) == 300s);
        } else {
            CHECK(b.network == "10.0.0.0/8");
            CHECK(b.forever);
            CHECK(b.note == "ticket 12");
        }
    }
    std::filesystem::remove_all(dir);
}

namespace {
struct Door {
    Admission admission;
    Ingress ingress{admission, {}};
    int delivered = 0, bad = 0;
    transport::Local local = transport::Local::at(transport::Protocol::Udp,
                                                  asio::ip::make_address("127.0.0.1"), 5060);
    Door() {
        ingress.on_message([this](sip::Message, const transport::Peer&, const transport::Local&) { ++delivered; });
        ingress.on_parse_error([this](std::string_view, const sip::ParseError&, const transport::Peer&) { ++bad; });
    }
    void send(const char* from, const std::string& bytes) {
        transport::Peer p{transport::Protocol::Udp, asio::ip::make_address(from), 5060, 0, {}};
        ingress.receive(transport::Inbound{bytes, nullptr, p, local, false});
    }
};
std::string options(const char* ua = "phone/1.0") {
    return std::string("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
                       "From: <sip:a@example.test>;tag=1\r\nTo: <sip:b@example.test>\r\n"
                       "Call-ID: 1@x\r\nCSeq: 1 OPTIONS\r\nUser-Agent: ") + ua + "\r\n\r\n";
}
}  // namespace

TEST_CASE("ingress: flood bans the source on its limit, allow-listed sources are never limited") {
    Door d;
    auto p = std::make_shared<Policy>();
    p->flood_requests = 20;
    p->allow.insert(cidr("192.0.2.100"), true);
    d.admission.set_policy(p);
    for (int i = 0; i < 25; ++i) d.send("192.0.2.1", options());
    CHECK(d.delivered == 20);
    CHECK(d.admission.bans().size() == 1);
    CHECK(d.admission.counters().flood == 1);
    CHECK(d.admission.counters().banned == 4);
    // Responses are not counted; but a banned source's are dropped too.
    d.send("192.0.2.1", "SIP/2.0 200 OK\r\n\r\n");
    CHECK(d.admission.counters().banned == 5);

    for (int i = 0; i < 100; ++i) d.send("192.0.2.100", options());
    CHECK(d.delivered == 120);
    CHECK(d.admission.bans().size() == 1);
}

TEST_CASE("ingress: deny drops before parsing, scanners are banned, bad messages still answered") {
    Door d;
    auto p = std::make_shared<Policy>();
    p->deny.insert(cidr("198.51.100.0/24"), true);
    p->scanner_user_agents = {"friendly-scanner"};
    d.admission.set_policy(p);
    d.send("198.51.100.9", options());
    CHECK(d.delivered == 0);
    CHECK(d.admission.counters().deny == 1);

    d.send("192.0.2.2", options("Friendly-Scanner"));  // case does not matter
    CHECK(d.delivered == 0);
    CHECK(d.admission.counters().scanner == 1);
    REQUIRE(d.admission.bans().list().size() == 1);
    CHECK(d.admission.bans().list()[0].reason == "scanner");
    d.send("192.0.2.2", options());
    CHECK(d.delivered == 0);

    d.send("192.0.2.3", "garbage\r\n\r\n");
    CHECK(d.bad == 1);
    d.send("192.0.2.3", options());
    CHECK(d.delivered == 1);
}

TEST_CASE("reject log: one line per source and reason per interval, a budget for all") {
    RejectLog::Options o;
    o.interval = 10s;
    o.budget = 5;
    RejectLog log(o);
    const auto t = RejectLog::Clock::time_point(1000s);
    for (int i = 0; i < 400000; ++i) log.record(ip("192.0.2.7"), "400 Malformed CSeq", t);
    CHECK(log.lines() == 1);
    log.tick(t + 10s);  // the count of the interval
    CHECK(log.lines() == 2);
    log.tick(t + 20s);  // nothing new: nothing written
    CHECK(log.lines() == 2);
    // A spoofed-source flood: the budget, then one summary.
    for (std::uint32_t i = 0; i < 100000; ++i) log.record(AddressKey::from_v4(0x0a000000u + i), "denied", t + 21s);
    CHECK(log.lines() == 2 + 5);
    log.tick(t + 31s);
    CHECK(log.lines() == 2 + 5 + 1);
}

TEST_CASE("ingress: the flood limit counts a source across every worker's ingress") {
    // SO_REUSEPORT spreads one source's ports over the workers: each worker's ingress sees
    // a share, and the limit must still be the documented one, not workers times it.
    Admission admission;
    auto p = std::make_shared<Policy>();
    p->flood_requests = 20;
    admission.set_policy(p);
    Ingress a{admission, {}}, b{admission, {}};
    int delivered = 0;
    for (auto* in : {&a, &b})
        in->on_message([&](sip::Message, const transport::Peer&, const transport::Local&) { ++delivered; });
    const auto local = transport::Local::at(transport::Protocol::Udp,
                                            asio::ip::make_address("127.0.0.1"), 5060);
    for (int i = 0; i < 30; ++i) {
        transport::Peer from{transport::Protocol::Udp, asio::ip::make_address("192.0.2.1"),
                             static_cast<std::uint16_t>(5060 + i % 2), 0, {}};
        const auto bytes = options();
        (i % 2 ? b : a).receive(transport::Inbound{bytes, nullptr, from, local, false});
    }
    CHECK(delivered == 20);
    CHECK(admission.bans().size() == 1);
}

TEST_CASE("ban table, cluster: on_ban tells the whole ban, another node's ban is not saved") {
    const auto dir = std::filesystem::temp_directory_path() / "sipproxy-ban-cluster-test";
    std::filesystem::create_directories(dir);
    const auto file = dir / "bans";
    std::filesystem::remove(file);
    const auto now = WallClock::now();
    BanTable t;
    std::vector<std::string> told;
    t.on_ban([&](const Ban& b) {
        told.push_back(network_text(b.network) + " " + b.reason + " " + (b.automatic ? "auto" : "op") +
                       " " + (b.origin.empty() ? "-" : b.origin));
    });
    std::vector<std::string> lifted;
    t.on_unban([&](const Cidr& c, const std::string& origin) {
        lifted.push_back(network_text(c) + " " + (origin.empty() ? "-" : origin));
    });
    REQUIRE(t.add({cidr("192.0.2.7"), "auth", "6 failed", 300s, true}, now));
    BanTable::Request remote{cidr("198.51.100.0/24"), "operator", "ticket 7", 0s, false};
    remote.origin = "b";
    remote.until = now + 600s;
    REQUIRE(t.add(remote, now));
    CHECK(told == std::vector<std::string>{"192.0.2.7 auth auto -", "198.51.100.0/24 operator op b"});
    // An automatic ban learnt for a network banned here already changes nothing.
    BanTable::Request again{cidr("192.0.2.7"), "auth", "", 0s, true};
    again.origin = "b";
    CHECK_FALSE(t.add(again, now));
    // A ban that ended before it arrived is not added.
    BanTable::Request over{cidr("192.0.2.9"), "auth", "", 0s, true};
    over.until = now - 1s;
    CHECK_FALSE(t.add(over, now));
    for (const auto& b : t.list()) {
        if (b.network == "198.51.100.0/24") {
            CHECK(b.origin == "b");
            CHECK(b.until == now + 600s);
            CHECK_FALSE(b.forever);
        } else {
            CHECK(b.origin.empty());
        }
    }
    // The file keeps this node's bans only.
    REQUIRE(t.save(file, true));
    BanTable reloaded;
    REQUIRE(reloaded.load(file, now));
    REQUIRE(reloaded.list().size() == 1);
    CHECK(reloaded.list()[0].network == "192.0.2.7");
    // Lifted here (told with no origin) and by another node (told with its name).
    CHECK(t.remove(cidr("192.0.2.7")));
    CHECK(t.remove(cidr("198.51.100.0/24"), "b"));
    CHECK(lifted == std::vector<std::string>{"192.0.2.7 -", "198.51.100.0/24 b"});
    std::vector<Cidr> gone;
    REQUIRE(t.add({cidr("203.0.113.1"), "flood", "", 1s, true}, now));
    CHECK(t.expire(now + 2s, &gone) == 1);
    REQUIRE(gone.size() == 1);
    CHECK(network_text(gone[0]) == "203.0.113.1");
    std::filesystem::remove_all(dir);
}
