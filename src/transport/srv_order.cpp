#include "transport/srv_order.hpp"

#include <algorithm>
#include <memory>
#include <random>

namespace sipproxy::transport {

SrvRandom make_srv_random() {
    auto engine = std::make_shared<std::mt19937>(std::random_device{}());
    return [engine](std::uint32_t bound) {
        return std::uniform_int_distribution<std::uint32_t>(0, bound)(*engine);
    };
}

void order_srv(std::vector<SrvTarget>& records, const SrvRandom& random) {
    std::erase_if(records, [](const SrvTarget& r) { return r.host.empty() || r.host == "."; });
    // Weight 0 first within a priority (stable: otherwise as received).
    std::stable_sort(records.begin(), records.end(), [](const SrvTarget& a, const SrvTarget& b) {
        if (a.priority != b.priority) return a.priority < b.priority;
        return a.weight == 0 && b.weight != 0;
    });
    for (auto first = records.begin(); first != records.end();) {
        auto last = std::find_if(first, records.end(),
                                 [&](const SrvTarget& r) { return r.priority != first->priority; });
        // Selection: the running sum of the weights of the records not yet ordered; the
        // first record whose running sum reaches a random number in [0, sum] is next.
        for (auto next = first; next != last; ++next) {
            std::uint32_t sum = 0;
            for (auto it = next; it != last; ++it) sum += it->weight;
            const std::uint32_t pick = std::min(random(sum), sum);
            std::uint32_t running = 0;
            auto chosen = next;
            for (auto it = next; it != last; ++it) {
                running += it->weight;
                if (running >= pick) {
                    chosen = it;
                    break;
                }
            }
            // Move the chosen record to `next`, the others keep their relative order.
            std::rotate(next, chosen, chosen + 1);
        }
        first = last;
    }
}

}  // namespace sipproxy::transport
