// Fuzzes the metrics endpoint's HTTP request parser: any bytes, whole and cut at a point
// taken from the input (as they arrive from a socket), must parse to the same answer
// without reading past them; a request it accepts has a path and a length inside them.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "metrics/http_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using sipproxy::metrics::HttpParse;
    using sipproxy::metrics::parse_http_request;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const auto whole = parse_http_request(bytes, 1024);
    if (whole.status == HttpParse::Status::Ok) {
        if (whole.consumed == 0 || whole.consumed > bytes.size()) std::abort();
        if (whole.request.path.empty() || whole.request.path.front() != '/') std::abort();
    }
    if (size > 0) {
        // A prefix never parses to something the whole does not agree with.
        const std::size_t cut = data[0] % size;
        const auto part = parse_http_request(bytes.substr(0, cut), 1024);
        if (part.status == HttpParse::Status::Ok &&
            (whole.status != HttpParse::Status::Ok || whole.consumed != part.consumed))
            std::abort();
    }
    return 0;
}
