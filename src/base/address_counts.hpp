#pragma once
// How many of something (pending transactions) each address holds, shared by every
// worker without a lock, in a fixed amount of memory: a count-min sketch. Each address
// counts in two cells, one in each of two rows of atomic counters chosen by independent
// hashes; its count is the smaller of the two. Another address that shares a cell can only
// make a count larger, never smaller, so a cap is never exceeded; a busy address makes a
// quiet one look busy only when both of the quiet one's cells are shared with it (for two
// rows of 65536 cells, about one chance in four billion). An exact table would need a lock
// shared by the workers and could not evict an address that still holds something.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "base/address_key.hpp"

namespace sipproxy {

class AddressCounts {
public:
    static constexpr std::size_t kCells = 65536;  // per row (two rows: 512 KB)

    // Counts one more for `a`, unless it already holds `cap` (0: no cap): then false and
    // nothing counted. Two workers adding for one address at once may both be refused at
    // the edge of the cap; neither can take it past the cap.
    bool try_add(const AddressKey& a, std::uint32_t cap) {
        const auto [x, y] = cells(a);
        const auto n = std::min(x->fetch_add(1, std::memory_order_relaxed),
                                y->fetch_add(1, std::memory_order_relaxed)) + 1;
        if (cap == 0 || n <= cap) return true;
        x->fetch_sub(1, std::memory_order_relaxed);
        y->fetch_sub(1, std::memory_order_relaxed);
        return false;
    }
    // One less for `a` (once for every try_add that returned true).
    void remove(const AddressKey& a) {
        const auto [x, y] = cells(a);
        x->fetch_sub(1, std::memory_order_relaxed);
        y->fetch_sub(1, std::memory_order_relaxed);
    }
    // What `a` holds (at least; see above).
    std::uint32_t count(const AddressKey& a) const {
        const auto [x, y] = cells(a);
        return std::min(x->load(std::memory_order_relaxed), y->load(std::memory_order_relaxed));
    }

private:
    using Cell = std::atomic<std::uint32_t>;
    std::pair<Cell*, Cell*> cells(const AddressKey& a) const {
        const std::uint64_t h = AddressKeyHash{}(a);
        // The second row's hash: the same key mixed again with another odd constant, so
        // two addresses that collide in one row are unrelated in the other.
        std::uint64_t g = (h ^ (h >> 29)) * 0xd6e8feb86659fd93ull;
        g ^= g >> 32;
        return {&rows_[h % kCells], &rows_[kCells + g % kCells]};
    }
    std::unique_ptr<Cell[]> rows_{new Cell[2 * kCells]()};
};

}  // namespace sipproxy
