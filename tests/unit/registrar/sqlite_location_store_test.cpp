// Durability of SqliteLocationStore: reopen, expiry at load, crash (kill -9), open errors.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "registrar/registrar.hpp"
#include "store_fixtures.hpp"

using namespace sipproxy::registrar;
using namespace std::chrono_literals;
using sipproxy::registrar::test::TempDir;

namespace {

std::unique_ptr<SqliteLocationStore> open_store(const std::filesystem::path& file,
                                                TimePoint now = Clock::now(),
                                                SqliteStoreOptions options = {}) {
    auto opened = SqliteLocationStore::open(file, options, now);
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

namespace {

// A second connection to the store's file, as another process would see it.
class Observer {
  public:
    explicit Observer(const std::filesystem::path& file) {
        REQUIRE(sqlite3_open(file.c_str(), &db_) == SQLITE_OK);
    }
    ~Observer() { sqlite3_close(db_); }
    Observer(const Observer&) = delete;
    Observer& operator=(const Observer&) = delete;

    // Rows of `aor` in the file (-1 on error).
    int rows(const std::string& aor) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db_, "SELECT COUNT(*) FROM bindings WHERE aor = ?", -1, &stmt,
                               nullptr) != SQLITE_OK)
            return -1;
        sqlite3_bind_text(stmt, 1, aor.c_str(), -1, SQLITE_TRANSIENT);
        int n = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
        sqlite3_finalize(stmt);
        return n;
    }
    bool exec(const char* sql) {
        return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
    }
    // expires_at (ms since the epoch) of `aor`'s first row in the file, -1 if none.
    std::int64_t expires_at(const std::string& aor) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db_, "SELECT expires_at FROM bindings WHERE aor = ?", -1, &stmt,
                               nullptr) != SQLITE_OK)
            return -1;
        sqlite3_bind_text(stmt, 1, aor.c_str(), -1, SQLITE_TRANSIENT);
        std::int64_t v = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
        sqlite3_finalize(stmt);
        return v;
    }

  private:
    sqlite3* db_ = nullptr;
};

// What a Committed callback saw: its error, the rows of its AOR in the file at that moment,
// and whether it ran before handle() returned.
struct Seen {
    std::mutex mu;
    std::condition_variable cv;
    bool called = false;
    int calls = 0;
    std::string error;
    int rows = -2;

    LocationStore::Committed callback(Observer& file, std::string aor) {
        return [this, &file, aor](const std::string& e) {
            int n = file.rows(aor);
            std::lock_guard lock(mu);
            called = true;
            ++calls;
            error = e;
            rows = n;
            cv.notify_all();
        };
    }
    bool wait(std::chrono::milliseconds timeout = 5000ms) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, timeout, [&] { return called; });
    }
    bool was_called() {
        std::lock_guard lock(mu);
        return called;
    }
};

// A store with `options` in a new folder, a registrar over it, and a second connection to
// its file.
struct Opened {
    TempDir dir;
    std::filesystem::path file = dir.file("location.sqlite");
    std::unique_ptr<SqliteLocationStore> owner;
    SqliteLocationStore& store;
    Registrar registrar;
    Observer observer;

    Opened(SqliteStoreOptions options, TimePoint now)
        : owner(open_store(file, now, options)), store(*owner), registrar(store, {}),
          observer(file) {}
};

}  // namespace

TEST_CASE("sqlite store: a change is reported only once it is committed", "[sqlite][durable]") {
    const TimePoint now = Clock::now();
    SqliteStoreOptions options;
    options.batch_interval = 200ms;  // long enough to see the callback wait for it
    Opened opened(options, now);
    auto [store, registrar, observer] = std::tie(opened.store, opened.registrar, opened.observer);

    SECTION("a REGISTER: the row is in the file when the callback runs") {
        Seen seen;
        auto r = registrar.handle(reg("alice@example.test", "sip:a@192.0.2.1", 3600, now),
                                  seen.callback(observer, "alice@example.test"));
        REQUIRE(r.ok());
        CHECK_FALSE(seen.was_called());  // the writer is still gathering
        CHECK(observer.rows("alice@example.test") == 0);
        REQUIRE(seen.wait());
        CHECK(seen.error.empty());
        CHECK(seen.rows == 1);
        CHECK(seen.calls == 1);

        // An unregister: the row is gone from the file when the callback runs.
        Seen gone;
        auto unregister = reg("alice@example.test", "sip:a@192.0.2.1", 0, now);
        unregister.cseq = 2;
        r = registrar.handle(unregister, gone.callback(observer, "alice@example.test"));
        REQUIRE(r.ok());
        REQUIRE(gone.wait());
        CHECK(gone.error.empty());
        CHECK(gone.rows == 0);
    }

    SECTION("many changes share one commit, each told once") {
        constexpr int n = 200;
        std::vector<std::unique_ptr<Seen>> seen;
        const auto started = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i) {
            auto aor = "user" + std::to_string(i) + "@example.test";
            seen.push_back(std::make_unique<Seen>());
            REQUIRE(
                registrar
                    .handle(reg(aor, "sip:" + aor, 3600, now), seen.back()->callback(observer, aor))
                    .ok());
        }
        for (int i = 0; i < n; ++i) {
            REQUIRE(seen[i]->wait());
            CHECK(seen[i]->error.empty());
            CHECK(seen[i]->rows == 1);
            CHECK(seen[i]->calls == 1);
        }
        // One gathering interval, not one per change.
        CHECK(std::chrono::steady_clock::now() - started < 2s);
    }

    SECTION("nothing to write: told at once") {
        Seen query;
        auto q = reg("alice@example.test", "sip:a@192.0.2.1", 3600, now);
        q.contacts.clear();
        REQUIRE(registrar.handle(q, query.callback(observer, "alice@example.test")).ok());
        CHECK(query.was_called());
        CHECK(query.error.empty());

        Seen refused;
        auto brief = reg("alice@example.test", "sip:a@192.0.2.1", 10, now);  // 423
        CHECK(registrar.handle(brief, refused.callback(observer, "alice@example.test")).status ==
              423);
        CHECK(refused.was_called());

        Seen none;
        CHECK(store.remove_aor("nobody@example.test", none.callback(observer, "x")) == 0);
        CHECK(none.was_called());
    }
}

TEST_CASE("sqlite store: refreshes wait for company, other changes do not wait for them",
          "[sqlite][durable]") {
    const TimePoint now = Clock::now();
    SqliteStoreOptions options;
    options.batch_interval = 20ms;
    options.refresh_interval = 2000ms;
    Opened opened(options, now);
    auto [store, registrar, observer] = std::tie(opened.store, opened.registrar, opened.observer);
    using steady = std::chrono::steady_clock;
    auto ms_since_epoch = [](TimePoint t) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    };

    Seen added;
    auto r = registrar.handle(reg("alice@example.test", "sip:a@192.0.2.1", 3600, now),
                              added.callback(observer, "alice@example.test"));
    REQUIRE(r.ok());
    REQUIRE_FALSE(r.refresh_only);
    REQUIRE(added.wait());
    const auto first_expiry = observer.expires_at("alice@example.test");
    CHECK(first_expiry == ms_since_epoch(now + 3600s));

    SECTION("a refresh alone is written after refresh_interval") {
        auto refresh = reg("alice@example.test", "sip:a@192.0.2.1", 1800, now + 10s);
        refresh.cseq = 2;
        Seen seen;
        const auto started = steady::now();
        r = registrar.handle(refresh, seen.callback(observer, "alice@example.test"));
        REQUIRE(r.ok());
        REQUIRE(r.refresh_only);
        // In memory at once; in the file only after the refresh interval.
        CHECK(ms_since_epoch(store.lookup("alice@example.test", now + 10s)[0].expires_at) ==
              ms_since_epoch(now + 10s + 1800s));
        std::this_thread::sleep_for(300ms);
        CHECK_FALSE(seen.was_called());
        CHECK(observer.expires_at("alice@example.test") == first_expiry);
        REQUIRE(seen.wait(10000ms));
        CHECK(steady::now() - started >= 1500ms);
        CHECK(seen.error.empty());
        CHECK(observer.expires_at("alice@example.test") == ms_since_epoch(now + 10s + 1800s));
    }

    SECTION("a change somebody waits for takes the waiting refreshes along") {
        auto refresh = reg("alice@example.test", "sip:a@192.0.2.1", 1800, now + 10s);
        refresh.cseq = 2;
        Seen lazy, urgent;
        const auto started = steady::now();
        REQUIRE(registrar.handle(refresh, lazy.callback(observer, "alice@example.test")).ok());
        std::this_thread::sleep_for(100ms);
        REQUIRE(registrar
                    .handle(reg("bob@example.test", "sip:b@192.0.2.2", 3600, now + 10s),
                            urgent.callback(observer, "bob@example.test"))
                    .ok());
        REQUIRE(urgent.wait());
        REQUIRE(lazy.wait());
        CHECK(steady::now() - started < 1200ms);  // not refresh_interval (2 s)
        CHECK(urgent.rows == 1);
        CHECK(observer.expires_at("alice@example.test") == ms_since_epoch(now + 10s + 1800s));
    }

    SECTION("closing the store writes a waiting refresh") {
        auto refresh = reg("alice@example.test", "sip:a@192.0.2.1", 1800, now + 10s);
        refresh.cseq = 2;
        REQUIRE(registrar.handle(refresh).refresh_only);
        const auto started = steady::now();
        opened.owner.reset();
        CHECK(steady::now() - started < 1500ms);
        CHECK(observer.expires_at("alice@example.test") == ms_since_epoch(now + 10s + 1800s));
    }
}

TEST_CASE("sqlite store: a failed write is undone and reported", "[sqlite][durable]") {
    const TimePoint now = Clock::now();
    SqliteStoreOptions options;
    options.batch_interval = 20ms;
    options.busy_timeout = 300ms;  // then "database is locked"
    Opened opened(options, now);
    auto [store, registrar, observer] = std::tie(opened.store, opened.registrar, opened.observer);

    // alice is registered over a connection (flow 99), carol too; both on disk.
    Seen first, second;
    REQUIRE(registrar
                .handle(reg("alice@example.test", "sip:a@192.0.2.1", 3600, now),
                        first.callback(observer, "alice@example.test"))
                .ok());
    REQUIRE(registrar
                .handle(reg("carol@example.test", "sip:c@192.0.2.4", 3600, now),
                        second.callback(observer, "carol@example.test"))
                .ok());
    REQUIRE(first.wait());
    REQUIRE(second.wait());
    REQUIRE(first.error.empty());

    // Another process holds the write lock: the next writes fail.
    REQUIRE(observer.exec("BEGIN IMMEDIATE"));
    auto second_phone = reg("alice@example.test", "sip:b@192.0.2.2", 3600, now);
    second_phone.call_id = "other@ua";
    auto carol_leaves = reg("carol@example.test", "sip:c@192.0.2.4", 0, now);
    carol_leaves.cseq = 2;
    Seen added, fresh, left, on_top;
    REQUIRE(registrar.handle(second_phone, added.callback(observer, "alice@example.test")).ok());
    REQUIRE(registrar
                .handle(reg("bob@example.test", "sip:b@192.0.2.3", 3600, now),
                        fresh.callback(observer, "bob@example.test"))
                .ok());
    REQUIRE(registrar.handle(carol_leaves, left.callback(observer, "carol@example.test")).ok());
    CHECK(store.lookup("alice@example.test", now).size() == 2);  // readers see it meanwhile
    // While the writer waits for the lock: a change made on top of one that will fail.
    std::this_thread::sleep_for(120ms);
    REQUIRE_FALSE(fresh.was_called());
    auto bob_again = reg("bob@example.test", "sip:b@192.0.2.3", 1800, now);
    bob_again.cseq = 2;
    REQUIRE(registrar.handle(bob_again, on_top.callback(observer, "bob@example.test")).ok());

    for (Seen* s : {&added, &fresh, &left, &on_top}) {
        REQUIRE(s->wait());
        CHECK_THAT(s->error, Catch::Contains("database is locked"));
        CHECK(s->calls == 1);
    }
    CHECK(store.last_error() == added.error);

    // Memory agrees with the file again: alice as before (with her connection), carol
    // still there, no bob.
    auto alice = store.lookup("alice@example.test", now);
    REQUIRE(alice.size() == 1);
    CHECK(alice[0].contact == "sip:a@192.0.2.1");
    CHECK(alice[0].flow_id == 99);
    auto carol = store.lookup("carol@example.test", now);
    REQUIRE(carol.size() == 1);
    CHECK(carol[0].contact == "sip:c@192.0.2.4");
    CHECK(store.lookup("bob@example.test", now).empty());
    CHECK(store.count() == 2);

    // The lock goes away: writes work again.
    REQUIRE(observer.exec("ROLLBACK"));
    Seen retry;
    REQUIRE(registrar
                .handle(reg("bob@example.test", "sip:b@192.0.2.3", 3600, now),
                        retry.callback(observer, "bob@example.test"))
                .ok());
    REQUIRE(retry.wait());
    CHECK(retry.error.empty());
    CHECK(retry.rows == 1);
    CHECK(store.flush());
    CHECK(store.last_error().empty());
    CHECK(observer.rows("alice@example.test") == 1);
    CHECK(observer.rows("carol@example.test") == 1);
}

TEST_CASE("sqlite store: a write that fails inside its transaction leaves the writer usable",
          "[sqlite][durable]") {
    // The writer keeps its prepared statements between batches: one whose step failed
    // (here an INSERT refused by a trigger, after the DELETE of the same transaction ran)
    // must be reset, the transaction rolled back, and the next batch must work, also after
    // the schema changed under the kept statements.
    const TimePoint now = Clock::now();
    SqliteStoreOptions options;
    options.batch_interval = 20ms;
    Opened opened(options, now);
    auto [store, registrar, observer] = std::tie(opened.store, opened.registrar, opened.observer);

    Seen alice;
    REQUIRE(registrar
                .handle(reg("alice@example.test", "sip:a@192.0.2.1", 3600, now),
                        alice.callback(observer, "alice@example.test"))
                .ok());
    REQUIRE(alice.wait());
    REQUIRE(alice.error.empty());

    REQUIRE(observer.exec("CREATE TRIGGER refuse BEFORE INSERT ON bindings "
                          "WHEN NEW.aor = 'alice@example.test' "
                          "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"));
    auto moved = reg("alice@example.test", "sip:a@192.0.2.9", 3600, now);
    moved.call_id = "other@ua";
    Seen refused;
    REQUIRE(registrar.handle(moved, refused.callback(observer, "alice@example.test")).ok());
    REQUIRE(refused.wait());
    CHECK_THAT(refused.error, Catch::Contains("refused by the test"));
    CHECK(refused.rows == 1);  // the DELETE was rolled back with the failed INSERT
    auto back = store.lookup("alice@example.test", now);
    REQUIRE(back.size() == 1);
    CHECK(back[0].contact == "sip:a@192.0.2.1");

    REQUIRE(observer.exec("DROP TRIGGER refuse"));
    Seen bob, again;
    REQUIRE(registrar
                .handle(reg("bob@example.test", "sip:b@192.0.2.3", 3600, now),
                        bob.callback(observer, "bob@example.test"))
                .ok());
    REQUIRE(bob.wait());
    CHECK(bob.error.empty());
    CHECK(bob.rows == 1);
    REQUIRE(registrar.handle(moved, again.callback(observer, "alice@example.test")).ok());
    REQUIRE(again.wait());
    CHECK(again.error.empty());
    CHECK(again.rows == 2);
    CHECK(store.flush());
    CHECK(store.last_error().empty());
}

TEST_CASE("sqlite store: a refresh rewrites the AOR's row, and only that", "[sqlite][durable]") {
    // One binding in memory and one row in the file: an UPDATE in place. One binding in
    // memory but two rows in the file (a binding removed): the AOR is rewritten.
    TempDir dir;
    const auto file = dir.file("location.sqlite");
    const TimePoint now = Clock::now();
    SqliteStoreOptions options;
    options.batch_interval = 20ms;
    {
        auto opened = SqliteLocationStore::open(file, options, now);
        REQUIRE(opened);
        auto& store = **opened;
        Registrar registrar(store, {});
        Observer observer(file);

        Seen first, refresh;
        REQUIRE(registrar
                    .handle(reg("alice@example.test", "sip:a@192.0.2.1", 3600, now),
                            first.callback(observer, "alice@example.test"))
                    .ok());
        REQUIRE(first.wait());
        CHECK(first.error.empty());
        CHECK(first.rows == 1);  // a new AOR: the UPDATE finds no row, the INSERT writes it
        auto again = reg("alice@example.test", "sip:a@192.0.2.1", 600, now);
        again.cseq = 2;
        again.user_agent = "refreshed";
        REQUIRE(registrar.handle(again, refresh.callback(observer, "alice@example.test")).ok());
        REQUIRE(refresh.wait());
        CHECK(refresh.error.empty());
        CHECK(refresh.rows == 1);

        Seen second, gone;
        auto other = reg("bob@example.test", "sip:b1@192.0.2.2", 3600, now);
        REQUIRE(registrar.handle(other, second.callback(observer, "bob@example.test")).ok());
        REQUIRE(second.wait());
        CHECK(second.rows == 1);
        auto phone2 = reg("bob@example.test", "sip:b2@192.0.2.3", 3600, now);
        phone2.call_id = "phone2@ua";
        Seen added;
        REQUIRE(registrar.handle(phone2, added.callback(observer, "bob@example.test")).ok());
        REQUIRE(added.wait());
        CHECK(added.rows == 2);
        auto leaves = reg("bob@example.test", "sip:b1@192.0.2.2", 0, now);
        leaves.cseq = 2;
        REQUIRE(registrar.handle(leaves, gone.callback(observer, "bob@example.test")).ok());
        REQUIRE(gone.wait());
        CHECK(gone.error.empty());
        CHECK(gone.rows == 1);
        CHECK(store.flush());
    }
    auto reopened = SqliteLocationStore::open(file, options, now);
    REQUIRE(reopened);
    auto alice = (*reopened)->lookup("alice@example.test", now);
    REQUIRE(alice.size() == 1);
    CHECK(alice[0].cseq == 2);
    CHECK(alice[0].user_agent == "refreshed");
    CHECK(alice[0].expires_at <= now + std::chrono::seconds(601));
    auto bob = (*reopened)->lookup("bob@example.test", now);
    REQUIRE(bob.size() == 1);
    CHECK(bob[0].contact == "sip:b2@192.0.2.3");
}
