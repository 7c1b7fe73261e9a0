#include "auth/nonce_count_table.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

using namespace sipproxy::auth;
using namespace std::chrono_literals;
using Result = NonceCountTable::Result;

namespace {
const Time t0 = Time(5000s);
}

TEST_CASE("nc must increase per nonce", "[nc]") {
    NonceCountTable table(100, 4);
    CHECK(table.advance("n1", 1, t0, t0 + 300s, t0) == Result::accepted);
    CHECK(table.advance("n1", 1, t0, t0 + 300s, t0) == Result::replay);
    CHECK(table.advance("n1", 2, t0, t0 + 300s, t0) == Result::accepted);
    CHECK(table.advance("n1", 5, t0, t0 + 300s, t0) == Result::accepted);  // gaps are fine
    CHECK(table.advance("n1", 3, t0, t0 + 300s, t0) == Result::replay);
    CHECK(table.advance("n1", 5, t0, t0 + 300s, t0) == Result::replay);
    // Another nonce has its own counter.
    CHECK(table.advance("n2", 1, t0, t0 + 300s, t0) == Result::accepted);
    CHECK(table.size() == 2);
}

TEST_CASE("the table stays within its capacity", "[nc]") {
    NonceCountTable table(64, 4);
    for (int i = 0; i < 10000; ++i)
        table.advance("nonce-" + std::to_string(i), 1, t0 + std::chrono::seconds(i / 100),
                      t0 + 300s, t0);
    CHECK(table.size() <= table.capacity());
    CHECK(table.capacity() == 64);
}

TEST_CASE("forgotten nonces cannot be replayed", "[nc]") {
    NonceCountTable table(2, 1);  // one shard of two entries
    CHECK(table.advance("old", 1, t0, t0 + 300s, t0) == Result::accepted);
    CHECK(table.advance("b", 1, t0 + 1s, t0 + 301s, t0 + 1s) == Result::accepted);
    CHECK(table.advance("c", 1, t0 + 2s, t0 + 302s, t0 + 2s) == Result::accepted);  // forgets "old"
    // "old" is gone from the table, but its nc=1 must still be refused.
    CHECK(table.advance("old", 1, t0, t0 + 300s, t0 + 3s) == Result::replay);
    CHECK(table.advance("old", 2, t0, t0 + 300s, t0 + 3s) == Result::replay);
    // A nonce issued after the watermark is fine.
    CHECK(table.advance("d", 1, t0 + 3s, t0 + 303s, t0 + 3s) == Result::accepted);
}

TEST_CASE("expired entries are dropped without raising the watermark", "[nc]") {
    NonceCountTable table(2, 1);
    CHECK(table.advance("a", 1, t0, t0 + 10s, t0) == Result::accepted);
    CHECK(table.advance("b", 1, t0, t0 + 10s, t0) == Result::accepted);
    // Much later: both expired, dropped to make room; new nonces issued earlier than them
    // would be stale at the nonce check anyway, and fresh ones are accepted.
    CHECK(table.advance("c", 1, t0 + 100s, t0 + 110s, t0 + 100s) == Result::accepted);
    CHECK(table.size() == 1);
    CHECK(table.advance("d", 1, t0 + 100s, t0 + 110s, t0 + 100s) == Result::accepted);
}

TEST_CASE("concurrent increments accept each nc exactly once", "[nc]") {
    NonceCountTable table(1000, 8);
    std::atomic<int> accepted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (std::uint32_t nc = 1; nc <= 500; ++nc)
                if (table.advance("shared", nc, t0, t0 + 300s, t0) == Result::accepted) ++accepted;
        });
    for (auto& th : threads) th.join();
    // Each nc value is accepted at most once overall; nc=500 reached by someone.
    CHECK(accepted.load() <= 500);
    CHECK(accepted.load() >= 1);
    CHECK(table.advance("shared", 500, t0, t0 + 300s, t0) == Result::replay);
}

TEST_CASE("thousands of nonces: each remembered, replays refused, all gone once expired", "[nc]") {
    // The shards' tables grow from 16 slots to thousands and shrink again as entries expire.
    NonceCountTable table(8192, 4);
    const int n = 6000;
    for (int i = 0; i < n; ++i) {
        const std::string nonce = "nonce-" + std::to_string(i);
        REQUIRE(table.advance(nonce, 1, t0, t0 + 30s, t0) == Result::accepted);
    }
    CHECK(table.size() == static_cast<std::size_t>(n));
    for (int i = 0; i < n; i += 7) {
        const std::string nonce = "nonce-" + std::to_string(i);
        REQUIRE(table.advance(nonce, 1, t0, t0 + 30s, t0) == Result::replay);
        REQUIRE(table.advance(nonce, 2, t0, t0 + 30s, t0 + 1s) == Result::accepted);
    }
    // Long after: a new nonce drains its shard's expired ones.
    for (int i = 0; i < 64; ++i)
        CHECK(table.advance("late-" + std::to_string(i), 1, t0 + 100s, t0 + 130s, t0 + 100s) ==
              Result::accepted);
    CHECK(table.size() == 64);
    CHECK(table.advance("late-3", 1, t0 + 100s, t0 + 130s, t0 + 101s) == Result::replay);
}
