// Ingress micro-benchmark: what the stage in front of parsing costs per datagram.
//   drop:   a banned source's INVITE, dropped (the flood case: datagrams/s one core drops)
//   pass:   an INVITE from an ordinary source: admission + rate count + parse + the
//           scanner check, next to parse alone (the difference is the ingress's cost)
//   deny:   the same with 10,000 networks in the deny list (an APIBAN export)
//   spoof:  every datagram from a new source (rate table evicting, nothing banned)
// Usage: ingress_bench [iterations]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/log.hpp"
#include "ingress/ingress.hpp"

using namespace sipproxy;

namespace {

const std::string kInvite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Alice\" <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:alice@192.0.2.101;transport=udp>\r\n"
    "User-Agent: ExamplePhone/1.2.3\r\n"
    "Content-Length: 0\r\n\r\n";

template <class F>
double ns_per(long n, F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) f(i);
    const auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
    const long n = argc > 1 ? std::atol(argv[1]) : 2000000;
    log::set_level(log::Level::error);
    const auto local = transport::Local::at(transport::Protocol::Udp,
                                            asio::ip::make_address("127.0.0.1"), 5060);
    transport::Peer peer{transport::Protocol::Udp, asio::ip::make_address("192.0.2.101"), 5060, 0, {}};
    long delivered = 0;

    ingress::Admission admission;
    auto policy = std::make_shared<ingress::Policy>();
    policy->flood_requests = 0;  // measure the path, not the limit
    policy->scanner_user_agents = {"friendly-scanner", "sipvicious", "sipcli", "vaxsipuseragent",
                                   "pplsip", "sip-scan", "sundayddr", "iwar", "sivus"};
    admission.set_policy(policy);
    ingress::Ingress in(admission, {});
    in.on_message([&](sip::Message, const transport::Peer&, const transport::Local&) { ++delivered; });

    const double parse = ns_per(n, [&](long) {
        auto m = sip::parse(std::string(kInvite));
        if (m) ++delivered;
    });
    const double pass = ns_per(n, [&](long) {
        in.receive(transport::Inbound{kInvite, nullptr, peer, local, false});
    });

    // 10,000 single addresses and 1,000 /24s denied, none matching the sender.
    auto denying = std::make_shared<ingress::Policy>(*policy);
    for (std::uint32_t i = 0; i < 10000; ++i) denying->deny.insert(AddressKey::from_v4(0xcb000000u + i), 128, true);
    for (std::uint32_t i = 0; i < 1000; ++i) denying->deny.insert(AddressKey::from_v4(0xc6000000u + (i << 8)), 120, true);
    admission.set_policy(denying);
    const double deny = ns_per(n, [&](long) {
        in.receive(transport::Inbound{kInvite, nullptr, peer, local, false});
    });

    // Spoofed sources: a new one each datagram, the flood limit on.
    auto limiting = std::make_shared<ingress::Policy>(*policy);
    limiting->flood_requests = 1000;
    admission.set_policy(limiting);
    const double spoof = ns_per(n, [&](long i) {
        transport::Peer p{transport::Protocol::Udp,
                          asio::ip::address_v4(0x0a000000u + static_cast<std::uint32_t>(i)), 5060, 0, {}};
        in.receive(transport::Inbound{kInvite, nullptr, p, local, false});
    });

    ingress::BanTable::Request ban;
    ban.network = *Cidr::parse("192.0.2.101");
    ban.reason = "operator";
    ban.automatic = false;
    admission.bans().add(ban);
    const auto before = delivered;
    const double drop = ns_per(n, [&](long) {
        in.receive(transport::Inbound{kInvite, nullptr, peer, local, false});
    });
    if (delivered != before) std::printf("error: a banned datagram was delivered\n");

    std::printf("parse alone:              %7.1f ns/datagram\n", parse);
    std::printf("pass (ingress + parse):   %7.1f ns/datagram  (ingress: %+.1f ns)\n", pass, pass - parse);
    std::printf("pass, 11,000 denied nets: %7.1f ns/datagram\n", deny);
    std::printf("pass, new source each:    %7.1f ns/datagram\n", spoof);
    std::printf("drop (banned source):     %7.1f ns/datagram  = %.1f M datagrams/s per core\n",
                drop, 1000.0 / drop);
    return 0;
}
