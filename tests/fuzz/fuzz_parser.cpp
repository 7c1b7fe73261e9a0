// Fuzzes the parser as a datagram and as a framed stream message; whatever parses is
// forwarded (Rewrite) and answered (make_response), and both outputs must parse again.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sip/message.hpp"
#include "sip/response.hpp"
#include "sip/rewrite.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void exercise(const sip::Message& m) {
    // No edits: the exact bytes come back.
    check(sip::Rewrite(m).write() == m.bytes());
    // Queries must not crash.
    (void)m.find("X-Unknown");
    (void)m.find("u");
    (void)m.option_tags(sip::HeaderId::ProxyRequire);
    for (const auto& c : m.contacts()) (void)c.addr.param("expires");
    for (const auto& v : m.vias()) (void)v.param("branch");
    if (m.vias().size() > 1) (void)sip::host_equal(m.vias()[0].host, m.vias()[1].host);
    (void)sip::uri_equal(m.from().uri, m.to().uri);
    (void)sip::unescape(m.to().uri.user);

    if (m.is_request()) {
        sip::Rewrite rw(m);
        rw.request_uri("sip:target@192.0.2.1:5060;transport=tcp")
            .push_top("Record-Route", "<sip:proxy.example.com;lr>")
            .push_top("Via", "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKfuzz")
            .max_forwards(m.max_forwards().value_or(70) > 0 ? m.max_forwards().value_or(70) - 1 : 0)
            .ensure_content_length();
        if (!m.routes().empty()) rw.remove_first_value(m.routes()[0].header_index);
        std::string out = rw.write();
        check(sip::parse(out, true).has_value());
        std::string resp = sip::make_response(m, 404, {}, {}, {{"Server", "fuzz"}});
        check(sip::parse(resp, true).has_value());
        (void)sip::make_response(m, 100);
    } else {
        sip::Rewrite rw(m);
        rw.remove_first_value(m.vias()[0].header_index);
        (void)rw.write();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    if (auto m = sip::parse(bytes)) exercise(*m);
    if (auto m = sip::parse(bytes, true)) exercise(*m);
    sip::Limits tight;
    tight.max_headers = 8;
    tight.max_header_line = 64;
    if (auto m = sip::parse(bytes, false, tight)) exercise(*m);
    return 0;
}
