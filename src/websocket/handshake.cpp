#include "websocket/handshake.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace sipproxy::websocket {

namespace {

// RFC 6455 4.2.1 item 5: the key is 16 random bytes in base64, so 24 characters ending "==".
bool valid_key(std::string_view key) {
    if (key.size() != 24 || key.substr(22) != "==") return false;
    return std::all_of(key.begin(), key.begin() + 22, [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
    });
}

UpgradeAnswer refuse(int status, std::string_view phrase, std::string reason,
                     std::string_view extra_fields = {}) {
    UpgradeAnswer a;
    a.status = status;
    a.reason = std::move(reason);
    a.response = "HTTP/1.1 " + std::to_string(status) + " " + std::string(phrase) + "\r\n" +
                 std::string(extra_fields) + "Connection: close\r\nContent-Length: 0\r\n\r\n";
    return a;
}

}  // namespace

std::string accept_key(std::string_view key) {
    static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::string input(key);
    input.append(guid);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_sha1(), nullptr);
    std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> text{};
    const int n = EVP_EncodeBlock(text.data(), digest.data(), static_cast<int>(length));
    return std::string(reinterpret_cast<const char*>(text.data()), static_cast<std::size_t>(n));
}

UpgradeAnswer answer_upgrade(const metrics::HttpRequest& request,
                             const std::vector<std::string>& allowed_origins) {
    if (request.method != "GET")
        return refuse(405, "Method Not Allowed", "method " + request.method);
    if (request.field("Host").empty()) return refuse(400, "Bad Request", "no Host");
    if (!metrics::http_list_contains(request.field("Upgrade"), "websocket"))
        return refuse(426, "Upgrade Required", "not a WebSocket upgrade",
                      "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
    if (!metrics::http_list_contains(request.field("Connection"), "Upgrade"))
        return refuse(400, "Bad Request", "Connection lacks Upgrade");
    // 4.2.2 step 4 / 4.4: we speak version 13 only and say so.
    if (metrics::http_trim(request.field("Sec-WebSocket-Version")) != "13")
        return refuse(426, "Upgrade Required", "unsupported Sec-WebSocket-Version",
                      "Sec-WebSocket-Version: 13\r\n");
    const std::string key = request.field("Sec-WebSocket-Key");
    if (!valid_key(key)) return refuse(400, "Bad Request", "bad Sec-WebSocket-Key");
    if (!allowed_origins.empty()) {
        const std::string origin = request.field("Origin");
        const bool allowed =
            std::any_of(allowed_origins.begin(), allowed_origins.end(),
                        [&](const std::string& o) { return metrics::http_iequals(o, origin); });
        // 4.2.2 step 4 / 10.2: a server that checks the Origin answers 403 to the others.
        if (!allowed)
            return refuse(403, "Forbidden",
                          origin.empty() ? std::string("no Origin")
                                         : "Origin " + origin.substr(0, 100) + " not allowed");
    }
    // RFC 7118 4.1: the sub-protocol is "sip"; a client that does not offer it is not a
    // SIP client.
    if (!metrics::http_list_contains(request.field("Sec-WebSocket-Protocol"), "sip"))
        return refuse(400, "Bad Request", "Sec-WebSocket-Protocol lacks sip");

    UpgradeAnswer a;
    a.accepted = true;
    a.status = 101;
    a.response =
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        accept_key(key) +
        "\r\n"
        "Sec-WebSocket-Protocol: sip\r\n\r\n";
    return a;
}

}  // namespace sipproxy::websocket
