// SlotTable against std::unordered_map under random inserts, lookups and erases: the
// probing, the tombstones, growing and shrinking must never lose or invent an entry.
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <unordered_map>

#include "base/slot_table.hpp"

using sipproxy::SlotTable;

TEST_CASE("SlotTable agrees with std::unordered_map over a random workload") {
    SlotTable<int> table(16);
    std::unordered_map<std::string, int> model;
    std::mt19937 rng(42);
    auto key = [&](unsigned k) { return "z9hG4bK-branch-" + std::to_string(k) + "|127.0.0.1:5060|1"; };
    for (int step = 0; step < 200000; ++step) {
        const unsigned k = rng() % 5000;
        switch (rng() % 4) {
            case 0:
            case 1: {  // insert or overwrite
                auto [e, added] = table.try_emplace(key(k));
                CHECK(added == (model.count(key(k)) == 0));
                e->second = step;
                model[key(k)] = step;
                break;
            }
            case 2: {  // erase
                auto* e = table.find(key(k));
                REQUIRE((e != nullptr) == (model.count(key(k)) == 1));
                if (e) {
                    table.erase(e);
                    model.erase(key(k));
                }
                break;
            }
            default: {  // lookup
                auto* e = table.find(key(k));
                auto it = model.find(key(k));
                REQUIRE((e != nullptr) == (it != model.end()));
                if (e) CHECK(e->second == it->second);
            }
        }
        if (step % 10000 == 0) table.shrink();
    }
    CHECK(table.size() == model.size());
    std::size_t seen = 0;
    table.for_each([&](const auto& e) {
        ++seen;
        CHECK(model.at(e.first) == e.second);
    });
    CHECK(seen == model.size());
}

TEST_CASE("SlotTable grows under load and shrinks back when emptied") {
    SlotTable<int> table(16);
    for (int i = 0; i < 100000; ++i) table.try_emplace("k" + std::to_string(i)).first->second = i;
    CHECK(table.size() == 100000);
    CHECK(table.capacity() >= 100000 * 8 / 7);
    table.erase_if([](const auto& e) { return e.second % 1000 != 0; });
    CHECK(table.size() == 100);
    table.shrink();
    CHECK(table.capacity() <= 1024);
    for (int i = 0; i < 100000; i += 1000) {
        auto* e = table.find("k" + std::to_string(i));
        REQUIRE(e);
        CHECK(e->second == i);
    }
    CHECK(table.find("k1") == nullptr);
    CHECK(table.count("k0") == 1);
}
