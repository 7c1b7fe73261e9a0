// Config includes: routes and users in files of their own, merged in sorted order, and
// every error still names the right file and line.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "config/config.hpp"

using namespace sipproxy::config;
namespace fs = std::filesystem;

namespace {

struct Folder {
    fs::path dir;
    Folder() {
        std::string tmpl = "/tmp/sipproxy-include-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
    }
    ~Folder() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    fs::path write(const std::string& name, const std::string& text) const {
        const auto p = dir / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
        return p;
    }
};

const char* kMain = R"(include = ["routes.d/*.toml", "users.d/*.toml"]
[server]
listen = ["udp://127.0.0.1:5999"]
domains = ["example.test"]
[auth]
realm = "example.test"
[[auth.users]]
user = "alice"
password = "a"
[[gateways]]
name = "gw"
uri = "sip:127.0.0.1:5070"
)";

}  // namespace

TEST_CASE("includes: routes and users from their folders, in sorted order") {
    Folder f;
    auto main = f.write("sipproxy.toml", kMain);
    f.write("routes.d/20-second.toml", "[[routes]]\nname = \"second\"\nmatch = \"^2\"\ngateways = [\"gw\"]\n");
    f.write("routes.d/10-first.toml", "[[routes]]\nname = \"first\"\nmatch = \"^1\"\ngateways = [\"gw\"]\n"
                                      "[[routes]]\nname = \"first-b\"\nmatch = \"^11\"\ngateways = [\"gw\"]\n");
    f.write("users.d/bob.toml", "[[auth.users]]\nuser = \"bob\"\npassword = \"b\"\n");
    auto r = load_file(main);
    if (!r) FAIL(r.error().to_string());
    const Config& c = **r;
    REQUIRE(c.routes.size() == 3);
    CHECK(c.routes[0].name == "first");
    CHECK(c.routes[1].name == "first-b");
    CHECK(c.routes[2].name == "second");
    REQUIRE(c.auth);
    REQUIRE(c.auth->users.size() == 2);
    CHECK(c.auth->users[0].user == "alice");
    CHECK(c.auth->users[1].user == "bob");
}

TEST_CASE("includes: an error in an included file names that file and line") {
    Folder f;
    auto main = f.write("sipproxy.toml", kMain);
    auto bad = f.write("routes.d/30-bad.toml",
                       "# routes\n[[routes]]\nname = \"bad\"\nmatch = \"^3\"\nstrip = \"one\"\n"
                       "gateways = [\"gw\"]\n");
    auto r = load_file(main);
    REQUIRE_FALSE(r);
    CHECK(r.error().file == bad.string());
    CHECK(r.error().line == 5);
    CHECK(r.error().key == "routes[0].strip");

    // A dangling gateway name in an included route: named at its own file and line.
    fs::remove(bad);
    auto dangling = f.write("routes.d/40-dangling.toml",
                            "[[routes]]\nname = \"x\"\nmatch = \"^4\"\ngateways = [\"nope\"]\n");
    r = load_file(main);
    REQUIRE_FALSE(r);
    CHECK(r.error().file == dangling.string());
    CHECK(r.error().line == 4);

    // A TOML syntax error there too.
    fs::remove(dangling);
    auto broken = f.write("users.d/broken.toml", "[[auth.users]\nuser = \"x\"\n");
    r = load_file(main);
    REQUIRE_FALSE(r);
    CHECK(r.error().file == broken.string());
    CHECK(r.error().message.rfind("TOML syntax error", 0) == 0);
}

TEST_CASE("includes: a key set twice is an error naming both places") {
    Folder f;
    auto main = f.write("sipproxy.toml", kMain);
    auto other = f.write("users.d/realm.toml", "[auth]\nrealm = \"other.test\"\n");
    auto r = load_file(main);
    REQUIRE_FALSE(r);
    CHECK(r.error().file == other.string());
    CHECK(r.error().key == "auth.realm");
    CHECK(r.error().message.find(main.string() + ":6") != std::string::npos);
}

TEST_CASE("includes: patterns that match nothing are fine, a missing file is not") {
    Folder f;
    auto main = f.write("sipproxy.toml", kMain);  // routes.d, users.d do not exist
    CHECK(load_file(main));
    auto named = f.write("named.toml", "include = [\"extra.toml\"]\n[server]\nlisten = [\"udp://127.0.0.1:5999\"]\n");
    auto r = load_file(named);
    REQUIRE_FALSE(r);
    CHECK(r.error().key == "include");
    CHECK(r.error().message.find("extra.toml: no such file") != std::string::npos);
    // Included files include nothing further.
    f.write("extra.toml", "include = [\"more.toml\"]\n");
    r = load_file(named);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "only the main config file may include files");
    // Wrong type.
    auto typed = f.write("typed.toml", "include = \"routes.d/*.toml\"\n");
    r = load_file(typed);
    REQUIRE_FALSE(r);
    CHECK(r.error().key == "include");
}
