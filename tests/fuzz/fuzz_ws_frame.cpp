// Fuzzes the WebSocket frame reader: any bytes, whole and in two pieces cut at a point
// taken from the input (as they arrive from a socket), give the same events; nothing is
// read past an Error or a Close, and no message exceeds the limit.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "websocket/frame.hpp"

namespace {

std::vector<sipproxy::websocket::WsEvent> events(std::string_view a, std::string_view b) {
    sipproxy::websocket::FrameReader r(4096);
    std::vector<sipproxy::websocket::WsEvent> out;
    r.append(a);
    while (auto e = r.next()) out.push_back(std::move(*e));
    r.append(b);
    while (auto e = r.next()) out.push_back(std::move(*e));
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using Kind = sipproxy::websocket::WsEvent::Kind;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const auto whole = events(bytes, {});
    for (std::size_t i = 0; i < whole.size(); ++i) {
        if (whole[i].payload.size() > 4096) std::abort();
        if ((whole[i].kind == Kind::Error || whole[i].kind == Kind::Close) && i + 1 != whole.size())
            std::abort();
    }
    if (size > 0) {
        const std::size_t cut = data[0] % size;
        const auto split = events(bytes.substr(0, cut), bytes.substr(cut));
        if (split.size() != whole.size()) std::abort();
        for (std::size_t i = 0; i < split.size(); ++i)
            if (split[i].kind != whole[i].kind || split[i].payload != whole[i].payload ||
                split[i].code != whole[i].code)
                std::abort();
    }
    // Server frames of what was read parse back through a masking client's eyes: skipped,
    // the encoder is checked by the unit tests.
    return 0;
}
