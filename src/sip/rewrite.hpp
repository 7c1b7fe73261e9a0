#pragma once
// Writes a message onward from its original bytes plus a list of edits (RFC 3261 16.6:
// new Request-URI, a new top Via, Record-Route, Max-Forwards, the consumed Route value;
// 16.7: the proxy's own Via removed from a response). Untouched header lines are copied
// byte for byte; nothing is re-printed that need not be.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sip/message.hpp"

namespace sip {

class Rewrite {
public:
    explicit Rewrite(const Message& m) : m_(&m) {}

    // Replace the Request-URI (requests only).
    Rewrite& request_uri(std::string uri);
    // Insert "Name: value" above all other headers. Calls stack in order: the last
    // call's header ends up on top (so add Record-Route first, then Via).
    Rewrite& push_top(std::string_view name, std::string value);
    // Append "Name: value" after the last header.
    Rewrite& append(std::string_view name, std::string value);
    // Drop a whole header line (index into Message::headers()).
    Rewrite& remove(std::size_t header_index);
    // Replace a header line's value (keeps its name as written).
    Rewrite& replace(std::size_t header_index, std::string value);
    // Drop the first comma-separated value of a header line (the top Via or top Route
    // when several share one line); drops the line when it held only that value.
    Rewrite& remove_first_value(std::size_t header_index);
    // Set Max-Forwards to n (replacing the header, or adding it when absent).
    Rewrite& max_forwards(std::uint32_t n);
    // Add Content-Length when the message has none (needed when forwarding onto a stream).
    Rewrite& ensure_content_length();

    std::string write() const;

private:
    enum class Op : std::uint8_t { Remove, Replace, RemoveFirstValue };
    struct Edit {
        std::size_t header_index;
        Op op;
        std::string value;
    };
    const Message* m_;
    std::string request_uri_;
    bool has_request_uri_ = false;
    bool ensure_content_length_ = false;
    std::vector<std::string> top_;     // "Name: value" lines, last pushed is written first
    std::vector<std::string> bottom_;
    std::vector<Edit> edits_;
};

}  // namespace sip
