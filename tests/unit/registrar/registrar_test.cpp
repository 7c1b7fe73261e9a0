// RFC 3261 10.3 and RFC 5626 registrar rules, run against both location stores.
#include "registrar/registrar.hpp"

#include <catch2/catch.hpp>

#include "store_fixtures.hpp"

using namespace sipproxy::registrar;
using namespace std::chrono_literals;
using sipproxy::registrar::test::MemoryStore;
using sipproxy::registrar::test::SqliteStore;

namespace {

const TimePoint t0 = TimePoint(std::chrono::seconds(1'700'000'000));

ContactSpec contact(std::string uri, std::optional<std::uint32_t> expires = std::nullopt) {
    ContactSpec c;
    c.uri = std::move(uri);
    c.expires = expires;
    c.raw = "<" + c.uri + ">";
    return c;
}

ContactSpec outbound(std::string uri, std::string instance, std::uint32_t reg_id) {
    ContactSpec c = contact(std::move(uri));
    c.instance = std::move(instance);
    c.reg_id = reg_id;
    return c;
}

RegisterRequest reg(std::vector<ContactSpec> contacts, std::uint32_t cseq,
                    std::string call_id = "call-1@ua", TimePoint now = t0) {
    RegisterRequest r;
    r.aor = "alice@example.test";
    r.contacts = std::move(contacts);
    r.call_id = std::move(call_id);
    r.cseq = cseq;
    r.source = {"udp", "203.0.113.7", 40000, 0};
    r.user_agent = "TestPhone/1.0";
    r.now = now;
    return r;
}

RegistrarOptions options() {
    RegistrarOptions o;
    o.min_expires = 60;
    o.max_expires = 7200;
    o.default_expires = 3600;
    o.max_contacts = 10;
    return o;
}

}  // namespace

TEMPLATE_TEST_CASE("registrar adds, refreshes and removes bindings", "[registrar]", MemoryStore,
                   SqliteStore) {
    TestType fixture;
    Registrar registrar(fixture.get(), options());

    auto r = registrar.handle(reg({contact("sip:alice@198.51.100.1:5060")}, 1));
    REQUIRE(r.status == 200);
    REQUIRE(r.bindings.size() == 1);
    CHECK(r.bindings[0].expires_in == 3600);  // default_expires
    const Binding& b = r.bindings[0].binding;
    CHECK(b.aor == "alice@example.test");
    CHECK(b.contact == "sip:alice@198.51.100.1:5060");
    CHECK(b.source_address == "203.0.113.7");
    CHECK(b.source_port == 40000);
    CHECK(b.transport == "udp");
    CHECK(b.user_agent == "TestPhone/1.0");
    CHECK(b.registered_at == t0);

    SECTION("lookup sees it, with any case in the domain") {
        auto found = registrar.lookup("alice@EXAMPLE.test", t0 + 10s);
        REQUIRE(found.size() == 1);
        CHECK(found[0].contact == "sip:alice@198.51.100.1:5060");
    }

    SECTION("a refresh of the same URI (host case differs) updates the one binding") {
        auto req = reg({contact("SIP:alice@198.51.100.1:5060", 1800)}, 2, "call-1@ua", t0 + 100s);
        auto r2 = registrar.handle(req);
        REQUIRE(r2.status == 200);
        REQUIRE(r2.bindings.size() == 1);
        CHECK(r2.bindings[0].expires_in == 1800);
        CHECK(r2.bindings[0].binding.cseq == 2);
        CHECK(r2.bindings[0].binding.expires_at == t0 + 100s + 1800s);
    }

    SECTION("a different user part is a different binding") {
        auto r2 = registrar.handle(reg({contact("sip:ALICE@198.51.100.1:5060")}, 2));
        CHECK(r2.bindings.size() == 2);
    }

    SECTION("expires=0 removes that binding only") {
        registrar.handle(reg({contact("sip:alice@192.0.2.9")}, 2));
        REQUIRE(registrar.lookup("alice@example.test", t0).size() == 2);
        auto r2 = registrar.handle(reg({contact("sip:alice@198.51.100.1:5060", 0)}, 3));
        REQUIRE(r2.status == 200);
        REQUIRE(r2.bindings.size() == 1);
        CHECK(r2.bindings[0].binding.contact == "sip:alice@192.0.2.9");
    }

    SECTION("Expires: 0 header removes the contacts without their own expires") {
        auto req = reg({contact("sip:alice@198.51.100.1:5060")}, 2);
        req.expires = 0;
        CHECK(registrar.handle(req).bindings.empty());
        CHECK(registrar.lookup("alice@example.test", t0).empty());
    }

    SECTION("removing an unknown binding is fine") {
        auto r2 = registrar.handle(reg({contact("sip:nobody@192.0.2.1", 0)}, 2));
        CHECK(r2.status == 200);
        CHECK(r2.bindings.size() == 1);
    }

    SECTION("a query returns the bindings and changes nothing") {
        auto q = registrar.handle(reg({}, 1, "other-call", t0 + 600s));
        REQUIRE(q.status == 200);
        REQUIRE(q.bindings.size() == 1);
        CHECK(q.bindings[0].expires_in == 3000);
        CHECK(q.bindings[0].binding.cseq == 1);
    }
}

TEMPLATE_TEST_CASE("registrar expiration intervals", "[registrar]", MemoryStore, SqliteStore) {
    TestType fixture;
    Registrar registrar(fixture.get(), options());

    SECTION("the Expires header applies to contacts without an expires param") {
        auto req = reg({contact("sip:a@192.0.2.1"), contact("sip:b@192.0.2.1", 120)}, 1);
        req.expires = 300;
        auto r = registrar.handle(req);
        REQUIRE(r.bindings.size() == 2);
        for (const auto& cb : r.bindings)
            CHECK(cb.expires_in == (cb.binding.contact == "sip:a@192.0.2.1" ? 300u : 120u));
    }

    SECTION("longer than max_expires is lowered") {
        auto r = registrar.handle(reg({contact("sip:a@192.0.2.1", 100000)}, 1));
        REQUIRE(r.bindings.size() == 1);
        CHECK(r.bindings[0].expires_in == 7200);
    }

    SECTION("shorter than min_expires: 423 with Min-Expires, nothing stored") {
        auto req = reg({contact("sip:a@192.0.2.1", 3600), contact("sip:b@192.0.2.1", 30)}, 1);
        auto r = registrar.handle(req);
        CHECK(r.status == 423);
        CHECK(r.reason == "Interval Too Brief");
        CHECK(r.min_expires == 60);
        CHECK(registrar.lookup("alice@example.test", t0).empty());
    }

    SECTION("a short Expires header gives 423 too") {
        auto req = reg({contact("sip:a@192.0.2.1")}, 1);
        req.expires = 59;
        CHECK(registrar.handle(req).status == 423);
        req.expires = 60;
        CHECK(registrar.handle(req).status == 200);
    }

    SECTION("lookups never return an expired binding, even before a purge") {
        registrar.handle(reg({contact("sip:a@192.0.2.1", 60), contact("sip:b@192.0.2.1", 600)}, 1));
        CHECK(registrar.lookup("alice@example.test", t0 + 59s).size() == 2);
        auto later = registrar.lookup("alice@example.test", t0 + 60s);
        REQUIRE(later.size() == 1);
        CHECK(later[0].contact == "sip:b@192.0.2.1");
        CHECK(fixture.get().count() == 2);  // still held until purged
        CHECK(fixture.get().list("", t0 + 60s).size() == 1);

        CHECK(registrar.purge_expired(t0 + 60s) == 1);
        CHECK(fixture.get().count() == 1);
        CHECK(registrar.purge_expired(t0 + 600s) == 1);
        CHECK(fixture.get().count() == 0);
    }

    SECTION("an expired binding does not count as an existing one") {
        registrar.handle(reg({contact("sip:a@192.0.2.1", 60)}, 5));
        // Same Call-ID, lower CSeq: would be out of order if the old binding were alive.
        auto r = registrar.handle(reg({contact("sip:a@192.0.2.1", 60)}, 1, "call-1@ua", t0 + 61s));
        CHECK(r.status == 200);
    }
}

TEMPLATE_TEST_CASE("registrar Call-ID and CSeq ordering", "[registrar]", MemoryStore, SqliteStore) {
    TestType fixture;
    Registrar registrar(fixture.get(), options());
    REQUIRE(registrar.handle(reg({contact("sip:a@192.0.2.1")}, 10)).ok());

    SECTION("same Call-ID, same or lower CSeq: 500 and nothing changes") {
        for (std::uint32_t cseq : {10u, 9u}) {
            auto r = registrar.handle(
                reg({contact("sip:b@192.0.2.1"), contact("sip:a@192.0.2.1", 0)}, cseq));
            CHECK(r.status == 500);
            CHECK(r.reason == "Out of order CSeq");
            auto now = registrar.lookup("alice@example.test", t0);
            REQUIRE(now.size() == 1);
            CHECK(now[0].contact == "sip:a@192.0.2.1");
        }
    }

    SECTION("same Call-ID, higher CSeq: accepted") {
        CHECK(registrar.handle(reg({contact("sip:a@192.0.2.1", 0)}, 11)).ok());
        CHECK(registrar.lookup("alice@example.test", t0).empty());
    }

    SECTION("another Call-ID updates whatever its CSeq") {
        auto r = registrar.handle(reg({contact("sip:a@192.0.2.1", 120)}, 1, "rebooted@ua"));
        REQUIRE(r.ok());
        CHECK(r.bindings[0].binding.call_id == "rebooted@ua");
        CHECK(r.bindings[0].expires_in == 120);
    }

    SECTION("the same contact twice in one request is not out of order") {
        auto r = registrar.handle(
            reg({contact("sip:a@192.0.2.1", 300), contact("sip:a@192.0.2.1", 400)}, 11));
        REQUIRE(r.ok());
        REQUIRE(r.bindings.size() == 1);
        CHECK(r.bindings[0].expires_in == 400);
    }
}

TEMPLATE_TEST_CASE("registrar Contact: *", "[registrar]", MemoryStore, SqliteStore) {
    TestType fixture;
    Registrar registrar(fixture.get(), options());
    REQUIRE(
        registrar.handle(reg({contact("sip:a@192.0.2.1"), contact("sip:b@192.0.2.1")}, 5)).ok());
    REQUIRE(registrar.handle(reg({contact("sip:c@192.0.2.1")}, 1, "other@ua")).ok());

    auto star = [](std::uint32_t cseq, std::optional<std::uint32_t> expires,
                   std::string call_id = "call-1@ua") {
        auto r = reg({}, cseq, std::move(call_id));
        r.star = true;
        r.expires = expires;
        return r;
    };

    SECTION("without Expires: 0 it is a 400") {
        auto r = registrar.handle(star(6, std::nullopt));
        CHECK(r.status == 400);
        CHECK(r.reason == "* requires Expires: 0");
        CHECK(registrar.handle(star(6, 3600)).status == 400);
    }

    SECTION("with other contacts it is a 400") {
        auto req = star(6, 0);
        req.contacts.push_back(contact("sip:a@192.0.2.1"));
        auto r = registrar.handle(req);
        CHECK(r.status == 400);
        CHECK(r.reason == "Invalid Contact: * with other contacts");
    }

    SECTION("with Expires: 0 it removes every binding") {
        auto r = registrar.handle(star(6, 0));
        CHECK(r.status == 200);
        CHECK(r.bindings.empty());
        CHECK(registrar.lookup("alice@example.test", t0).empty());
    }

    SECTION("an old CSeq on one of the Call-IDs aborts it all") {
        auto r = registrar.handle(star(5, 0));
        CHECK(r.status == 500);
        CHECK(registrar.lookup("alice@example.test", t0).size() == 3);
    }

    SECTION("from a third Call-ID it removes everything") {
        CHECK(registrar.handle(star(1, 0, "cleanup@ua")).ok());
        CHECK(registrar.lookup("alice@example.test", t0).empty());
    }
}

TEMPLATE_TEST_CASE("registrar q ordering", "[registrar]", MemoryStore, SqliteStore) {
    TestType fixture;
    Registrar registrar(fixture.get(), options());
    auto low = contact("sip:low@192.0.2.1");
    low.q_permille = 100;
    auto high = contact("sip:high@192.0.2.1");
    high.q_permille = 900;
    auto plain = contact("sip:plain@192.0.2.1");  // q absent = 1.0
    auto r = registrar.handle(reg({low, high, plain}, 1));
    REQUIRE(r.bindings.size() == 3);
    CHECK(r.bindings[0].binding.contact == "sip:plain@192.0.2.1");
    CHECK(r.bindings[1].binding.contact == "sip:high@192.0.2.1");
    CHECK(r.bindings[2].binding.contact == "sip:low@192.0.2.1");

    auto found = registrar.lookup("alice@example.test", t0);
    REQUIRE(found.size() == 3);
    CHECK(found[0].q_permille == 1000);
    CHECK(found[1].q_permille == 900);
    CHECK(found[2].q_permille == 100);

    SECTION("equal q: the most recent registration first") {
        registrar.handle(reg({contact("sip:newer@192.0.2.1")}, 2, "call-1@ua", t0 + 5s));
        auto again = registrar.lookup("alice@example.test", t0 + 5s);
        REQUIRE(again.size() == 4);
        CHECK(again[0].contact == "sip:newer@192.0.2.1");
        CHECK(again[1].contact == "sip:plain@192.0.2.1");
    }
}

TEMPLATE_TEST_CASE("registrar max_contacts", "[registrar]", MemoryStore, SqliteStore) {
    TestType fixture;
    auto o = options();
    o.max_contacts = 2;
    Registrar registrar(fixture.get(), o);
    REQUIRE(registrar.handle(reg({contact("sip:long@192.0.2.1", 3600)}, 1, "a")).ok());
    REQUIRE(registrar.handle(reg({contact("sip:short@192.0.2.1", 600)}, 1, "b")).ok());

    SECTION("a third contact evicts the one that expires soonest") {
        auto r = registrar.handle(reg({contact("sip:third@192.0.2.1", 1200)}, 1, "c"));
        REQUIRE(r.ok());
        CHECK(r.evicted == 1);
        REQUIRE(r.bindings.size() == 2);
        auto found = registrar.lookup("alice@example.test", t0);
        REQUIRE(found.size() == 2);
        for (const auto& b : found) CHECK(b.contact != "sip:short@192.0.2.1");
    }

    SECTION("a refresh within the limit evicts nothing") {
        auto r = registrar.handle(reg({contact("sip:short@192.0.2.1", 600)}, 2, "b"));
        CHECK(r.evicted == 0);
        CHECK(r.bindings.size() == 2);
    }

    SECTION("more new contacts in one request than allowed: 403, nothing changes") {
        auto r = registrar.handle(reg(
            {contact("sip:x@192.0.2.1"), contact("sip:y@192.0.2.1"), contact("sip:z@192.0.2.1")}, 1,
            "d"));
        CHECK(r.status == 403);
        CHECK(registrar.lookup("alice@example.test", t0).size() == 2);
    }

    SECTION("equal expiry: the oldest registration goes") {
        auto later = t0 + 3000s;  // long expires at t0+3600, refresh short to the same time
        REQUIRE(registrar.handle(reg({contact("sip:short@192.0.2.1", 600)}, 2, "b", later)).ok());
        auto r = registrar.handle(reg({contact("sip:new@192.0.2.1", 3600)}, 1, "e", later));
        REQUIRE(r.ok());
        auto found = registrar.lookup("alice@example.test", later);
        REQUIRE(found.size() == 2);
        for (const auto& b : found) CHECK(b.contact != "sip:long@192.0.2.1");
    }
}

TEMPLATE_TEST_CASE("registrar RFC 5626 instance and reg-id", "[registrar][outbound]", MemoryStore,
                   SqliteStore) {
    TestType fixture;
    Registrar registrar(fixture.get(), options());
    const std::string inst = "\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\"";

    auto first = reg({outbound("sip:alice@10.0.0.5:5060;transport=tcp", inst, 1)}, 1, "c1");
    first.source = {"tcp", "203.0.113.7", 40001, 77};
    REQUIRE(registrar.handle(first).ok());
    auto b = registrar.lookup("alice@example.test", t0);
    REQUIRE(b.size() == 1);
    CHECK(b[0].instance == "<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>");  // unquoted
    CHECK(b[0].reg_id == 1);
    CHECK(b[0].flow_id == 77);
    CHECK(b[0].outbound());

    SECTION("same instance and reg-id on a new flow replaces the binding") {
        auto again = reg({outbound("sip:alice@10.0.0.6:5060;transport=tcp", inst, 1)}, 1, "c2");
        again.source = {"tcp", "203.0.113.8", 40002, 78};
        REQUIRE(registrar.handle(again).ok());
        auto now = registrar.lookup("alice@example.test", t0);
        REQUIRE(now.size() == 1);
        CHECK(now[0].contact == "sip:alice@10.0.0.6:5060;transport=tcp");
        CHECK(now[0].flow_id == 78);
        CHECK(fixture.get().aors_using_flow(77).empty());
        CHECK(fixture.get().aors_using_flow(78) == std::vector<std::string>{"alice@example.test"});
    }

    SECTION("another reg-id of the same instance is a second flow") {
        auto second = reg({outbound("sip:alice@10.0.0.5:5060;transport=tcp", inst, 2)}, 1, "c3");
        second.source = {"tcp", "198.51.100.9", 5061, 79};
        REQUIRE(registrar.handle(second).ok());
        CHECK(registrar.lookup("alice@example.test", t0).size() == 2);
    }

    SECTION("an instance without reg-id replaces the binding of that instance") {
        const std::string other = "\"<urn:uuid:11111111-0000-1000-8000-000000000000>\"";
        REQUIRE(registrar.handle(reg({outbound("sip:alice@10.0.0.7", other, 0)}, 1, "d1")).ok());
        REQUIRE(registrar.handle(reg({outbound("sip:alice@10.0.0.8", other, 0)}, 1, "d2")).ok());
        auto now = registrar.lookup("alice@example.test", t0);
        REQUIRE(now.size() == 2);  // the reg-id 1 flow and one binding for `other`
        int of_other = 0;
        for (const auto& x : now) {
            if (x.instance != "<urn:uuid:11111111-0000-1000-8000-000000000000>") continue;
            ++of_other;
            CHECK(x.contact == "sip:alice@10.0.0.8");
            CHECK(x.reg_id == 0);
        }
        CHECK(of_other == 1);
    }

    SECTION("reg-id without an instance is ignored") {
        auto r = registrar.handle(reg({outbound("sip:bob@10.0.0.9", "", 3)}, 1, "e1"));
        REQUIRE(r.ok());
        for (const auto& x : r.bindings)
            if (x.binding.contact == "sip:bob@10.0.0.9") CHECK(x.binding.reg_id == 0);
    }

    SECTION("Path is stored with the binding") {
        auto withpath = reg({outbound("sip:alice@10.0.0.5:5060;transport=tcp", inst, 1)}, 2, "c1");
        withpath.path = {"<sip:edge1.example.test;lr;ob>", "<sip:edge2.example.test;lr>"};
        REQUIRE(registrar.handle(withpath).ok());
        auto now = registrar.lookup("alice@example.test", t0);
        REQUIRE(now.size() == 1);
        CHECK(now[0].path == withpath.path);
    }
}

TEMPLATE_TEST_CASE("registrar flow failure", "[registrar][outbound]", MemoryStore, SqliteStore) {
    TestType fixture;
    Registrar registrar(fixture.get(), options());
    const std::string inst = "<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";

    auto ob = reg({outbound("sip:alice@10.0.0.5;transport=tcp", inst, 1)}, 1, "c1");
    ob.source = {"tcp", "203.0.113.7", 40001, 42};
    REQUIRE(registrar.handle(ob).ok());
    auto plain = reg({contact("sip:alice@10.0.0.6;transport=tcp")}, 1, "c2");
    plain.source = {"tcp", "203.0.113.7", 40001, 42};
    REQUIRE(registrar.handle(plain).ok());
    auto other_flow = reg({outbound("sip:alice@10.0.0.5;transport=tcp", inst, 2)}, 1, "c3");
    other_flow.source = {"tcp", "203.0.113.7", 40002, 43};
    REQUIRE(registrar.handle(other_flow).ok());
    auto bob = reg({outbound("sip:bob@10.0.0.9;transport=tcp", inst, 1)}, 1, "c4");
    bob.aor = "bob@example.test";
    bob.source = {"tcp", "203.0.113.9", 40009, 42};
    REQUIRE(registrar.handle(bob).ok());

    CHECK(fixture.get().aors_using_flow(42) ==
          std::vector<std::string>{"alice@example.test", "bob@example.test"});
    CHECK(registrar.flow_failed(42, t0) == 2);

    auto alice = registrar.lookup("alice@example.test", t0);
    REQUIRE(alice.size() == 2);
    for (const auto& b : alice) {
        if (b.reg_id == 2)
            CHECK(b.flow_id == 43);  // the other flow stays
        else
            CHECK((b.reg_id == 0 && b.flow_id == 0));  // forgets the closed flow
    }
    CHECK(registrar.lookup("bob@example.test", t0).empty());
    CHECK(fixture.get().aors_using_flow(42).empty());
    CHECK(registrar.flow_failed(42, t0) == 0);
    CHECK(registrar.flow_failed(0, t0) == 0);
}

TEST_CASE("registrar rejects a REGISTER without AOR or with an empty Contact", "[registrar]") {
    MemoryLocationStore store;
    Registrar registrar(store, options());
    auto r = reg({contact("sip:a@192.0.2.1")}, 1);
    r.aor.clear();
    CHECK(registrar.handle(r).status == 400);
    CHECK(registrar.handle(reg({contact("")}, 1)).status == 400);
    CHECK(store.count() == 0);
}

TEMPLATE_TEST_CASE("registrar reports what changed, not the refreshes", "[registrar]", MemoryStore,
                   SqliteStore) {
    TestType fixture;
    auto o = options();
    o.max_contacts = 2;
    Registrar registrar(fixture.get(), o);
    using K = BindingChange::Kind;

    auto r = registrar.handle(reg({contact("sip:alice@198.51.100.1:5060")}, 1));
    REQUIRE(r.changes.size() == 1);
    CHECK(r.changes[0].kind == K::Added);
    CHECK(r.changes[0].binding.aor == "alice@example.test");
    CHECK(r.changes[0].binding.contact == "sip:alice@198.51.100.1:5060");
    CHECK(r.changes[0].expires == 3600);

    // A refresh (the host's case may differ: the same URI) is no change.
    r = registrar.handle(reg({contact("sip:alice@198.51.100.1:5060", 1800)}, 2, "call-1@ua", t0 + 60s));
    REQUIRE(r.ok());
    CHECK(r.changes.empty());
    r = registrar.handle(reg({contact("SIP:alice@198.51.100.1:5060")}, 3, "call-1@ua", t0 + 90s));
    CHECK(r.changes.empty());

    // A query changes nothing.
    CHECK(registrar.handle(reg({}, 4)).changes.empty());

    // A third contact evicts the oldest-expiring one (max_contacts = 2).
    registrar.handle(reg({contact("sip:alice@192.0.2.2")}, 5));
    r = registrar.handle(reg({contact("sip:alice@192.0.2.3")}, 6, "call-1@ua", t0 + 100s));
    REQUIRE(r.changes.size() == 2);
    CHECK(r.changes[0].kind == K::Evicted);
    CHECK(r.changes[1].kind == K::Added);
    CHECK(r.changes[1].binding.contact == "sip:alice@192.0.2.3");

    // expires=0 of one: Removed; a removal of a binding that does not exist: nothing.
    r = registrar.handle(reg({contact("sip:alice@192.0.2.3", 0), contact("sip:alice@192.0.2.99", 0)}, 7));
    REQUIRE(r.changes.size() == 1);
    CHECK(r.changes[0].kind == K::Removed);
    CHECK(r.changes[0].binding.contact == "sip:alice@192.0.2.3");
    CHECK(r.changes[0].binding.user_agent == "TestPhone/1.0");

    // A failed request reports nothing (out of order CSeq).
    r = registrar.handle(reg({contact("sip:alice@192.0.2.4"), contact("sip:alice@198.51.100.1:5060")}, 2));
    CHECK(r.status == 500);
    CHECK(r.changes.empty());
}

TEMPLATE_TEST_CASE("registrar reports an instance that moved and Contact: *", "[registrar]",
                   MemoryStore, SqliteStore) {
    TestType fixture;
    Registrar registrar(fixture.get(), options());
    using K = BindingChange::Kind;
    registrar.handle(reg({outbound("sip:alice@192.0.2.1", "<urn:uuid:1>", 1)}, 1));
    auto r = registrar.handle(reg({outbound("sip:alice@192.0.2.50", "<urn:uuid:1>", 1)}, 2));
    REQUIRE(r.changes.size() == 1);
    CHECK(r.changes[0].kind == K::Updated);
    CHECK(r.changes[0].binding.contact == "sip:alice@192.0.2.50");

    registrar.handle(reg({contact("sip:alice@192.0.2.7")}, 3));
    auto star = reg({}, 4);
    star.star = true;
    star.expires = 0;
    r = registrar.handle(star);
    REQUIRE(r.ok());
    REQUIRE(r.changes.size() == 2);
    CHECK(r.changes[0].kind == K::Removed);
    CHECK(r.changes[1].kind == K::Removed);
}

TEMPLATE_TEST_CASE("a store's purge shows each expired binding", "[registrar]", MemoryStore,
                   SqliteStore) {
    TestType fixture;
    Registrar registrar(fixture.get(), options());
    registrar.handle(reg({contact("sip:alice@192.0.2.1", 60), contact("sip:alice@192.0.2.2", 600)}, 1));
    std::vector<Binding> expired;
    CHECK(fixture.get().purge_expired(t0 + 61s, [&](const Binding& b) { expired.push_back(b); }) == 1);
    REQUIRE(expired.size() == 1);
    CHECK(expired[0].contact == "sip:alice@192.0.2.1");
    CHECK(expired[0].aor == "alice@example.test");
    CHECK(expired[0].source_address == "203.0.113.7");
}

TEST_CASE("registrar: a refresh taken here makes this node the binding's node", "[registrar]") {
    // A binding another cluster node took (its connection is there) refreshed through this
    // node: its flow is here now, so `node` is "" (this node) again.
    MemoryStore fixture;
    Binding other;
    other.aor = "alice@example.test";
    other.contact = "sip:alice@198.51.100.1:5060";
    other.expires_at = t0 + 3600s;
    other.call_id = "call-1@ua";
    other.cseq = 1;
    other.node = "edge-2";
    fixture.get().load({other});
    CHECK(fixture.get().lookup("alice@example.test", t0)[0].node == "edge-2");
    Registrar registrar(fixture.get(), options());
    auto r = registrar.handle(reg({contact("sip:alice@198.51.100.1:5060")}, 2));
    REQUIRE(r.status == 200);
    auto found = fixture.get().lookup("alice@example.test", t0);
    REQUIRE(found.size() == 1);
    CHECK(found[0].node.empty());
}

TEMPLATE_TEST_CASE("registrar tells a refresh reached the same way from any other change",
                   "[registrar]", MemoryStore, SqliteStore) {
    // refresh_only lets the proxy answer before the store's commit: only when a crash before
    // it would bring back nothing but the earlier expiry.
    TestType fixture;
    Registrar registrar(fixture.get(), options());
    const std::string uri = "sip:alice@198.51.100.1:5060";

    auto r = registrar.handle(reg({contact(uri)}, 1));
    REQUIRE(r.ok());
    CHECK_FALSE(r.refresh_only);  // a new binding

    // Same contact, same source: a refresh, also with a new Call-ID and expiry.
    r = registrar.handle(reg({contact(uri, 1800)}, 2, "call-1@ua", t0 + 60s));
    REQUIRE(r.ok());
    CHECK(r.refresh_only);
    r = registrar.handle(reg({contact(uri)}, 1, "call-2@ua", t0 + 70s));
    REQUIRE(r.ok());
    CHECK(r.refresh_only);

    // Anything that changes how the binding is reached is not.
    auto moved = reg({contact(uri)}, 3, "call-2@ua", t0 + 80s);
    moved.source.port = 40001;  // a new NAT mapping
    r = registrar.handle(moved);
    REQUIRE(r.ok());
    CHECK_FALSE(r.refresh_only);
    auto tcp = reg({contact(uri)}, 4, "call-2@ua", t0 + 90s);
    tcp.source = {"tcp", "203.0.113.7", 40001, 17};
    r = registrar.handle(tcp);
    CHECK_FALSE(r.refresh_only);
    auto with_q = reg({contact(uri)}, 5, "call-2@ua", t0 + 100s);
    with_q.source = tcp.source;
    with_q.contacts[0].q_permille = 500;
    r = registrar.handle(with_q);
    CHECK_FALSE(r.refresh_only);
    auto with_path = with_q;
    with_path.cseq = 6;
    with_path.path = {"<sip:edge.example.test;lr>"};
    r = registrar.handle(with_path);
    CHECK_FALSE(r.refresh_only);
    with_path.cseq = 7;
    r = registrar.handle(with_path);  // the same again: a refresh
    CHECK(r.refresh_only);

    // A second contact added, one removed, a query, a refusal: not refreshes.
    auto two = with_path;
    two.cseq = 8;
    two.contacts.push_back(contact("sip:alice@192.0.2.9"));
    r = registrar.handle(two);
    CHECK_FALSE(r.refresh_only);
    auto remove = with_path;
    remove.cseq = 9;
    remove.contacts = {contact("sip:alice@192.0.2.9", 0)};
    r = registrar.handle(remove);
    REQUIRE(r.ok());
    CHECK_FALSE(r.refresh_only);
    CHECK_FALSE(registrar.handle(reg({}, 10, "call-2@ua", t0 + 110s)).refresh_only);
    r = registrar.handle(reg({contact(uri, 10)}, 11, "call-2@ua", t0 + 110s));
    CHECK(r.status == 423);
    CHECK_FALSE(r.refresh_only);
}
