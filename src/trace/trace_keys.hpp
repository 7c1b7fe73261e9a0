#pragma once
// The header values a trace filter looks at (Call-ID, the users of From and To), found by
// a scan of the header lines, without parsing the message: a traced message that matches
// no session is neither copied nor parsed.
#include <string_view>

namespace sipproxy::trace {

struct TraceKeys {
    std::string_view call_id;    // "" when absent; views into the scanned bytes
    std::string_view from_user;  // user part of the From URI, still %-escaped; "" if none
    std::string_view to_user;
};

// Compact forms (i, f, t) count; a malformed header gives "" for its key, never an error.
TraceKeys trace_keys(std::string_view bytes);

}  // namespace sipproxy::trace
