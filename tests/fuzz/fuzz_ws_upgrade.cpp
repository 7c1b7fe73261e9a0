// Fuzzes the WebSocket upgrade: any bytes that parse as an HTTP request get an answer
// that is a whole HTTP response; an accepted one carries the accept key and sip.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "metrics/http_request.hpp"
#include "websocket/handshake.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sipproxy;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const auto parsed = metrics::parse_http_request(bytes, 4096);
    if (parsed.status != metrics::HttpParse::Status::Ok) return 0;
    for (const auto& origins : {std::vector<std::string>{}, std::vector<std::string>{"https://a.example"}}) {
        const auto a = websocket::answer_upgrade(parsed.request, origins);
        if (a.response.rfind("HTTP/1.1 ", 0) != 0) std::abort();
        if (a.response.size() < 4 || a.response.substr(a.response.size() - 4) != "\r\n\r\n") std::abort();
        if (a.accepted != (a.status == 101)) std::abort();
        if (a.accepted && a.response.find("Sec-WebSocket-Protocol: sip\r\n") == std::string::npos)
            std::abort();
    }
    return 0;
}
