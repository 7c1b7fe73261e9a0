#pragma once
// The server side of the WebSocket opening handshake (RFC 6455 4.2) for SIP (RFC 7118):
// a parsed HTTP upgrade request in, the response to write out, without I/O. A browser
// phone is admitted only with sub-protocol `sip` and, when an allow-list is configured,
// an Origin on it.
#include <string>
#include <string_view>
#include <vector>

#include "metrics/http_request.hpp"

namespace sipproxy::websocket {

struct UpgradeAnswer {
    bool accepted = false;
    int status = 0;         // 101, or the refusal: 400, 403, 404, 405, 426
    std::string response;   // the whole HTTP response to write
    std::string reason;     // why refused, for the log
};

// RFC 6455 4.2.2 step 5.4: base64(SHA-1(key + GUID)).
std::string accept_key(std::string_view key);

// `allowed_origins` empty: any Origin (or none). Otherwise the Origin field must equal
// one of them, case-insensitively ("https://phone.example.com").
UpgradeAnswer answer_upgrade(const metrics::HttpRequest& request,
                             const std::vector<std::string>& allowed_origins);

}  // namespace sipproxy::websocket
