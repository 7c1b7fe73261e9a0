#pragma once
// An error response to bytes that did not parse as a message (RFC 3261 8.2.6 as far as
// it can go): the Via, From, To, Call-ID and CSeq lines are copied textually, so a
// malformed request still gets "400 <what is wrong>" back. Empty when the bytes are not
// a request or carry no Via.
#include <string>
#include <string_view>

namespace sip {

std::string make_error_response(std::string_view raw, int status, std::string_view reason);

}  // namespace sip
