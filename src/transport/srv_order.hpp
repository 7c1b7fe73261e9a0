#pragma once
// The order in which SRV targets are tried (RFC 2782 "Usage rules").
#include <cstdint>
#include <functional>
#include <vector>

#include "transport/dns_records.hpp"

namespace sipproxy::transport {

// A uniformly distributed number in [0, bound], both ends included.
using SrvRandom = std::function<std::uint32_t(std::uint32_t bound)>;

// A SrvRandom on its own std::mt19937 seeded from std::random_device. Not thread-safe:
// one per thread.
SrvRandom make_srv_random();

// RFC 2782: records whose target is "." (service decidedly not available) are dropped;
// the lowest priority comes first; within a priority, records are picked one after
// another at random, each with a chance proportional to its weight (weight 0 records
// are listed first, so they have a small chance when others weigh more and are taken
// in the order received when all weigh 0).
void order_srv(std::vector<SrvTarget>& records, const SrvRandom& random);

}  // namespace sipproxy::transport
