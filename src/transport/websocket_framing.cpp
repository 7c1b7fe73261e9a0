// RFC 7118 framing: an accepted WebSocket connection first answers the HTTP upgrade
// (src/websocket/handshake.cpp), then carries one SIP message per WebSocket message
// (src/websocket/frame.cpp). Pings are answered here; a close is echoed and ends the
// connection.
#include "metrics/http_request.hpp"
#include "transport/framing.hpp"
#include "websocket/frame.hpp"
#include "websocket/handshake.hpp"

namespace sipproxy::transport {

namespace {

class WebSocketFraming final : public Framing {
public:
    WebSocketFraming(const sip::Limits& limits, const WebSocketOptions& options)
        : options_(options), reader_(limits.max_message_size) {}

    void append(std::string_view data) override {
        if (upgraded_) reader_.append(data);
        else request_.append(data);
    }

    Result next() override {
        if (!upgraded_) return upgrade();
        auto e = reader_.next();
        if (!e) {
            reader_.shrink();  // an idle connection keeps no buffer
            return {};
        }
        using Kind = websocket::WsEvent::Kind;
        switch (e->kind) {
        case Kind::Message: return {Event::Message, std::move(e->payload), {}};
        // RFC 6455 5.5.3: the pong carries the ping's payload.
        case Kind::Ping: return {Event::Reply, websocket::encode_frame(websocket::Opcode::Pong, e->payload), {}};
        case Kind::Pong: return next();  // our keep-alive was answered: activity is all we need
        // 5.5.1: answer a close with a close (the code echoed), then close the TCP side.
        case Kind::Close:
            return {Event::Close, websocket::encode_close(e->code == 1005 ? websocket::close_code::normal : e->code), {}};
        case Kind::Error: break;
        }
        return {Event::Close, websocket::encode_close(e->code, e->error), {}};
    }

    std::string keepalive_probe() const override {
        return upgraded_ ? websocket::encode_frame(websocket::Opcode::Ping, {}) : std::string();
    }

    bool partial() const override { return !upgraded_ || reader_.buffered() > 0; }

    std::string encode(std::string message) override {
        // Text: SIP.js and JsSIP read text messages; RFC 7118 5 allows either.
        return websocket::encode_frame(websocket::Opcode::Text, message);
    }

private:
    Result upgrade() {
        if (request_.empty()) return {};
        auto parsed = metrics::parse_http_request(request_);
        using S = metrics::HttpParse::Status;
        if (parsed.status == S::Incomplete) return {};
        if (parsed.status != S::Ok) {
            request_.clear();
            return {Event::Close,
                    parsed.status == S::TooLarge
                        ? "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                        : "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                    {}};
        }
        auto answer = websocket::answer_upgrade(parsed.request, options_.allowed_origins);
        if (!answer.accepted) {
            request_.clear();
            return {Event::Close, std::move(answer.response), {}};
        }
        upgraded_ = true;
        // Frames sent right behind the request (a client need not wait for the 101).
        reader_.append(std::string_view(request_).substr(parsed.consumed));
        std::string().swap(request_);
        return {Event::Reply, std::move(answer.response), {}};
    }

    WebSocketOptions options_;
    std::string request_;
    websocket::FrameReader reader_;
    bool upgraded_ = false;
};

}  // namespace

std::unique_ptr<Framing> make_websocket_framing(const sip::Limits& limits, const WebSocketOptions& options) {
    return std::make_unique<WebSocketFraming>(limits, options);
}

}  // namespace sipproxy::transport
