// Cutting a byte stream into SIP messages by Content-Length (RFC 3261 18.3), with the CRLF
// keep-alives of RFC 5626 3.5.1 and the stray CRLFs RFC 3261 7.5 says to ignore.
#include "sip/framer.hpp"

#include "sip/syntax.hpp"

namespace sip {
namespace {

constexpr std::size_t npos = std::string_view::npos;

enum class Length { Found, Missing, Malformed, Conflicting };

// The Content-Length of a header section (start line and header lines, each with CRLF).
Length content_length(std::string_view headers, std::size_t& out) {
    bool found = false;
    std::size_t pos = headers.find("\r\n");  // skip the start line
    while (pos != npos && pos + 2 < headers.size()) {
        std::size_t begin = pos + 2;
        std::size_t end = headers.find("\r\n", begin);
        if (end == npos) end = headers.size();
        // Gather continuation lines (folds) into the value.
        std::size_t line_end = end;
        while (line_end + 2 < headers.size() && syntax::is_ws(headers[line_end + 2])) {
            std::size_t next = headers.find("\r\n", line_end + 2);
            line_end = next == npos ? headers.size() : next;
        }
        std::string_view line = headers.substr(begin, line_end - begin);
        pos = line_end;
        std::size_t j = 0;
        while (j < line.size() && syntax::is_token(line[j])) ++j;
        std::string_view name = line.substr(0, j);
        while (j < line.size() && syntax::is_ws(line[j])) ++j;
        if (j >= line.size() || line[j] != ':') continue;  // the parser reports bad lines
        if (!syntax::iequals(name, "Content-Length") && !syntax::iequals(name, "l")) continue;
        std::string_view value = line.substr(j + 1);
        // A folded value holds CRLFs: accept only digits among whitespace.
        std::size_t b = 0;
        while (b < value.size() &&
               (syntax::is_ws(value[b]) || value[b] == '\r' || value[b] == '\n'))
            ++b;
        std::size_t e = value.size();
        while (e > b &&
               (syntax::is_ws(value[e - 1]) || value[e - 1] == '\r' || value[e - 1] == '\n'))
            --e;
        auto n = syntax::parse_number(value.substr(b, e - b), UINT32_MAX);
        if (!n || *n > UINT32_MAX) return Length::Malformed;
        if (found && out != *n) return Length::Conflicting;
        out = static_cast<std::size_t>(*n);
        found = true;
    }
    return found ? Length::Found : Length::Missing;
}

}  // namespace

void StreamFramer::append(std::string_view data) {
    if (failed_) return;
    // Drop what was handed out before growing, so the buffer stays about one message long.
    if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= 4096)) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    buf_.append(data);
}

bool StreamFramer::partial() const {
    for (std::size_t i = pos_; i < buf_.size(); ++i)
        if (buf_[i] != '\r' && buf_[i] != '\n') return true;
    return false;
}

StreamFramer::Result StreamFramer::fail(int status, std::string_view reason) {
    failed_ = true;
    error_.status = status;
    error_.reason = reason;
    Result r;
    r.event = Event::Error;
    r.error = error_;
    return r;
}

StreamFramer::Result StreamFramer::next() {
    if (failed_) {
        Result r;
        r.event = Event::Error;
        r.error = error_;
        return r;
    }
    std::string_view data(buf_);
    if (pending_ == 0) {
        // At a message boundary: CRLFCRLF is a keep-alive ping (RFC 5626 3.5.1); a lone CRLF
        // before a message is skipped (RFC 3261 7.5). Wait until the two can be told apart.
        while (buf_.size() - pos_ >= 2 && data[pos_] == '\r' && data[pos_ + 1] == '\n') {
            std::size_t avail = buf_.size() - pos_;
            if (avail < 3) return {};
            if (data[pos_ + 2] == '\r') {
                if (avail < 4) return {};
                if (data[pos_ + 3] == '\n') {
                    pos_ += 4;
                    scanned_ = 0;
                    Result r;
                    r.event = Event::Ping;
                    return r;
                }
            }
            pos_ += 2;
            scanned_ = 0;
        }
        std::size_t avail = buf_.size() - pos_;
        if (avail == 0) return {};
        std::size_t from = pos_ + (scanned_ > 3 ? scanned_ - 3 : 0);
        std::size_t end = data.find("\r\n\r\n", from);
        if (end == npos) {
            scanned_ = avail;
            if (avail > limits_.max_message_size) return fail(513, "Message Too Large");
            return {};
        }
        std::size_t header_size = end + 4 - pos_;
        if (header_size > limits_.max_message_size) return fail(513, "Message Too Large");
        std::size_t length = 0;
        switch (content_length(data.substr(pos_, header_size - 2), length)) {
            case Length::Missing:
                return fail(400, "Missing Content-Length");  // RFC 3261 18.3
            case Length::Malformed:
                return fail(400, "Malformed Content-Length");
            case Length::Conflicting:
                return fail(400, "Multiple Content-Length headers");
            case Length::Found:
                break;
        }
        if (length > limits_.max_message_size - header_size) return fail(513, "Message Too Large");
        pending_ = header_size + length;
    }
    if (buf_.size() - pos_ < pending_) return {};
    Result r;
    r.event = Event::Message;
    r.message.assign(data.substr(pos_, pending_));
    pos_ += pending_;
    pending_ = 0;
    scanned_ = 0;
    return r;
}

}  // namespace sip
