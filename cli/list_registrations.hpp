#pragma once
// `sipproxyctl show registrations` without an AOR: the daemon's listing fetched page by page
// (show_registrations with "limit" and "after", docs/control-protocol.md) and printed as the
// pages arrive, so a million bindings never sit in one reply or in memory at once.
#include <cstddef>
#include <ostream>
#include <string>

#include "control_client.hpp"

namespace sipproxyctl {

struct ListOptions {
    std::size_t limit = 0;         // at most this many AORs (each with all its bindings); 0 = all
    std::string after;             // start after this AOR ("" = from the first)
    std::size_t page_size = 1000;  // AORs per request
    bool json = false;             // one JSON document instead of a table
};

// Prints to `out`. Throws what ControlClient throws (CommandFailed for an error answer).
void list_registrations(ControlClient& client, const ListOptions& options, std::ostream& out);

}  // namespace sipproxyctl
