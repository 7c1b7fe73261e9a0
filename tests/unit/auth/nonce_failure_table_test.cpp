#include "auth/nonce_failure_table.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

using namespace sipproxy::auth;
using namespace std::chrono_literals;

namespace {
const Time t0 = Time(1000000s);
}

TEST_CASE("a nonce is spent after `limit` failures", "[nonce_failures]") {
    NonceFailureTable t(3, 64, 4);
    CHECK(!t.spent("n1"));
    t.record("n1", t0 + 300s, t0);
    t.record("n1", t0 + 300s, t0);
    CHECK(!t.spent("n1"));
    t.record("n1", t0 + 300s, t0);
    CHECK(t.spent("n1"));
    CHECK(!t.spent("n2"));
}

TEST_CASE("the table is bounded and drops expired nonces", "[nonce_failures]") {
    NonceFailureTable t(1, 16, 1);
    for (int i = 0; i < 1000; ++i) t.record("n" + std::to_string(i), t0 + 300s, t0);
    CHECK(t.size() <= t.capacity());
    CHECK(t.capacity() == 16);
    CHECK(t.spent("n999"));  // the newest are remembered
    CHECK(!t.spent("n0"));   // the oldest were forgotten
    // Expired entries go first when new ones arrive.
    NonceFailureTable e(1, 16, 1);
    e.record("old", t0 + 10s, t0);
    e.record("new", t0 + 400s, t0 + 20s);
    CHECK(e.size() == 1);
    CHECK(e.spent("new"));
}

TEST_CASE("concurrent failures are all counted", "[nonce_failures]") {
    NonceFailureTable t(4000, 64, 4);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            for (int k = 0; k < 1000; ++k) t.record("shared", t0 + 300s, t0);
        });
    for (auto& th : threads) th.join();
    CHECK(t.spent("shared"));
}
