#pragma once
// Which messages one trace session shows (sipproxyctl trace --call-id/--user/--source):
// a message that meets every criterion given, and then every later message of the same
// call (its Call-ID), so that a call picked by its source or user shows its whole ladder:
// the forwarded request, the responses, ACK and BYE in both directions.
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_set>

#include "base/address_key.hpp"
#include "base/cidr.hpp"
#include "base/string_hash.hpp"
#include "trace/trace_keys.hpp"

namespace sipproxy::trace {

enum class Direction : unsigned char { In, Out };

struct TraceFilter {
    std::optional<std::string> call_id;  // exact match
    std::optional<std::string> user;     // the user part of the From or To URI (unescaped)
    std::optional<Cidr> source;          // the remote address of a received message
};

class CallMatcher {
  public:
    // Remembers at most `max_calls` Call-IDs; beyond that the oldest is forgotten.
    explicit CallMatcher(TraceFilter filter, std::size_t max_calls = 1024);

    // Whether the session shows this message (remembering its call when it meets the
    // criteria).
    bool matches(Direction direction, const AddressKey& remote, const TraceKeys& keys);

    const TraceFilter& filter() const { return filter_; }
    std::size_t calls() const { return calls_.size(); }

  private:
    bool criteria_hold(Direction direction, const AddressKey& remote, const TraceKeys& keys) const;
    void remember(std::string_view call_id);

    TraceFilter filter_;
    std::size_t max_calls_;
    // Only for --user and --source: a --call-id filter needs no memory.
    bool sticky_;
    std::unordered_set<std::string, StringHash, std::equal_to<>> calls_;
    std::deque<std::string> order_;  // oldest first
};

}  // namespace sipproxy::trace
