#pragma once
// Requests a client transaction builds from the request it sent: the ACK for a non-2xx
// final response (RFC 3261 17.1.1.3) and the CANCEL (9.1). Both carry the request's top
// Via only, its Route set, From, Call-ID and CSeq number.
#include <optional>
#include <string>
#include <string_view>

#include "sip/message.hpp"

namespace sipproxy::transaction {

std::optional<std::string> make_ack_for_non2xx(std::string_view sent_request,
                                               const sip::Message& response);
std::optional<std::string> make_cancel(std::string_view sent_request);

}  // namespace sipproxy::transaction
