// Fuzzes the flow values another node (or anybody) sends back in a Route
// (proxy/path_tokens.hpp): the flow token ("tcp~192.0.2.1~5060~17~<run>~<token>") and the
// WebSocket flow text of our Record-Route. Nothing may crash; what parses must encode and
// decode again to the same connection; a value this node made verifies as its own.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/path_tokens.hpp"

using namespace sipproxy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const proxy::PathTokens tokens = [] {
        auth::NodeSecret s;
        s.bytes.fill(7);
        return proxy::PathTokens(s, 0x1234);
    }();
    std::string_view text(reinterpret_cast<const char*>(data), size);
    using Result = proxy::PathTokens::FlowCheck::Result;
    auto check = tokens.flow_of(text);
    if (check.result == Result::Valid && tokens.flow_value(check.connection) != text) std::abort();
    // The flow text alone (a WebSocket flow, and the front of a flow value).
    if (auto peer = proxy::parse_flow(text)) {
        if (proxy::parse_flow(proxy::flow_text(*peer))->to_string() != peer->to_string())
            std::abort();
        peer->connection = 1 + size;
        auto back = tokens.flow_of(tokens.flow_value(*peer));
        if (back.result != Result::Valid || back.connection.to_string() != peer->to_string() ||
            back.connection.connection != peer->connection)
            std::abort();
    }
    return 0;
}
