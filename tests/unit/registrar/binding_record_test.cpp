// The text form of a binding in Redis: round trip, escapes, and refusal of what is not one.
#include "registrar/binding_record.hpp"

#include <catch2/catch.hpp>

using namespace sipproxy::registrar;

TEST_CASE("binding record: every field survives the round trip, tabs and newlines included") {
    Binding b;
    b.aor = "alice@example.test";
    b.contact = "sip:alice@192.0.2.1:5060;ob";
    b.expires_at = TimePoint(std::chrono::milliseconds(1767225600123));
    b.registered_at = TimePoint(std::chrono::milliseconds(1767222000456));
    b.q_permille = 500;
    b.call_id = "c\tall\nid\\x";
    b.cseq = 42;
    b.transport = "tcp";
    b.source_address = "2001:db8::1";
    b.source_port = 5062;
    b.flow_id = 77;  // node-local: not written
    b.user_agent = "Phone 1.0";
    b.path = {"<sip:p1.test;lr>", "<sip:p2.test;lr>"};
    b.instance = "<urn:uuid:1234>";
    b.reg_id = 1;
    std::string node;
    auto d = decode_binding("alice@example.test", encode_binding(b, "edge-1"), &node);
    REQUIRE(d);
    CHECK(node == "edge-1");
    CHECK(d->node == "edge-1");
    CHECK(d->aor == b.aor);
    CHECK(d->contact == b.contact);
    CHECK(d->expires_at == b.expires_at);
    CHECK(d->registered_at == b.registered_at);
    CHECK(d->q_permille == 500);
    CHECK(d->call_id == b.call_id);
    CHECK(d->cseq == 42);
    CHECK(d->transport == "tcp");
    CHECK(d->source_address == b.source_address);
    CHECK(d->source_port == 5062);
    CHECK(d->flow_id == 0);
    CHECK(d->user_agent == b.user_agent);
    CHECK(d->path == b.path);
    CHECK(d->instance == b.instance);
    CHECK(d->reg_id == 1);
    CHECK(encode_binding(b, "x").find('\n') == std::string::npos);
}

TEST_CASE("binding record: what is not a record of this version is refused") {
    CHECK_FALSE(decode_binding("a@b", ""));
    CHECK_FALSE(decode_binding("a@b", "2\tsip:x"));
    CHECK_FALSE(decode_binding("a@b", "1\tsip:x\tnotanumber\t1000\tc\t1\tudp\t1.2.3.4\t5060\tua\t\t0\t0\tn"));
    CHECK_FALSE(decode_binding("a@b", "1\tsip:x\t1\t1000\tc\t1\tudp\t1.2.3.4\t5060\tua\t\t0\t0\tn\\q"));
    CHECK(decode_binding("a@b", "1\tsip:x\t1\t1000\tc\t1\tudp\t1.2.3.4\t5060\tua\t\t0\t0\tn"));
}

TEST_CASE("binding key: contact, instance and reg-id name a binding") {
    Binding a, b;
    a.contact = b.contact = "sip:a@h";
    CHECK(binding_key(a) == binding_key(b));
    b.reg_id = 2;
    CHECK(binding_key(a) != binding_key(b));
}
