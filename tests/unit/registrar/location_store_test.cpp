// The LocationStore contract, run against both implementations.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <set>
#include <thread>

#include "store_fixtures.hpp"

using namespace sipproxy::registrar;
using namespace std::chrono_literals;
using sipproxy::registrar::test::MemoryStore;
using sipproxy::registrar::test::SqliteStore;

namespace {

const TimePoint t0 = TimePoint(std::chrono::seconds(1'700'000'000));

Binding binding(std::string aor, std::string contact, TimePoint expires_at,
                std::uint16_t q = 1000) {
    Binding b;
    b.aor = std::move(aor);
    b.contact = std::move(contact);
    b.expires_at = expires_at;
    b.q_permille = q;
    b.call_id = "cid";
    b.cseq = 1;
    b.transport = "udp";
    b.source_address = "192.0.2.1";
    b.source_port = 5060;
    b.registered_at = t0;
    return b;
}

// A Mutation that replaces the bindings with `next`.
LocationStore::Mutation set_to(std::vector<Binding> next) {
    return [next = std::move(next)](std::vector<Binding>& bindings) {
        bindings = next;
        return true;
    };
}

}  // namespace

TEMPLATE_TEST_CASE("location store apply, lookup, remove", "[store]", MemoryStore, SqliteStore) {
    TestType fixture;
    LocationStore& store = fixture.get();

    REQUIRE(store.apply("alice@example.test", t0,
                        set_to({binding("ignored", "sip:a@192.0.2.1", t0 + 60s, 500),
                                binding("", "sip:b@192.0.2.1", t0 + 120s, 800)})));
    CHECK(store.count() == 2);

    auto found = store.lookup("alice@example.test", t0);
    REQUIRE(found.size() == 2);
    CHECK(found[0].contact == "sip:b@192.0.2.1");  // higher q first
    CHECK(found[0].aor == "alice@example.test");   // the store sets the AOR
    CHECK(found[1].aor == "alice@example.test");
    CHECK(store.lookup("bob@example.test", t0).empty());

    SECTION("a mutation that returns false changes nothing") {
        CHECK_FALSE(store.apply("alice@example.test", t0, [](std::vector<Binding>& bindings) {
            bindings.clear();
            return false;
        }));
        CHECK(store.lookup("alice@example.test", t0).size() == 2);
    }

    SECTION("the mutation sees only live bindings; expired ones it leaves are dropped") {
        store.apply("alice@example.test", t0 + 90s, [](std::vector<Binding>& bindings) {
            REQUIRE(bindings.size() == 1);
            CHECK(bindings[0].contact == "sip:b@192.0.2.1");
            bindings.push_back(binding("", "sip:dead@192.0.2.1", t0));
            return true;
        });
        CHECK(store.count() == 1);
    }

    SECTION("an exception in the mutation changes nothing") {
        std::atomic<int> told{0};
        CHECK_THROWS(store.apply(
            "alice@example.test", t0,
            [](std::vector<Binding>& bindings) {
                bindings.clear();
                throw std::runtime_error("boom");
                return true;
            },
            [&](const std::string& error) { told += error.empty() ? 1 : 100; }));
        CHECK(store.lookup("alice@example.test", t0).size() == 2);
        CHECK(told == 1);  // nobody waits for ever
    }

    SECTION("committed is told exactly once per change, and for no change") {
        std::atomic<int> told{0};
        auto count = [&](const std::string& error) { told += error.empty() ? 1 : 100; };
        store.apply("bob@example.test", t0, set_to({binding("", "sip:b@192.0.2.2", t0 + 60s)}),
                    count);
        store.apply(
            "bob@example.test", t0, [](std::vector<Binding>&) { return false; }, count);
        store.remove_aor("bob@example.test", count);
        store.remove_aor("nobody@example.test", count);
        REQUIRE(store.flush());  // after flush() every callback has run
        CHECK(told == 4);
    }

    SECTION("an empty result removes the AOR") {
        store.apply("alice@example.test", t0, set_to({}));
        CHECK(store.count() == 0);
        CHECK(store.list("", t0).empty());
    }

    SECTION("remove_aor") {
        CHECK(store.remove_aor("alice@example.test") == 2);
        CHECK(store.remove_aor("alice@example.test") == 0);
        CHECK(store.count() == 0);
    }

    SECTION("list: all, one AOR, a limit") {
        store.apply("bob@example.test", t0, set_to({binding("", "sip:bob@192.0.2.2", t0 + 60s)}));
        store.apply("aaron@example.test", t0,
                    set_to({binding("", "sip:aaron@192.0.2.3", t0 + 60s)}));
        auto all = store.list("", t0);
        REQUIRE(all.size() == 4);
        CHECK(all[0].aor == "aaron@example.test");
        CHECK(all[1].contact == "sip:b@192.0.2.1");
        CHECK(all[2].contact == "sip:a@192.0.2.1");
        CHECK(all[3].aor == "bob@example.test");
        CHECK(store.list("bob@example.test", t0).size() == 1);
        CHECK(store.list("", t0, 3).size() == 3);
        CHECK(store.list("", t0 + 61s).size() == 1);  // only b, alive until t0+120s
    }

    SECTION("purge_expired") {
        CHECK(store.purge_expired(t0 + 60s) == 1);
        CHECK(store.count() == 1);
        CHECK(store.purge_expired(t0 + 60s) == 0);
        CHECK(store.purge_expired(t0 + 1h) == 1);
        CHECK(store.count() == 0);
    }

    SECTION("flows are indexed, and forgotten with their bindings") {
        auto b = binding("", "sip:c@192.0.2.1", t0 + 60s);
        b.flow_id = 9;
        store.apply("carol@example.test", t0, set_to({b}));
        store.apply("dave@example.test", t0, set_to({b}));
        CHECK(store.aors_using_flow(9) ==
              std::vector<std::string>{"carol@example.test", "dave@example.test"});
        store.remove_aor("carol@example.test");
        CHECK(store.aors_using_flow(9) == std::vector<std::string>{"dave@example.test"});
        store.purge_expired(t0 + 61s);
        CHECK(store.aors_using_flow(9).empty());
    }

    SECTION("load adds bindings as they are") {
        auto c = binding("carol@example.test", "sip:c@192.0.2.1", t0 + 60s);
        c.flow_id = 5;
        store.load({c, binding("carol@example.test", "sip:c2@192.0.2.1", t0 + 60s)});
        CHECK(store.lookup("carol@example.test", t0).size() == 2);
        CHECK(store.aors_using_flow(5) == std::vector<std::string>{"carol@example.test"});
        CHECK(store.count() == 4);
    }
    CHECK(store.flush());
}

TEMPLATE_TEST_CASE("location store keeps every field", "[store]", MemoryStore, SqliteStore) {
    TestType fixture;
    Binding b = binding("alice@example.test", "sip:alice@[2001:db8::1]:5070;transport=tcp",
                        t0 + 3600s, 250);
    b.flow_id = 1234567890123ULL;
    b.user_agent = "Phone \"quoted\" \xc3\xa9";
    b.path = {"<sip:p1.example.test;lr>", "<sip:p2.example.test;lr;ob>"};
    b.instance = "<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";
    b.reg_id = 3;
    b.cseq = 4000000000u;
    b.source_address = "2001:db8::1";
    b.source_port = 65535;
    b.transport = "tls";
    b.registered_at = t0 + 1500ms;
    fixture.get().apply("alice@example.test", t0, set_to({b}));
    auto found = fixture.get().lookup("alice@example.test", t0);
    REQUIRE(found.size() == 1);
    const Binding& f = found[0];
    CHECK(f.contact == b.contact);
    CHECK(f.expires_at == b.expires_at);
    CHECK(f.q_permille == 250);
    CHECK(f.call_id == b.call_id);
    CHECK(f.cseq == b.cseq);
    CHECK(f.transport == b.transport);
    CHECK(f.source_address == b.source_address);
    CHECK(f.source_port == b.source_port);
    CHECK(f.flow_id == b.flow_id);
    CHECK(f.user_agent == b.user_agent);
    CHECK(f.path == b.path);
    CHECK(f.instance == b.instance);
    CHECK(f.reg_id == b.reg_id);
    CHECK(f.registered_at == b.registered_at);
}

TEMPLATE_TEST_CASE("location store under concurrent workers", "[store][threads]", MemoryStore,
                   SqliteStore) {
    TestType fixture;
    LocationStore& store = fixture.get();
    constexpr int kThreads = 4, kAors = 100;
    std::atomic<int> shared_updates{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < kThreads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < kAors; ++i) {
                std::string aor = "u" + std::to_string(t) + "-" + std::to_string(i) + "@x.test";
                store.apply(aor, t0, set_to({binding("", "sip:" + aor, t0 + 60s)}));
                // Every thread appends to one shared AOR: no update may be lost.
                store.apply("shared@x.test", t0, [&](std::vector<Binding>& bindings) {
                    bindings.push_back(
                        binding("", "sip:s" + std::to_string(t * kAors + i) + "@x.test", t0 + 60s));
                    shared_updates.fetch_add(1);
                    return true;
                });
                store.lookup(aor, t0);
            }
        });
    }
    for (auto& w : workers) w.join();
    CHECK(store.count() == static_cast<std::size_t>(2 * kThreads * kAors));
    CHECK(store.lookup("shared@x.test", t0).size() == static_cast<std::size_t>(kThreads * kAors));
    CHECK(store.flush());
}

namespace {

// Every page of list_after from the start, `per_page` AORs at a time; `between` runs after
// each page with the cursor it returned.
std::vector<std::vector<Binding>> all_pages(
    const LocationStore& store, TimePoint now, std::size_t per_page,
    const std::function<void(const std::string& next)>& between = {}) {
    std::vector<std::vector<Binding>> pages;
    std::string after;
    for (int guard = 0; guard < 10000; ++guard) {
        auto page = store.list_after(after, now, per_page);
        pages.push_back(page.bindings);
        if (page.next.empty()) return pages;
        REQUIRE(page.next > after);  // always forward
        after = page.next;
        if (between) between(after);
    }
    FAIL("list_after never ended");
    return pages;
}

std::vector<std::string> aors_of(const std::vector<std::vector<Binding>>& pages) {
    std::vector<std::string> out;
    for (const auto& page : pages)
        for (const auto& b : page)
            if (out.empty() || out.back() != b.aor) out.push_back(b.aor);
    return out;
}

}  // namespace

TEMPLATE_TEST_CASE("location store pages by AOR", "[store][paging]", MemoryStore, SqliteStore) {
    TestType fixture;
    LocationStore& store = fixture.get();
    // 300 AORs inserted out of order (they land in different shards); every third has two
    // bindings, every tenth only an expired one.
    std::vector<std::string> live;
    for (int i = 0; i < 300; ++i) {
        int n = (i * 7919) % 300;  // a permutation of 0..299
        std::string aor = "user" + std::to_string(n) + "@example.test";
        if (n % 10 == 0) {
            store.apply(aor, t0, set_to({binding("", "sip:gone@192.0.2.1", t0 + 1s)}));
            continue;
        }
        std::vector<Binding> bs{binding("", "sip:" + aor, t0 + 60s, 500)};
        if (n % 3 == 0) bs.push_back(binding("", "sip:second-" + aor, t0 + 60s, 900));
        store.apply(aor, t0, set_to(bs));
        live.push_back(aor);
    }
    std::sort(live.begin(), live.end());
    const TimePoint now = t0 + 2s;  // the "every tenth" ones have expired

    for (std::size_t per_page : {1u, 7u, 100u, 270u, 1000u}) {
        DYNAMIC_SECTION("pages of " << per_page) {
            auto pages = all_pages(store, now, per_page);
            auto aors = aors_of(pages);
            CHECK(aors == live);  // in byte order, each once, no expired one
            std::size_t bindings = 0;
            for (const auto& page : pages) {
                std::set<std::string> in_page;
                for (const auto& b : page) in_page.insert(b.aor);
                CHECK(in_page.size() <= per_page);
                bindings += page.size();
                // An AOR's bindings are never split, and in preference order.
                for (std::size_t i = 1; i < page.size(); ++i)
                    if (page[i].aor == page[i - 1].aor)
                        CHECK(page[i - 1].q_permille >= page[i].q_permille);
            }
            CHECK(bindings == store.list("", now).size());
        }
    }

    SECTION("the cursor survives inserts and removals around it") {
        std::set<std::string> removed, added;
        int round = 0;
        auto pages = all_pages(store, now, 25, [&](const std::string& next) {
            // Remove one AOR behind the cursor and one ahead of it; add one on each side.
            auto ahead = std::upper_bound(live.begin(), live.end(), next);
            auto behind = std::lower_bound(live.begin(), live.end(), next);
            if (behind != live.begin()) store.remove_aor(*std::prev(behind));
            if (ahead != live.end() && std::next(ahead) != live.end()) {
                store.remove_aor(*std::next(ahead));
                removed.insert(*std::next(ahead));
            }
            std::string before = "a" + std::to_string(round) + "@example.test";  // < "user"
            std::string after = "zz" + std::to_string(round) + "@example.test";  // > "user"
            store.apply(before, now, set_to({binding("", "sip:x@192.0.2.9", now + 60s)}));
            store.apply(after, now, set_to({binding("", "sip:x@192.0.2.9", now + 60s)}));
            added.insert(after);
            ++round;
        });
        REQUIRE(round > 5);
        auto aors = aors_of(pages);
        CHECK(std::is_sorted(aors.begin(), aors.end()));
        CHECK(std::adjacent_find(aors.begin(), aors.end()) == aors.end());  // each once
        // Every AOR that was there throughout is listed; removed ones ahead are not; the
        // ones added ahead of the cursor are; the ones added behind it are not.
        std::set<std::string> listed(aors.begin(), aors.end());
        for (const auto& aor : live)
            if (!removed.count(aor)) CHECK(listed.count(aor) == 1);
        for (const auto& aor : removed) CHECK(listed.count(aor) == 0);
        for (const auto& aor : added) CHECK(listed.count(aor) == 1);
        for (const auto& aor : listed) CHECK(aor.rfind("a", 0) != 0);
    }

    SECTION("after the last AOR, or past everything: an empty last page") {
        auto page = store.list_after(live.back(), now, 10);
        CHECK(page.bindings.empty());
        CHECK(page.next.empty());
        page = store.list_after("~", now, 10);
        CHECK(page.bindings.empty());
        CHECK(page.next.empty());
        CHECK(store.list_after("", now, 0).bindings.empty());
    }
    CHECK(store.flush());
}
