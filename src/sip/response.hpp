#pragma once
// Building a response to a request (RFC 3261 8.2.6): status line, the request's Via
// lines, From, To (with a To-tag added when the request had none and status > 100),
// Call-ID, CSeq, then extra headers and an optional body.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sip/message.hpp"

namespace sip {

struct ExtraHeader {
    std::string name;
    std::string value;
};

// Default reason phrase for a status code ("OK", "Not Found", ...).
std::string_view default_reason(int status);

std::string make_response(const Message& request, int status, std::string_view reason = {},
                          std::string_view to_tag = {},
                          const std::vector<ExtraHeader>& extra = {},
                          std::string_view content_type = {}, std::string_view body = {});

}  // namespace sip
