#pragma once
// The HTTP/1.1 requests the metrics endpoint and the WebSocket upgrade accept (RFC 9112): a request
// line and header fields, no body. Parsed from bytes received so far, without I/O; anything a
// scraper would not send is Bad, so a peer cannot make the server hold much.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sipproxy::metrics {

struct HttpRequest {
    std::string method;
    std::string path;  // the target without its query
    bool keep_alive = true;
    std::vector<std::pair<std::string, std::string>> fields;  // name, value (trimmed), in order

    // The values of every field named `name` (case-insensitive), joined with ", " as RFC
    // 9110 5.3 allows for list fields; empty when there is none.
    std::string field(std::string_view name) const;
};

struct HttpParse {
    enum class Status { Incomplete, Ok, Bad, TooLarge };
    Status status = Status::Incomplete;
    HttpRequest request;
    std::size_t consumed = 0;  // bytes of the request (Ok)
    std::string error;         // why Bad
};

// Field-value helpers shared with the WebSocket upgrade (src/websocket/handshake.cpp).
// ASCII case-insensitive comparison (field names, tokens).
bool http_iequals(std::string_view a, std::string_view b);
// Without leading and trailing spaces and tabs (RFC 9110 5.5 OWS).
std::string_view http_trim(std::string_view s);
// Whether a comma-separated list (RFC 9110 5.6.1) holds `token`, case-insensitively.
bool http_list_contains(std::string_view list, std::string_view token);

// `max_size`: the most a request line plus header fields may take.
HttpParse parse_http_request(std::string_view bytes, std::size_t max_size = 8192);

}  // namespace sipproxy::metrics
