#pragma once
// The RFC 6455 framing a server speaks, without I/O: client frames in (masked, section
// 5.1), server frames out (unmasked). A FrameReader takes bytes as they arrive and gives
// whole messages (fragments joined, section 5.4) and control frames; anything a client
// must not send is an error with the close code to answer (section 7.4.1).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sipproxy::websocket {

enum class Opcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

// RFC 6455 7.4.1
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t invalid_data = 1007;
inline constexpr std::uint16_t policy = 1008;
inline constexpr std::uint16_t too_big = 1009;
}  // namespace close_code

struct WsEvent {
    enum class Kind { Message, Ping, Pong, Close, Error };
    Kind kind = Kind::Message;
    bool text = false;       // Message: the first fragment's opcode was Text
    std::string payload;     // Message/Ping/Pong: the unmasked data; Close: the reason
    std::uint16_t code = 0;  // Close: the peer's code (1005 when none); Error: ours to send
    std::string error;       // Error: why, for the log
};

class FrameReader {
public:
    // `max_message`: the largest message (all fragments together) accepted; larger is
    // closed with 1009 before its payload is buffered.
    explicit FrameReader(std::size_t max_message) : max_message_(max_message) {}

    // Bytes received from the peer, in order.
    void append(std::string_view bytes) { buffer_.append(bytes); }
    // The next event the buffered bytes complete, or nothing until more arrive. After an
    // Error or a Close nothing more is read.
    std::optional<WsEvent> next();

    std::size_t buffered() const { return buffer_.size() + message_.size(); }
    // Gives back the memory of an idle connection (nothing partial buffered).
    void shrink() {
        if (buffer_.empty()) std::string().swap(buffer_);
        if (message_.empty() && !in_message_) std::string().swap(message_);
    }

private:
    std::size_t max_message_;
    std::string buffer_;   // received, not yet consumed
    std::string message_;  // fragments of a message so far
    bool in_message_ = false;
    bool message_text_ = false;
    bool done_ = false;
};

// One unfragmented server frame (FIN set, no mask, section 5.2).
std::string encode_frame(Opcode opcode, std::string_view payload);
// A Close frame with a code and a short reason (section 5.5.1).
std::string encode_close(std::uint16_t code, std::string_view reason = {});

}  // namespace sipproxy::websocket
