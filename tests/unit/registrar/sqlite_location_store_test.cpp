// Durability of SqliteLocationStore: reopen, expiry at load, crash (kill -9), open errors.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "registrar/registrar.hpp"
#include "store_fixtures.hpp"

using namespace sipproxy::registrar;
using namespace std::chrono_literals;
using sipproxy::registrar::test::TempDir;

namespace {

std::unique_ptr<SqliteLocationStore> open_store(const std::filesystem::path& file,
                                                TimePoint now = Clock::now()) {
    auto opened = SqliteLocationStore::open(file, {}, now);
    if (!opened) FAIL(opened.error());
    return std::move(*opened);
}

RegisterRequest reg(std::string aor, std::string uri, std::uint32_t expires, TimePoint now) {
    RegisterRequest r;
    r.aor = std::move(aor);
    ContactSpec c;
    c.uri = std::move(uri);
    c.expires = expires;
    c.q_permille = 700;
    r.contacts.push_back(c);
    r.call_id = "call@ua";
    r.cseq = 1;
    r.source = {"tcp", "203.0.113.7", 40000, 99};
    r.path = {"<sip:edge.example.test;lr>"};
    r.user_agent = "UA/2";
    r.now = now;
    return r;
}

}  // namespace

TEST_CASE("sqlite store: bindings survive closing and reopening", "[sqlite]") {
    TempDir dir;
    const auto file = dir.file("location.sqlite");
    const TimePoint now = Clock::now();
    std::vector<Binding> before;
    {
        auto store = open_store(file, now);
        Registrar registrar(*store, {});
        REQUIRE(registrar.handle(reg("alice@example.test", "sip:alice@192.0.2.1", 3600, now)).ok());
        REQUIRE(registrar.handle(reg("bob@example.test", "sip:bob@192.0.2.2", 600, now)).ok());
        REQUIRE(registrar.handle(reg("carol@example.test", "sip:carol@192.0.2.3", 600, now)).ok());
        CHECK(store->remove_aor("carol@example.test") == 1);
        before = store->list("", now);
        REQUIRE(before.size() == 2);
    }  // the destructor writes what is pending

    auto store = open_store(file, now);
    CHECK(store->loaded() == 2);
    auto after = store->list("", now);
    REQUIRE(after.size() == before.size());
    for (std::size_t i = 0; i < after.size(); ++i) {
        CHECK(after[i].aor == before[i].aor);
        CHECK(after[i].contact == before[i].contact);
        // Stored with millisecond precision.
        CHECK(std::chrono::abs(after[i].expires_at - before[i].expires_at) < 1ms);
        CHECK(after[i].q_permille == 700);
        CHECK(after[i].call_id == before[i].call_id);
        CHECK(after[i].cseq == before[i].cseq);
        CHECK(after[i].transport == "tcp");
        CHECK(after[i].source_address == "203.0.113.7");
        CHECK(after[i].source_port == 40000);
        CHECK(after[i].user_agent == "UA/2");
        CHECK(after[i].path == before[i].path);
        CHECK(after[i].flow_id == 0);  // a connection does not survive a restart
    }
    CHECK(store->lookup("carol@example.test", now).empty());
}

TEST_CASE("sqlite store: expired bindings are gone after a reload", "[sqlite]") {
    TempDir dir;
    const auto file = dir.file("location.sqlite");
    const TimePoint now = Clock::now();
    {
        auto store = open_store(file, now);
        Registrar registrar(*store, {});
        REQUIRE(registrar.handle(reg("short@example.test", "sip:s@192.0.2.1", 60, now)).ok());
        REQUIRE(registrar.handle(reg("long@example.test", "sip:l@192.0.2.1", 3600, now)).ok());
        REQUIRE(store->flush());
    }
    auto store = open_store(file, now + 120s);
    CHECK(store->expired_at_open() == 1);
    CHECK(store->loaded() == 1);
    CHECK(store->count() == 1);
    CHECK(store->lookup("short@example.test", now + 120s).empty());
    CHECK(store->lookup("long@example.test", now + 120s).size() == 1);
}

TEST_CASE("sqlite store: a purge reaches the file", "[sqlite]") {
    TempDir dir;
    const auto file = dir.file("location.sqlite");
    const TimePoint now = Clock::now();
    {
        auto store = open_store(file, now);
        Registrar registrar(*store, {});
        REQUIRE(registrar.handle(reg("short@example.test", "sip:s@192.0.2.1", 60, now)).ok());
        REQUIRE(store->flush());
        CHECK(store->purge_expired(now + 61s) == 1);
        REQUIRE(store->flush());
    }
    // Opened "in the past": had the purge not been written, the binding would load.
    auto store = open_store(file, now);
    CHECK(store->loaded() == 0);
}

TEST_CASE("sqlite store: committed batches survive kill -9", "[sqlite][crash]") {
    TempDir dir;
    const auto file = dir.file("location.sqlite");
    const TimePoint now = Clock::now();

    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // No Catch2 in here: plain code, then die without destructors or flush.
        auto opened = SqliteLocationStore::open(file, {}, now);
        if (!opened) _exit(2);
        Registrar registrar(**opened, {});
        for (int i = 0; i < 100; ++i) {
            auto aor = "user" + std::to_string(i) + "@example.test";
            if (!registrar.handle(reg(aor, "sip:" + aor, 3600, now)).ok()) _exit(3);
        }
        std::this_thread::sleep_for(300ms);  // > batch interval (20 ms) + one write
        kill(getpid(), SIGKILL);
        _exit(4);  // not reached
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);

    auto store = open_store(file, now);
    CHECK(store->loaded() == 100);
    CHECK(store->lookup("user42@example.test", now).size() == 1);
}

TEST_CASE("sqlite store: open errors name the file and the cause", "[sqlite]") {
    TempDir dir;

    SECTION("missing folder") {
        auto file = dir.file("no/such/folder/location.sqlite");
        auto opened = SqliteLocationStore::open(file);
        REQUIRE_FALSE(opened);
        CHECK_THAT(opened.error(), Catch::Contains(file.string()));
        CHECK_THAT(opened.error(), Catch::Contains("does not exist"));
    }

    SECTION("not a database") {
        auto file = dir.file("garbage.sqlite");
        std::ofstream(file) << std::string(4096, 'x');
        auto opened = SqliteLocationStore::open(file);
        REQUIRE_FALSE(opened);
        CHECK_THAT(opened.error(), Catch::Contains(file.string()));
        CHECK_THAT(opened.error(), Catch::Contains("not a database"));
    }

    SECTION("a database of something else") {
        auto file = dir.file("other.sqlite");
        auto make = [&](const char* sql) {
            sqlite3* db = nullptr;
            REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
            REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
            sqlite3_close(db);
        };
        SECTION("a newer schema") {
            make("PRAGMA user_version=2");
            auto opened = SqliteLocationStore::open(file);
            REQUIRE_FALSE(opened);
            CHECK_THAT(opened.error(), Catch::Contains(file.string()));
            CHECK_THAT(opened.error(), Catch::Contains("newer"));
        }
        SECTION("another table called bindings") {
            make("CREATE TABLE bindings (id INTEGER, name TEXT)");
            auto opened = SqliteLocationStore::open(file);
            REQUIRE_FALSE(opened);
            CHECK_THAT(opened.error(), Catch::Contains(file.string()));
            CHECK_THAT(opened.error(), Catch::Contains("no such column"));
        }
    }
}

TEST_CASE("sqlite store: flush waits for the writer", "[sqlite]") {
    TempDir dir;
    const auto file = dir.file("location.sqlite");
    const TimePoint now = Clock::now();
    SqliteStoreOptions slow;
    slow.batch_interval = std::chrono::milliseconds(10'000);  // flush must not wait for it
    auto opened = SqliteLocationStore::open(file, slow, now);
    REQUIRE(opened);
    auto& store = **opened;
    Registrar registrar(store, {});
    REQUIRE(registrar.handle(reg("a@example.test", "sip:a@192.0.2.1", 3600, now)).ok());
    auto started = std::chrono::steady_clock::now();
    CHECK(store.flush());
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK(store.last_error().empty());
    CHECK(store.flush());  // nothing pending: returns at once
}
