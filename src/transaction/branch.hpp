#pragma once
// Via branch values this proxy generates: RFC 3261 magic cookie, the index of the worker
// that owns the client transaction (so a response reaches the right thread), a loop-
// detection hash of the request (16.6 step 8, 16.3 step 4), a unique counter and, on
// requests the proxy forwards, a token binding the previous hop (proxy/path_tokens.hpp)
// that lets a response without a transaction be relayed (16.7):
//   z9hG4bK-sp<worker:2 hex><loop:8 hex>.<counter hex>[.<token>]
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sip/message.hpp"

namespace sipproxy::transaction {

std::string make_branch(unsigned worker, std::uint32_t loop_hash, std::uint64_t counter);
// `branch` from make_branch() with a token appended (a token never contains '.').
std::string branch_with_token(std::string branch, std::string_view token);
// The token of one of our branches; "" when it has none or is not ours.
std::string_view branch_token(std::string_view branch);
// The worker index encoded in one of our branches, or nullopt for a foreign branch.
std::optional<unsigned> branch_worker(std::string_view branch);
// The loop hash encoded in one of our branches.
std::optional<std::uint32_t> branch_loop_hash(std::string_view branch);
// The loop hash of a request as received: Request-URI, From tag, To tag, Call-ID, CSeq
// number, Proxy-Require. The same request coming back with the same values is a loop; a
// spiral (a changed Request-URI) is not.
std::uint32_t loop_hash(const sip::Message& request);

}  // namespace sipproxy::transaction
