#pragma once
// One info line per registration change (issue #17): a binding added, moved to another
// contact, removed or expired; not the refreshes, which a phone sends every few minutes
// and which change nothing an operator looks for. The format is stable (sipproxyd(8)):
//   registration added: aor=alice@example.test contact=sip:alice@192.0.2.7:5060
//     expires=3600 source=udp:192.0.2.7:5060 user_agent="Yealink T46U" by=register
// (one line). `by` says what made the change: register (a REGISTER), max_contacts (the
// oldest binding made room), connection (RFC 5626: the outbound flow closed), expiry.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "registrar/binding.hpp"
#include "registrar/registrar.hpp"

namespace sipproxy::proxy {

// `what`: added | updated | removed | expired. source: "transport:address:port" of the
// REGISTER that made the change (or of the binding's last REGISTER for an expiry).
std::string registration_log_line(std::string_view what, const registrar::Binding& b,
                                  std::uint32_t expires, std::string_view source,
                                  std::string_view user_agent, std::string_view by);

// "udp:192.0.2.7:5060" / "tcp:[2001:db8::1]:5060" from a binding's source fields.
std::string binding_source(const registrar::Binding& b);

// The lines of what one REGISTER changed (`by`: register, or operator for sipproxyctl
// registration add/remove); a binding evicted for max_contacts has its own source and
// user agent, and by=max_contacts.
std::vector<std::string> change_lines(const std::vector<registrar::BindingChange>& changes,
                                      std::string_view source, std::string_view user_agent,
                                      std::string_view by);

// The line for a binding that expired (no REGISTER refreshed it in time).
std::string expired_line(const registrar::Binding& b);

}  // namespace sipproxy::proxy
