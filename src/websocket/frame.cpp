#include "websocket/frame.hpp"

namespace sipproxy::websocket {

namespace {

WsEvent error(std::uint16_t code, std::string why) {
    WsEvent e;
    e.kind = WsEvent::Kind::Error;
    e.code = code;
    e.error = std::move(why);
    return e;
}

bool is_control(std::uint8_t opcode) { return opcode & 0x8; }

}  // namespace

std::optional<WsEvent> FrameReader::next() {
    while (!done_) {
        // RFC 6455 5.2: the base header is two bytes, then 0, 2 or 8 length bytes, then
        // the 4-byte masking key, then the payload.
        if (buffer_.size() < 2) return std::nullopt;
        const auto* b = reinterpret_cast<const unsigned char*>(buffer_.data());
        const bool fin = b[0] & 0x80;
        const std::uint8_t opcode = b[0] & 0x0f;
        if (b[0] & 0x70) return done_ = true, error(close_code::protocol_error, "reserved bits set");
        // 5.1: a server closes the connection on an unmasked client frame.
        if (!(b[1] & 0x80)) return done_ = true, error(close_code::protocol_error, "unmasked frame");
        if (opcode != 0x0 && opcode != 0x1 && opcode != 0x2 && opcode != 0x8 && opcode != 0x9 &&
            opcode != 0xA)
            return done_ = true, error(close_code::protocol_error, "reserved opcode");
        std::uint64_t length = b[1] & 0x7f;
        std::size_t header = 2;
        if (length == 126) {
            if (buffer_.size() < 4) return std::nullopt;
            length = (std::uint64_t{b[2]} << 8) | b[3];
            header = 4;
            if (length < 126) return done_ = true, error(close_code::protocol_error, "length not minimal");
        } else if (length == 127) {
            if (buffer_.size() < 10) return std::nullopt;
            length = 0;
            for (int i = 2; i < 10; ++i) length = (length << 8) | b[i];
            header = 10;
            if (length >> 63) return done_ = true, error(close_code::protocol_error, "length too large");
            if (length <= 0xffff) return done_ = true, error(close_code::protocol_error, "length not minimal");
        }
        if (is_control(opcode)) {
            // 5.5: control frames are never fragmented and carry at most 125 bytes.
            if (!fin) return done_ = true, error(close_code::protocol_error, "fragmented control frame");
            if (length > 125) return done_ = true, error(close_code::protocol_error, "control frame too long");
        } else {
            if (opcode == 0x0 && !in_message_)
                return done_ = true, error(close_code::protocol_error, "continuation without a message");
            if (opcode != 0x0 && in_message_)
                return done_ = true, error(close_code::protocol_error, "new message inside a fragmented one");
            // Refused from the header, before any of the payload is held.
            if (length > max_message_ || message_.size() + length > max_message_)
                return done_ = true, error(close_code::too_big, "message too large");
        }
        if (buffer_.size() < header + 4 + length) return std::nullopt;
        const unsigned char* mask = b + header;
        std::string_view masked(buffer_.data() + header + 4, static_cast<std::size_t>(length));

        std::string payload;
        std::string* out = &payload;
        if (!is_control(opcode)) out = &message_;
        const std::size_t start = out->size();
        out->resize(start + masked.size());
        for (std::size_t i = 0; i < masked.size(); ++i)
            (*out)[start + i] = static_cast<char>(static_cast<unsigned char>(masked[i]) ^ mask[i % 4]);
        buffer_.erase(0, header + 4 + static_cast<std::size_t>(length));

        WsEvent e;
        switch (opcode) {
        case 0x8: {
            done_ = true;
            e.kind = WsEvent::Kind::Close;
            if (payload.size() == 1) return error(close_code::protocol_error, "one-byte close payload");
            e.code = 1005;  // 7.1.5: no status code was present
            if (payload.size() >= 2) {
                e.code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                                    static_cast<unsigned char>(payload[1]));
                e.payload = payload.substr(2);
            }
            return e;
        }
        case 0x9:
            e.kind = WsEvent::Kind::Ping;
            e.payload = std::move(payload);
            return e;
        case 0xA:
            e.kind = WsEvent::Kind::Pong;
            e.payload = std::move(payload);
            return e;
        default:
            if (opcode != 0x0) {
                in_message_ = true;
                message_text_ = opcode == 0x1;
            }
            if (!fin) continue;  // more fragments follow
            in_message_ = false;
            e.kind = WsEvent::Kind::Message;
            e.text = message_text_;
            e.payload = std::move(message_);
            message_.clear();
            return e;
        }
    }
    return std::nullopt;
}

std::string encode_frame(Opcode opcode, std::string_view payload) {
    std::string out;
    out.reserve(payload.size() + 10);
    out.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode)));
    const std::uint64_t n = payload.size();
    if (n < 126) {
        out.push_back(static_cast<char>(n));
    } else if (n <= 0xffff) {
        out.push_back(static_cast<char>(126));
        out.push_back(static_cast<char>(n >> 8));
        out.push_back(static_cast<char>(n & 0xff));
    } else {
        out.push_back(static_cast<char>(127));
        for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
    }
    out.append(payload);
    return out;
}

std::string encode_close(std::uint16_t code, std::string_view reason) {
    std::string payload;
    payload.push_back(static_cast<char>(code >> 8));
    payload.push_back(static_cast<char>(code & 0xff));
    payload.append(reason.substr(0, 123));
    return encode_frame(Opcode::Close, payload);
}

}  // namespace sipproxy::websocket
