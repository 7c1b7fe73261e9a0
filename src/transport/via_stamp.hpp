#pragma once
// RFC 3261 18.2.1 and RFC 3581 4: the receiver of a request notes where it really came
// from in the top Via (received=, and rport= when the sender asked for it), so responses
// find their way back through NATs.
#include <cstdint>
#include <optional>
#include <string>

#include "sip/message.hpp"
#include "transport/peer.hpp"

namespace sipproxy::transport {

// The top Via value of a request as received, with received= and rport= filled in.
// Empty when nothing needs to change.
std::string stamp_via(const sip::Via& via, const Peer& source);

// The received= and rport= values the Via carries once stamp_via() has done its work
// (kept, or filled in): where responses to the request go back.
struct ViaReturn {
    std::string received;
    std::optional<std::uint16_t> rport;
};
ViaReturn stamped_return(const sip::Via& via, const Peer& source);

// A response written for `request` (its Via lines copied), with the top Via stamped.
std::string stamp_response_via(std::string response, const sip::Message& request,
                               const Peer& source);

}  // namespace sipproxy::transport
