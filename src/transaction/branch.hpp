#pragma once
// Via branch values this proxy generates: RFC 3261 magic cookie, the index of the worker
// that owns the client transaction (so a response reaches the right thread), a loop-
// detection hash of the request (16.6 step 8, 16.3 step 4) and a unique counter.
//   z9hG4bK-sp<worker:2 hex><loop:8 hex>.<counter hex>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sip/message.hpp"

namespace sipproxy::transaction {

std::string make_branch(unsigned worker, std::uint32_t loop_hash, std::uint64_t counter);
// The worker index encoded in one of our branches, or nullopt for a foreign branch.
std::optional<unsigned> branch_worker(std::string_view branch);
// The loop hash encoded in one of our branches.
std::optional<std::uint32_t> branch_loop_hash(std::string_view branch);
// The loop hash of a request as received: Request-URI, From tag, To tag, Call-ID, CSeq
// number, Proxy-Require. The same request coming back with the same values is a loop; a
// spiral (a changed Request-URI) is not.
std::uint32_t loop_hash(const sip::Message& request);

}  // namespace sipproxy::transaction
