#pragma once
// The SIP message model (RFC 3261 sections 7, 20, 25). A Message owns one buffer with the
// bytes as received; every string_view in it points into that buffer. Parsing is one pass;
// nothing is copied per header. A Message is move-only and its views stay valid across
// moves (the buffer lives on the heap and never moves).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.hpp"
#include "sip/uri.hpp"

namespace sip {

enum class Method : std::uint8_t {
    Unknown,  // an extension method: see Message::method_text
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Update,
    Prack,
    Subscribe,
    Notify,
    Refer,
    Message,
    Publish,
};
// Methods are case-sensitive (RFC 3261 7.1).
Method method_from_name(std::string_view name);
std::string_view method_name(Method m);  // "" for Unknown

// Headers the core looks at; everything else is Other and is kept byte for byte.
enum class HeaderId : std::uint8_t {
    Other,
    Via,
    From,
    To,
    CallId,
    CSeq,
    MaxForwards,
    Contact,
    Route,
    RecordRoute,
    Path,
    Expires,
    MinExpires,
    ContentType,
    ContentLength,
    ContentEncoding,
    Require,
    ProxyRequire,
    Supported,
    Unsupported,
    Allow,
    Authorization,
    ProxyAuthorization,
    WwwAuthenticate,
    ProxyAuthenticate,
    AuthenticationInfo,
    UserAgent,
    Server,
    RetryAfter,
    Date,
    Timestamp,
    Subject,
    Event,
};
// Case-insensitive, knows the compact forms (RFC 3261 7.3.3: i m e l c f s k t v, and o u).
HeaderId header_id(std::string_view name);
std::string_view header_name(HeaderId id);  // canonical long form, "" for Other

// One header field line as received (folded continuation lines included).
struct HeaderField {
    HeaderId id = HeaderId::Other;
    std::string_view name;   // as written, e.g. "v" or "Via"
    std::string_view value;  // trimmed of surrounding whitespace; folds are replaced by spaces
    std::uint32_t begin = 0; // byte offset of the line's first byte in Message::bytes()
    std::uint32_t end = 0;   // one past its final CRLF
};

// name-addr / addr-spec with header parameters (From, To, Contact, Route, Record-Route, Path).
struct NameAddr {
    std::string_view display_name;  // unquoted view; may contain backslash escapes
    Uri uri;
    std::string_view params;        // header params after the URI, without the leading ';'
    std::string_view tag;           // the tag param, empty if absent
    std::string_view raw;           // the whole value as written
    std::uint16_t header_index = 0; // index into Message::headers() of the line it came from
    std::uint16_t value_index = 0;  // 0 for the first comma-separated value of that line

    std::optional<std::string_view> param(std::string_view name) const;  // case-insensitive
};

struct Contact {
    bool star = false;  // "Contact: *"
    NameAddr addr;
    std::optional<double> q;                // q param, 0..1
    std::optional<std::uint32_t> expires;   // expires param
};

struct Via {
    std::string_view protocol;    // "SIP/2.0"
    std::string_view transport;   // "UDP", "TCP", "TLS", "WS", ...
    std::string_view host;        // IPv6 references keep their brackets
    std::uint16_t port = 0;       // 0 when absent
    std::string_view branch;
    std::string_view received;
    bool has_rport = false;
    std::optional<std::uint16_t> rport;  // value of rport=NNN when given
    std::string_view maddr;
    std::optional<std::uint8_t> ttl;
    std::string_view params;      // all params, without the leading ';'
    std::string_view raw;
    std::uint16_t header_index = 0;
    std::uint16_t value_index = 0;

    std::optional<std::string_view> param(std::string_view name) const;
    // RFC 3261 8.1.1.7: the branch starts with the magic cookie "z9hG4bK".
    bool rfc3261_branch() const { return branch.substr(0, 7) == "z9hG4bK"; }
};

struct CSeq {
    std::uint32_t number = 0;
    Method method = Method::Unknown;
    std::string_view method_text;
};

// Why a message was refused. `reason` is the precise phrase for "400 <reason>"
// ("Missing Call-ID", "Malformed CSeq", ...) and always points to static storage.
struct ParseError {
    int status = 400;  // 400, or 505 for an unsupported SIP version, 513 for too large
    std::string_view reason;
    std::string raw;   // parse() hands the bytes back here, so the caller can still answer
};

struct Limits {
    std::size_t max_message_size = 65535;
    std::size_t max_headers = 256;
    std::size_t max_header_line = 8192;  // one header field, folds included
};

class Message {
public:
    bool is_request() const { return is_request_; }
    bool is_response() const { return !is_request_; }

    // Request line
    Method method() const { return method_; }
    std::string_view method_text() const { return method_text_; }
    const Uri& request_uri() const { return request_uri_; }
    std::string_view version() const { return version_; }

    // Status line
    int status() const { return status_; }
    std::string_view reason() const { return reason_; }

    // Headers in wire order, and the ones the core always needs, parsed.
    const std::vector<HeaderField>& headers() const { return headers_; }
    const std::vector<Via>& vias() const { return vias_; }  // topmost first
    const NameAddr& from() const { return from_; }
    const NameAddr& to() const { return to_; }
    std::string_view call_id() const { return call_id_; }
    const CSeq& cseq() const { return cseq_; }
    std::optional<std::uint32_t> max_forwards() const { return max_forwards_; }
    std::optional<std::uint32_t> expires() const { return expires_; }
    std::optional<std::size_t> content_length() const { return content_length_; }
    const std::vector<Contact>& contacts() const { return contacts_; }
    const std::vector<NameAddr>& routes() const { return routes_; }
    const std::vector<NameAddr>& record_routes() const { return record_routes_; }
    const std::vector<NameAddr>& paths() const { return paths_; }
    std::string_view body() const { return body_; }

    // First header with this id / name, or nullptr.
    const HeaderField* find(HeaderId id) const;
    const HeaderField* find(std::string_view name) const;  // case-insensitive, compact-aware
    // Option tags of every Require / Proxy-Require / Supported / Unsupported line.
    std::vector<std::string_view> option_tags(HeaderId id) const;

    // The whole message as received (after fold normalisation), and its size.
    std::string_view bytes() const { return {buf_->data(), size_}; }
    // The start line without its CRLF, and where the body starts in bytes() (one past the
    // empty line ending the header section).
    std::string_view start_line() const { return {buf_->data(), start_line_end_}; }
    std::size_t body_offset() const { return body_offset_; }
    // The top Via's branch, or "" (a convenience for transaction matching).
    std::string_view top_branch() const { return vias_.empty() ? std::string_view{} : vias_.front().branch; }

    Message(Message&&) noexcept = default;
    Message& operator=(Message&&) noexcept = default;
    Message(const Message&) = delete;
    Message& operator=(const Message&) = delete;
    ~Message() = default;

private:
    Message() = default;
    friend class Parser;

    std::unique_ptr<std::string> buf_;
    std::size_t size_ = 0;
    std::size_t start_line_end_ = 0;  // offset of the start line's CR
    std::size_t body_offset_ = 0;
    bool is_request_ = true;
    Method method_ = Method::Unknown;
    std::string_view method_text_;
    Uri request_uri_;
    std::string_view version_;
    int status_ = 0;
    std::string_view reason_;
    std::vector<HeaderField> headers_;
    std::vector<Via> vias_;
    NameAddr from_, to_;
    std::string_view call_id_;
    CSeq cseq_;
    std::optional<std::uint32_t> max_forwards_;
    std::optional<std::uint32_t> expires_;
    std::optional<std::size_t> content_length_;
    std::vector<Contact> contacts_;
    std::vector<NameAddr> routes_, record_routes_, paths_;
    std::string_view body_;
};

using ParseResult = sipproxy::Expected<Message, ParseError>;

// Parses one complete message (datagram, or one framed by StreamFramer). The bytes are
// moved into the message. For a datagram, a Content-Length smaller than the body
// truncates the body (RFC 3261 18.3); a larger one is an error. Without Content-Length a
// datagram's body is the rest of it; on a stream Content-Length is required
// (stream=true).
// Required in every message: Via, From, To, Call-ID, CSeq, and in a request a CSeq
// method equal to the request method. A missing Max-Forwards is accepted (RFC 3261
// 8.1.1.6 says SHOULD); the proxy treats it as 70.
ParseResult parse(std::string bytes, bool stream = false, const Limits& limits = {});

}  // namespace sip
