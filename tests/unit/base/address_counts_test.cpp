#include "base/address_counts.hpp"

#include <catch2/catch.hpp>

using namespace sipproxy;

TEST_CASE("address counts: a cap per address, others unaffected, back to zero") {
    AddressCounts c;
    const auto a = AddressKey::from_v4(0xc0000201), b = AddressKey::from_v4(0xc0000202);
    for (int i = 0; i < 3; ++i) CHECK(c.try_add(a, 3));
    CHECK_FALSE(c.try_add(a, 3));
    CHECK(c.count(a) == 3);
    CHECK(c.try_add(b, 3));
    CHECK(c.try_add(a, 0));  // 0: no cap
    CHECK(c.count(a) == 4);
    for (int i = 0; i < 4; ++i) c.remove(a);
    c.remove(b);
    CHECK(c.count(a) == 0);
    CHECK(c.count(b) == 0);
}

TEST_CASE("address counts: a million sources each pending once do not lock out another") {
    // A spoofed-source flood fills cells evenly (a million over 65536 cells: ~15 each);
    // a quiet source still has room for far more than that under a cap of 1000.
    AddressCounts c;
    for (std::uint32_t i = 0; i < 1000000; ++i) c.try_add(AddressKey::from_v4(0x0a000000u + i), 1000);
    const auto quiet = AddressKey::from_v4(0xc0000201);
    CHECK(c.count(quiet) < 100);
    CHECK(c.try_add(quiet, 1000));
}
