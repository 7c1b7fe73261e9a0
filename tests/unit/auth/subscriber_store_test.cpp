// The user database: HA1s on disk, the users of the realm in memory, lookups by name and
// by userhash, changes written before they are visible.
#include "auth/subscriber_store.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "auth/digest.hpp"

using namespace sipproxy::auth;
namespace fs = std::filesystem;

namespace {
fs::path temp_db() {
    std::string tmpl = "/tmp/sipproxy-users-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    return fs::path(tmpl) / "users.db";
}
std::string md5(const std::string& user, const std::string& pw) {
    return compute_ha1(Algorithm::md5, user, "example.test", pw).str();
}
std::string sha(const std::string& user, const std::string& pw) {
    return compute_ha1(Algorithm::sha256, user, "example.test", pw).str();
}
}  // namespace

TEST_CASE("user database: add, find, change, remove, and all of it after reopening") {
    const auto db = temp_db();
    {
        auto s = SubscriberStore::open(db, "example.test");
        REQUIRE(s);
        auto& store = **s;
        CHECK(store.size() == 0);
        CHECK_FALSE(store.put("dave", md5("dave", "a"), sha("dave", "a"), false));
        CHECK(store.put("dave", md5("dave", "b"), "", false) == std::optional<std::string>("user dave exists"));
        CHECK(store.put("erin", md5("erin", "a"), "", true) == std::optional<std::string>("no such user: erin"));
        CHECK_FALSE(store.put("erin", "", sha("erin", "e"), false));
        auto dave = store.find("dave");
        REQUIRE(dave);
        CHECK(dave->ha1(Algorithm::md5) == md5("dave", "a"));
        // userhash (RFC 7616 3.4.4), upper-case hex accepted
        auto h = compute_userhash(Algorithm::sha256, "erin", "example.test").str();
        for (auto& c : h) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        REQUIRE(store.find_by_userhash(Algorithm::sha256, h));
        CHECK(store.find_by_userhash(Algorithm::sha256, h)->name == "erin");

        CHECK_FALSE(store.put("dave", md5("dave", "c"), "", true));  // passwd
        CHECK(dave->ha1(Algorithm::md5) == md5("dave", "a"));  // a reference taken before is intact
        CHECK(store.find("dave")->ha1(Algorithm::md5) == md5("dave", "c"));
        CHECK_FALSE(store.find("dave")->ha1(Algorithm::sha256));
        CHECK_FALSE(store.remove("erin"));
        CHECK(store.remove("erin") == std::optional<std::string>("no such user: erin"));
        CHECK_FALSE(store.find_by_userhash(Algorithm::sha256, h));
    }
    auto again = SubscriberStore::open(db, "example.test");
    REQUIRE(again);
    CHECK((*again)->size() == 1);
    REQUIRE((*again)->find("dave"));
    CHECK((*again)->find("dave")->ha1(Algorithm::md5) == md5("dave", "c"));
    auto listed = (*again)->list();
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].name == "dave");
    CHECK(listed[0].md5);
    CHECK_FALSE(listed[0].sha256);

    // Another realm: the HA1s cannot verify there, the rows are left out (and kept).
    auto other = SubscriberStore::open(db, "other.test");
    REQUIRE(other);
    CHECK((*other)->size() == 0);
    CHECK((*other)->other_realm() == 1);
    fs::remove_all(db.parent_path());
}

TEST_CASE("user database: bad input is refused and changes nothing") {
    const auto db = temp_db();
    auto s = SubscriberStore::open(db, "example.test");
    REQUIRE(s);
    auto& store = **s;
    CHECK(store.put("", md5("x", "a"), "", false));
    CHECK(store.put("a b", md5("x", "a"), "", false));
    CHECK(store.put("a@b", md5("x", "a"), "", false));
    CHECK(store.put("x", "1234", "", false) == std::optional<std::string>("ha1_md5 must be 32 hex digits"));
    CHECK(store.put("x", "", std::string(64, 'g'), false) ==
          std::optional<std::string>("ha1_sha256 must be 64 hex digits"));
    CHECK(store.put("x", "", "", false) == std::optional<std::string>("needs a password, ha1_md5 or ha1_sha256"));
    CHECK(store.size() == 0);
    fs::remove_all(db.parent_path());
}

TEST_CASE("user database: a file that is not a database is an error naming it") {
    const auto db = temp_db();
    {
        std::FILE* f = std::fopen(db.c_str(), "w");
        REQUIRE(f);
        std::fputs("this is not an SQLite database, just some text that is long enough.......\n", f);
        std::fclose(f);
    }
    auto s = SubscriberStore::open(db, "example.test");
    REQUIRE_FALSE(s);
    CHECK(s.error().find(db.string()) != std::string::npos);
    fs::remove_all(db.parent_path());
}
