// A lingering non-INVITE answer kept as its recipe gives a retransmission the same bytes
// as the first answer, and nothing to a request it was not made for.
#include <asio/ip/address.hpp>

#include <catch2/catch.hpp>
#include <string>

#include "transaction/server_transaction.hpp"
#include "transport/via_stamp.hpp"

using namespace sipproxy;

namespace {
std::string register_request(int cseq) {
    return "REGISTER sip:example.test SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 10.0.0.7:5070;branch=z9hG4bK-reg1;rport\r\n"
           "From: <sip:alice@example.test>;tag=f1\r\nTo: <sip:alice@example.test>\r\n"
           "Call-ID: reg-c1\r\nCSeq: " +
           std::to_string(cseq) +
           " REGISTER\r\nContact: <sip:alice@10.0.0.7:5070>\r\nExpires: 3600\r\n"
           "Content-Length: 0\r\n\r\n";
}
}  // namespace

TEST_CASE("a REGISTER's 200 kept as a recipe is rebuilt byte for byte for its retransmission") {
    auto first = sip::parse(register_request(2));
    REQUIRE(first);
    // Behind a NAT: the source differs from the Via (received and rport are stamped).
    transport::Peer source{transport::Protocol::Udp, asio::ip::make_address("192.0.2.9"), 40000, 0, {}};
    const std::vector<sip::ExtraHeader> extra{
        {"Contact", "<sip:alice@10.0.0.7:5070>;expires=3600"}, {"Date", "Fri, 04 Dec 2026 22:00:00 GMT"}};
    const auto sent = transport::stamp_response_via(
        sip::make_response(*first, 200, "OK", "t0tag", extra), *first, source);
    const auto recipe = transaction::answer_recipe(*first, 200, "OK", "t0tag", extra);
    CHECK(recipe.size() < sent.size() / 2);

    const auto to = transaction::response_destination(*first, source);
    auto again = sip::parse(register_request(2));
    REQUIRE(again);
    CHECK(transaction::answer_again(recipe, *again, to) == sent);

    // Same transaction key, other bytes: not the request the answer was for.
    auto other = sip::parse(register_request(3));
    REQUIRE(other);
    CHECK(transaction::answer_again(recipe, *other, to).empty());
}

TEST_CASE("a recipe without the headers gets them at answer time, after its own") {
    auto first = sip::parse(register_request(2));
    REQUIRE(first);
    transport::Peer source{transport::Protocol::Udp, asio::ip::make_address("192.0.2.9"), 40000, 0, {}};
    const std::vector<sip::ExtraHeader> kept{{"Date", "Fri, 04 Dec 2026 22:00:00 GMT"}};
    const std::vector<sip::ExtraHeader> now{{"Contact", "<sip:alice@10.0.0.7:5070>;expires=3599"},
                                            {"Supported", "path, outbound"}};
    std::vector<sip::ExtraHeader> all = kept;
    all.insert(all.end(), now.begin(), now.end());
    const auto full = transport::stamp_response_via(
        sip::make_response(*first, 200, "OK", "t0tag", all), *first, source);
    const auto recipe = transaction::answer_recipe(*first, 200, "OK", "t0tag", kept);
    CHECK(transaction::recipe_status(recipe) == 200);
    CHECK(transaction::recipe_status("short") == 0);
    const auto to = transaction::response_destination(*first, source);
    auto again = sip::parse(register_request(2));
    REQUIRE(again);
    CHECK(transaction::answer_again(recipe, *again, to, now) == full);
}
