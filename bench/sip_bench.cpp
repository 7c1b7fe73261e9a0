// Parser micro-benchmark: parse + forward rewrite of a typical INVITE with SDP (new Via,
// Record-Route, Max-Forwards - 1, top Route removed, Request-URI replaced), and parse +
// top-Via removal of a 200 OK. Prints ns per message. Usage: sip_bench [iterations]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sip/message.hpp"
#include "sip/rewrite.hpp"

namespace {

const std::string kSdp =
    "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.101\r\ns=-\r\nc=IN IP4 192.0.2.101\r\n"
    "t=0 0\r\nm=audio 49172 RTP/AVP 0 8 97\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:97 iLBC/8000\r\n";

const std::string kInvite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9;rport\r\n"
    "Route: <sip:proxy.example.com;lr>, <sip:edge.example.com;lr>\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Alice\" <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:alice@192.0.2.101;transport=udp>;+sip.instance=\"<urn:uuid:00000000-0000-1000-"
    "8000-000A95A0E128>\"\r\n"
    "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY\r\n"
    "Supported: replaces, timer\r\n"
    "User-Agent: ExamplePhone/1.2.3\r\n"
    "Accept: application/sdp\r\n"
    "Session-Expires: 1800\r\n"
    "P-Asserted-Identity: \"Alice\" <sip:alice@atlanta.example.com>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: " +
    std::to_string(kSdp.size()) + "\r\n\r\n" + kSdp;

const std::string kOk =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK2d4790.1, SIP/2.0/UDP 192.0.2.101:5060"
    ";branch=z9hG4bK74bf9;received=192.0.2.101;rport=5060\r\n"
    "Record-Route: <sip:proxy.example.com;lr>\r\n"
    "From: \"Alice\" <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:bob@192.0.2.4>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: " +
    std::to_string(kSdp.size()) + "\r\n\r\n" + kSdp;

template <class F>
void measure(const char* what, std::size_t bytes, long n, F&& f) {
    std::size_t sink = 0;
    for (long i = 0; i < n / 100; ++i) sink += f();  // warm-up
    // CPU time of this thread as well as wall time: on a shared machine the wall clock also
    // counts the time other processes held the core.
    timespec c0{}, c1{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) sink += f();
    auto t1 = std::chrono::steady_clock::now();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    double wall =
        std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n);
    double cpu = (static_cast<double>(c1.tv_sec - c0.tv_sec) * 1e9 +
                  static_cast<double>(c1.tv_nsec - c0.tv_nsec)) /
                 static_cast<double>(n);
    std::printf("%-34s %5zu bytes  %7.0f ns/msg cpu  %7.0f ns/msg wall  (%zu)\n", what, bytes, cpu,
                wall, sink % 10);
}

}  // namespace

int main(int argc, char** argv) {
    long n = argc > 1 ? std::atol(argv[1]) : 1000000;
    if (n <= 0) n = 1000000;
    if (!sip::parse(kInvite) || !sip::parse(kOk)) {
        std::fprintf(stderr, "bench messages do not parse\n");
        return 1;
    }
    std::printf("%ld iterations each; every iteration copies the message into a fresh buffer\n", n);

    measure("INVITE: parse", kInvite.size(), n, [] {
        auto m = sip::parse(std::string(kInvite));
        return m->headers().size();
    });
    measure("INVITE: parse + forward rewrite", kInvite.size(), n, [] {
        auto m = sip::parse(std::string(kInvite));
        std::string out =
            sip::Rewrite(*m)
                .request_uri("sip:bob@192.0.2.4:5060")
                .push_top("Record-Route", "<sip:proxy.example.com;lr>")
                .push_top("Via", "SIP/2.0/UDP proxy.example.com;branch=z9hG4bK2d4790.1")
                .max_forwards(*m->max_forwards() - 1)
                .remove_first_value(m->routes()[0].header_index)
                .write();
        return out.size();
    });
    measure("200 OK: parse", kOk.size(), n, [] {
        auto m = sip::parse(std::string(kOk));
        return m->headers().size();
    });
    measure("200 OK: parse + remove top Via", kOk.size(), n, [] {
        auto m = sip::parse(std::string(kOk));
        std::string out = sip::Rewrite(*m).remove_first_value(m->vias()[0].header_index).write();
        return out.size();
    });
    return 0;
}
