#pragma once
// Cuts a byte stream (TCP, TLS) into SIP messages by Content-Length (RFC 3261 18.3),
// handling several messages in one read, one message over many reads, and CRLF
// keep-alives between messages (RFC 5626 3.5.1: "\r\n\r\n" ping is answered by "\r\n").
#include <cstddef>
#include <string>
#include <string_view>

#include "sip/message.hpp"

namespace sip {

class StreamFramer {
public:
    explicit StreamFramer(const Limits& limits = {}) : limits_(limits) {}

    enum class Event {
        NeedMore,     // nothing complete yet
        Message,      // `message` holds the bytes of one complete message
        Ping,         // a CRLFCRLF keep-alive ping: answer with a single CRLF (pong)
        Error,        // the stream is unusable (header section too large, bad or missing
                      // Content-Length): `error` says why; close the connection
    };
    struct Result {
        Event event = Event::NeedMore;
        std::string message;
        ParseError error;
    };

    void append(std::string_view data);
    // Call repeatedly until NeedMore after each append().
    Result next();
    std::size_t buffered() const { return buf_.size() - pos_; }
    // Whether part of a message is buffered (anything but the CRLFs of keep-alives).
    bool partial() const;

private:
    Result fail(int status, std::string_view reason);

    Limits limits_;
    std::string buf_;
    std::size_t pos_ = 0;
    std::size_t scanned_ = 0;  // bytes from pos_ already searched for the end of the headers
    std::size_t pending_ = 0;  // size of the message being completed, once its headers are in
    bool failed_ = false;
    ParseError error_;
};

}  // namespace sip
