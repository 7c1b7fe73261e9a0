#include "auth/digest.hpp"

#include <catch2/catch.hpp>

using namespace sipproxy::auth;

namespace {
// RFC 7616 3.9.1 (password as corrected by erratum 4495: "Circle of Life").
constexpr std::string_view user = "Mufasa";
constexpr std::string_view password = "Circle of Life";
constexpr std::string_view realm = "http-auth@example.org";
constexpr std::string_view uri = "/dir/index.html";
constexpr std::string_view nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
constexpr std::string_view cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
}  // namespace

TEST_CASE("RFC 7616 3.9.1 MD5 response", "[digest]") {
    auto ha1 = compute_ha1(Algorithm::md5, user, realm, password);
    auto ha2 = compute_ha2(Algorithm::md5, "GET", uri);
    auto r = compute_response(Algorithm::md5, ha1, nonce, "00000001", cnonce, "auth", ha2);
    CHECK(r.view() == "8ca523f5e9506fed4657c9700eebdbec");
}

TEST_CASE("RFC 7616 3.9.1 SHA-256 response", "[digest]") {
    auto ha1 = compute_ha1(Algorithm::sha256, user, realm, password);
    auto ha2 = compute_ha2(Algorithm::sha256, "GET", uri);
    auto r = compute_response(Algorithm::sha256, ha1, nonce, "00000001", cnonce, "auth", ha2);
    CHECK(r.view() == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

TEST_CASE("RFC 2069 form (no qop) hashes HA1:nonce:HA2", "[digest]") {
    // RFC 2069 2.4 example: Mufasa / "CircleOfLife" / testrealm@host.com.
    auto ha1 = compute_ha1(Algorithm::md5, "Mufasa", "testrealm@host.com", "CircleOfLife");
    auto ha2 = compute_ha2(Algorithm::md5, "GET", "/dir/index.html");
    auto r = compute_response(Algorithm::md5, ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "", "", "",
                              ha2);
    CHECK(r.view() == "1949323746fe6a43ef61f9606e7febea");
}

TEST_CASE("hash_hex is lower-case hex of the right length", "[digest]") {
    CHECK(hash_hex(Algorithm::md5, {""}).view() == "d41d8cd98f00b204e9800998ecf8427e");
    CHECK(hash_hex(Algorithm::sha256, {"abc"}).view() ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // Parts are joined with ':'.
    CHECK(hash_hex(Algorithm::md5, {"a", "b"}).view() == hash_hex(Algorithm::md5, {"a:b"}).view());
    CHECK(compute_userhash(Algorithm::sha256, "u", "r").view() ==
          hash_hex(Algorithm::sha256, {"u:r"}).view());
}

TEST_CASE("constant-time comparison", "[digest]") {
    CHECK(equal_constant_time("abc", "abc"));
    CHECK_FALSE(equal_constant_time("abc", "abd"));
    CHECK_FALSE(equal_constant_time("abc", "abcd"));
    CHECK(equal_constant_time("", ""));
}

TEST_CASE("algorithm names", "[digest]") {
    CHECK(algorithm_from_name("MD5") == Algorithm::md5);
    CHECK(algorithm_from_name("md5") == Algorithm::md5);
    CHECK(algorithm_from_name("sha-256") == Algorithm::sha256);
    CHECK_FALSE(algorithm_from_name("MD5-sess"));
    CHECK_FALSE(algorithm_from_name("SHA-512-256"));
    CHECK(algorithm_name(Algorithm::sha256) == "SHA-256");
    CHECK(hex_length(Algorithm::md5) == 32);
    CHECK(hex_length(Algorithm::sha256) == 64);
}
