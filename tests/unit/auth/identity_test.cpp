#include "auth/identity.hpp"

#include <catch2/catch.hpp>

using namespace sipproxy::auth;

TEST_CASE("authenticated user against a URI user part", "[identity]") {
    CHECK(is_same_user("alice", "alice"));
    CHECK_FALSE(is_same_user("alice", "Alice"));  // case-sensitive (RFC 3261 19.1.4)
    CHECK_FALSE(is_same_user("alice", "alic"));
    CHECK_FALSE(is_same_user("alice", "alicex"));
    CHECK(is_same_user("a b", "a%20b"));
    CHECK(is_same_user("alice", "%61lice"));
    CHECK_FALSE(is_same_user("alice", "alic%"));
    CHECK_FALSE(is_same_user("alice", "alic%6"));
    CHECK_FALSE(is_same_user("a%zz", "a%zz"));
    CHECK_FALSE(is_same_user("", "x"));
    CHECK(is_same_user("", ""));
}
