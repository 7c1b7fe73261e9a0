#pragma once
// What the ingress blocked, by reason, for `sipproxyctl show stats` (shared by every
// worker, relaxed atomics).
#include <atomic>
#include <cstdint>
#include <map>
#include <string>

namespace sipproxy::ingress {

struct Counters {
    std::atomic<std::uint64_t> flood{0};        // over the flood limit (before and while banned)
    std::atomic<std::uint64_t> banned{0};       // from a banned source
    std::atomic<std::uint64_t> deny{0};         // from security.deny / deny_file
    std::atomic<std::uint64_t> scanner{0};      // scanner User-Agent
    std::atomic<std::uint64_t> connections{0};  // TCP connections refused (per-source cap)
    std::atomic<std::uint64_t> bans{0};         // bans made by the limits since start

    static void bump(std::atomic<std::uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

    std::map<std::string, std::uint64_t> snapshot() const {
        auto v = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
        return {{"blocked.flood", v(flood)},
                {"blocked.banned", v(banned)},
                {"blocked.deny", v(deny)},
                {"blocked.scanner", v(scanner)},
                {"blocked.connections", v(connections)},
                {"bans.added", v(bans)}};
    }
};

}  // namespace sipproxy::ingress
