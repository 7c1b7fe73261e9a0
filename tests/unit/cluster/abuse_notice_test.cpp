// The text the nodes of a cluster exchange: bans and count batches encode and decode to
// the same values, odd keys survive, malformed input decodes to nothing.
#include <catch2/catch.hpp>

#include "cluster/abuse_notice.hpp"

using namespace sipproxy::cluster;

TEST_CASE("escape: spaces, line breaks, percent and non-ASCII round-trip; bad escapes fail") {
    const std::string odd = "al ice\n%\x7f\xc3\xa9/x";
    const auto e = escape(odd);
    CHECK(e.find(' ') == std::string::npos);
    CHECK(e.find('\n') == std::string::npos);
    CHECK(unescape(e) == odd);
    CHECK(escape("192.0.2.7") == "192.0.2.7");
    CHECK_FALSE(unescape("%4"));
    CHECK_FALSE(unescape("%zz"));
    CHECK_FALSE(unescape("a b"));
}

TEST_CASE("ban notices: add and remove round-trip") {
    BanNotice add{true, "192.0.2.7/32", "node-a", 1767225600123, true, "auth",
                  "10 failed authentications, last user=alice"};
    const auto text = encode_ban_notice(add);
    CHECK(text == "add 192.0.2.7/32 node-a 1767225600123 1 auth 10 failed authentications, "
                  "last user=alice");
    CHECK(decode_ban_notice(text) == add);

    BanNotice op{true, "10.0.0.0/8", "b", 0, false, "operator", ""};
    CHECK(decode_ban_notice(encode_ban_notice(op)) == op);

    BanNotice rm{false, "2001:db8::/64", "b", 0, true, "", ""};
    CHECK(encode_ban_notice(rm) == "remove 2001:db8::/64 b");
    CHECK(decode_ban_notice("remove 2001:db8::/64 b") == rm);

    // A note with a line break is flattened: one line on the wire.
    BanNotice nl{true, "192.0.2.8/32", "a", 5, false, "operator", "two\nlines"};
    CHECK(decode_ban_notice(encode_ban_notice(nl))->note == "two lines");
}

TEST_CASE("ban notices and records: malformed input decodes to nothing") {
    for (const char* bad : {"", "add", "add 1.2.3.4/32", "add 1.2.3.4/32 a x 1 auth",
                            "add 1.2.3.4/32 a 5 2 auth", "add 1.2.3.4/32 a -5 1 auth",
                            "remove", "remove 1.2.3.4/32", "remove 1.2.3.4/32 a extra",
                            "ban 1.2.3.4/32 a", "add - a 5 1 auth"})
        CHECK_FALSE(decode_ban_notice(bad));
    CHECK_FALSE(decode_ban_record("1.2.3.4/32", ""));
    CHECK_FALSE(decode_ban_record("1.2.3.4/32", "5 1"));
    CHECK_FALSE(decode_ban_record("", "5 1 a auth"));
    auto r = decode_ban_record("1.2.3.4/32", "5 0 a operator abuse ticket 12");
    REQUIRE(r);
    CHECK(r->until_ms == 5);
    CHECK_FALSE(r->automatic);
    CHECK(r->origin == "a");
    CHECK(r->note == "abuse ticket 12");
    BanNotice n{true, "1.2.3.4/32", "x y", 9, true, "flood", "requests=1001 window=2s"};
    CHECK(decode_ban_record(n.network, encode_ban_record(n)) == n);
}

TEST_CASE("abuse batches: every kind round-trips, keys with spaces and line breaks too") {
    AbuseBatch b;
    b.node = "node a";
    b.sources = {{"192.0.2.7", 3, false}, {"2001:db8::/64", 0, true}, {"192.0.2.9", 2, true}};
    b.users = {{"alice", 4, false}, {"\"evil user\"\nX", 1, false}};
    b.calls = {{"Uintl\nalice", 2, false}, {"T\n", 7, false}};
    b.concurrent = {{"Uintl\nalice", 0, false}, {"U\nbob", 3, false}};
    const auto msgs = encode_abuse_batch(b);
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].rfind("abuse1 node%20a\n", 0) == 0);
    CHECK(decode_abuse_batch(msgs[0]) == b);
}

TEST_CASE("abuse batches: split into bounded messages, each decodable on its own") {
    AbuseBatch b;
    b.node = "a";
    for (int i = 0; i < 5000; ++i) b.sources.push_back({"198.51.100." + std::to_string(i), 1, false});
    const auto msgs = encode_abuse_batch(b, 4096);
    CHECK(msgs.size() > 10);
    AbuseBatch all;
    for (const auto& m : msgs) {
        CHECK(m.size() <= 4096);
        auto d = decode_abuse_batch(m);
        REQUIRE(d);
        CHECK(d->node == "a");
        all.sources.insert(all.sources.end(), d->sources.begin(), d->sources.end());
    }
    CHECK(all.sources == b.sources);
    CHECK(encode_abuse_batch(AbuseBatch{"a", {}, {}, {}, {}}).empty());
}

TEST_CASE("abuse batches: a bad header fails, bad lines are skipped") {
    CHECK_FALSE(decode_abuse_batch(""));
    CHECK_FALSE(decode_abuse_batch("abuse2 a\ns x 1\n"));
    CHECK_FALSE(decode_abuse_batch("abuse1\ns x 1\n"));
    CHECK_FALSE(decode_abuse_batch("abuse1 a b\n"));
    auto d = decode_abuse_batch("abuse1 a\ns x 1\ns y\ns z -1\nq w 1\nu  1\ns v 2 r\ns w 2 q\nh k 4294967296\nc k 5");
    REQUIRE(d);
    CHECK(d->sources == std::vector<AbuseBatch::Count>{{"x", 1, false}, {"v", 2, true}});
    CHECK(d->users.empty());
    CHECK(d->concurrent.empty());
    CHECK(d->calls == std::vector<AbuseBatch::Count>{{"k", 5, false}});
}
