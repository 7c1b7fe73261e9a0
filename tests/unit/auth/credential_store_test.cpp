#include "auth/credential_store.hpp"

#include <catch2/catch.hpp>

#include "auth/digest.hpp"

using namespace sipproxy::auth;

TEST_CASE("HA1 computed from a password for both algorithms", "[store]") {
    auto s = CredentialStore::load("http-auth@example.org", {{"Mufasa", "Circle of Life", "", ""}});
    REQUIRE(s.has_value());
    const StoredUser* u = s->find("Mufasa");
    REQUIRE(u);
    CHECK(u->ha1(Algorithm::md5) ==
          compute_ha1(Algorithm::md5, "Mufasa", "http-auth@example.org", "Circle of Life").view());
    CHECK(
        u->ha1(Algorithm::sha256) ==
        compute_ha1(Algorithm::sha256, "Mufasa", "http-auth@example.org", "Circle of Life").view());
    CHECK(s->find("mufasa") == nullptr);  // user names are case-sensitive
    CHECK(s->find("") == nullptr);
}

TEST_CASE("given HA1s: only those algorithms, upper-case hex normalised", "[store]") {
    std::string md5 = compute_ha1(Algorithm::md5, "bob", "r", "pw").str();
    std::string upper = md5;
    for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
    auto s = CredentialStore::load("r", {{"bob", "", upper, ""}});
    REQUIRE(s.has_value());
    const StoredUser* u = s->find("bob");
    REQUIRE(u);
    CHECK(u->ha1(Algorithm::md5) == md5);
    CHECK_FALSE(u->ha1(Algorithm::sha256));
}

TEST_CASE("invalid user entries are reported", "[store]") {
    using V = std::vector<UserCredentials>;
    auto err = [](V users) {
        auto s = CredentialStore::load("r", users);
        REQUIRE_FALSE(s.has_value());
        return s.error();
    };
    CHECK(err(V{{"a", "", "abc", ""}}) == "user a: ha1_md5 must be 32 hex digits");
    CHECK(err(V{{"a", "", std::string(32, 'g'), ""}}) == "user a: ha1_md5 must be 32 hex digits");
    CHECK(err(V{{"a", "", "", std::string(32, 'a')}}) ==
          "user a: ha1_sha256 must be 64 hex digits");
    CHECK(err(V{{"a", "", "", ""}}) == "user a: needs a password, ha1_md5 or ha1_sha256");
    CHECK(err(V{{"a", "pw", "", ""}, {"a", "pw2", "", ""}}) == "user a: defined twice");
    CHECK(err(V{{"", "pw", "", ""}}) == "a user has an empty name");
    CHECK(err(V{{"a", "pw", std::string(32, '0'), ""}}) ==
          "user a: ha1_md5 does not match the password");
}

TEST_CASE("userhash lookup", "[store]") {
    auto s = CredentialStore::load("r", {{"carol", "pw", "", ""}});
    REQUIRE(s.has_value());
    std::string h = compute_userhash(Algorithm::sha256, "carol", "r").str();
    CHECK(s->find_by_userhash(Algorithm::sha256, h) == s->find("carol"));
    CHECK(s->find_by_userhash(Algorithm::md5, h) == nullptr);
    CHECK(s->find_by_userhash(Algorithm::sha256, "carol") == nullptr);
}
