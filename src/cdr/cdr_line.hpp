#pragma once
// One call detail record as one line of JSON (docs/cdr.md: the schema is a stable
// interface). Every outcome has the same fields; a time not reached is null.
#include <string>

#include "proxy/call_events.hpp"

namespace sipproxy::cdr {

// The record of a finished call attempt, newline included. Text a peer sent (User-Agent,
// URIs) is escaped; bytes that are not UTF-8 become U+FFFD.
std::string cdr_line(const proxy::CallRecord& call);

// RFC 3339, UTC, milliseconds: "2026-12-04T16:15:00.123Z".
std::string rfc3339_ms(proxy::WallTime t);

}  // namespace sipproxy::cdr
