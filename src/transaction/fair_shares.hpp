#pragma once
// What every worker's transaction layer shares so that no source and no destination takes
// more than its share of the transaction table (issue #12 item 8): pending server
// transactions per source, pending client transactions per next hop, and the count of
// lingering transactions (done, absorbing retransmissions), which max_transactions bounds
// too. The caps are atomics so that a reload changes them for the transactions to come.
#include <atomic>
#include <cstdint>

#include "base/address_counts.hpp"

namespace sipproxy::transaction {

struct FairShares {
    // A source or destination is an IPv4 address or an IPv6 /64 (source_of()).
    AddressCounts sources;       // server transactions without a final response
    AddressCounts destinations;  // client transactions without a final response (not CANCEL)
    std::atomic<std::uint32_t> max_per_source{10000};       // 0: no cap
    std::atomic<std::uint32_t> max_per_destination{10000};  // 0: no cap
    std::atomic<std::size_t> lingering{0};

    // Refused with 503 (source over its share), or failed with 503 (destination over its
    // share); lingering transactions ended early because max_transactions of them linger.
    std::atomic<std::uint64_t> refused_source{0};
    std::atomic<std::uint64_t> refused_destination{0};
    std::atomic<std::uint64_t> linger_cut{0};
};

}  // namespace sipproxy::transaction
