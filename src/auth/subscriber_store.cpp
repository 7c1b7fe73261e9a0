#include "auth/subscriber_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <mutex>

#include "auth/digest.hpp"
#include "auth/text.hpp"

#include "base/sqlite_statement.hpp"

namespace sipproxy::auth {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS users (
    name       TEXT    NOT NULL PRIMARY KEY,
    realm      TEXT    NOT NULL,
    ha1_md5    TEXT    NOT NULL,  -- lower-case hex, '' when not set
    ha1_sha256 TEXT    NOT NULL,
    updated    INTEGER NOT NULL   -- ms since the epoch
);
)sql";

using Statement = SqliteStatement;

std::string text_column(sqlite3_stmt* s, int i) {
    const auto* p = sqlite3_column_text(s, i);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
             : std::string();
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

Expected<std::unique_ptr<SubscriberStore>, std::string> SubscriberStore::open(
    const std::filesystem::path& file, std::string realm) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                   nullptr);
    auto fail = [&](const std::string& what) -> Unexpected<std::string> {
        std::string msg = file.string() + ": " + what + ": " + (db ? sqlite3_errmsg(db) : "?");
        sqlite3_close(db);
        return Unexpected{msg};
    };
    if (rc != SQLITE_OK) return fail("cannot open");
    sqlite3_busy_timeout(db, 2000);
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr,
                     nullptr) != SQLITE_OK ||
        sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK)
        return fail("cannot set up the users table");

    std::unique_ptr<SubscriberStore> store(new SubscriberStore(file, std::move(realm), db));
    Statement q;
    if (sqlite3_prepare_v2(db, "SELECT name, realm, ha1_md5, ha1_sha256, updated FROM users", -1,
                           &q.stmt, nullptr) != SQLITE_OK)
        return Unexpected{file.string() + ": cannot read users: " + sqlite3_errmsg(db)};
    std::unique_lock lock(store->mutex_);
    int step;
    while ((step = sqlite3_step(q.stmt)) == SQLITE_ROW) {
        if (text_column(q.stmt, 1) != store->realm_) {
            ++store->other_realm_;
            continue;
        }
        auto u = std::make_shared<StoredUser>();
        u->name = text_column(q.stmt, 0);
        u->ha1_md5 = text_column(q.stmt, 2);
        u->ha1_sha256 = text_column(q.stmt, 3);
        store->index(std::move(u), sqlite3_column_int64(q.stmt, 4));
    }
    if (step != SQLITE_DONE)
        return Unexpected{file.string() + ": cannot read users: " + sqlite3_errmsg(db)};
    return store;
}

SubscriberStore::SubscriberStore(std::filesystem::path file, std::string realm, sqlite3* db)
    : file_(std::move(file)), realm_(std::move(realm)), db_(db) {}

SubscriberStore::~SubscriberStore() { sqlite3_close(db_); }

void SubscriberStore::index(User u, std::int64_t updated_ms) {
    if (hashed_) {
        by_userhash_md5_[compute_userhash(Algorithm::md5, u->name, realm_).str()] = u;
        by_userhash_sha256_[compute_userhash(Algorithm::sha256, u->name, realm_).str()] = u;
    }
    const std::string name = u->name;
    by_name_[name] = Entry{std::move(u), updated_ms};
}

void SubscriberStore::unindex(const StoredUser& u) {
    if (hashed_) {
        by_userhash_md5_.erase(compute_userhash(Algorithm::md5, u.name, realm_).str());
        by_userhash_sha256_.erase(compute_userhash(Algorithm::sha256, u.name, realm_).str());
    }
    by_name_.erase(u.name);
}

void SubscriberStore::hash_all() const {
    if (hashed_) return;
    for (const auto& [name, e] : by_name_) {
        by_userhash_md5_[compute_userhash(Algorithm::md5, name, realm_).str()] = e.user;
        by_userhash_sha256_[compute_userhash(Algorithm::sha256, name, realm_).str()] = e.user;
    }
    hashed_ = true;
}

SubscriberStore::User SubscriberStore::find(std::string_view name) const {
    std::shared_lock lock(mutex_);
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second.user;
}

SubscriberStore::User SubscriberStore::find_by_userhash(Algorithm a,
                                                        std::string_view userhash) const {
    std::string lower(userhash);
    for (char& c : lower) c = ascii_lower(c);
    {
        std::shared_lock lock(mutex_);
        if (!hashed_) {
            lock.unlock();
            std::unique_lock write(mutex_);
            hash_all();
        }
    }
    std::shared_lock lock(mutex_);
    const auto& index = a == Algorithm::md5 ? by_userhash_md5_ : by_userhash_sha256_;
    auto it = index.find(lower);
    return it == index.end() ? nullptr : it->second;
}

std::optional<std::string> SubscriberStore::put(const std::string& name, std::string ha1_md5,
                                                 std::string ha1_sha256, bool replace) {
    if (name.empty() || name.size() > 128 || has_control_char(name) ||
        name.find_first_of(":\"@ \t") != std::string::npos)
        return std::string("expected a user name without ':', '@', '\"' or spaces");
    for (char& c : ha1_md5) c = ascii_lower(c);
    for (char& c : ha1_sha256) c = ascii_lower(c);
    if (!ha1_md5.empty() && (ha1_md5.size() != 32 || !is_hex(ha1_md5)))
        return std::string("ha1_md5 must be 32 hex digits");
    if (!ha1_sha256.empty() && (ha1_sha256.size() != 64 || !is_hex(ha1_sha256)))
        return std::string("ha1_sha256 must be 64 hex digits");
    if (ha1_md5.empty() && ha1_sha256.empty())
        return std::string("needs a password, ha1_md5 or ha1_sha256");
    {
        std::shared_lock lock(mutex_);
        const bool exists = by_name_.count(name) > 0;
        if (exists && !replace) return "user " + name + " exists";
        if (!exists && replace) return "no such user: " + name;
    }
    const auto updated = now_ms();
    Statement s;
    if (sqlite3_prepare_v2(db_,
                           "INSERT OR REPLACE INTO users (name, realm, ha1_md5, ha1_sha256, updated)"
                           " VALUES (?, ?, ?, ?, ?)",
                           -1, &s.stmt, nullptr) != SQLITE_OK)
        return file_.string() + ": " + sqlite3_errmsg(db_);
    sqlite3_bind_text(s.stmt, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    sqlite3_bind_text(s.stmt, 2, realm_.data(), static_cast<int>(realm_.size()), SQLITE_STATIC);
    sqlite3_bind_text(s.stmt, 3, ha1_md5.data(), static_cast<int>(ha1_md5.size()), SQLITE_STATIC);
    sqlite3_bind_text(s.stmt, 4, ha1_sha256.data(), static_cast<int>(ha1_sha256.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(s.stmt, 5, updated);
    if (sqlite3_step(s.stmt) != SQLITE_DONE)
        return "not saved: " + file_.string() + ": " + sqlite3_errmsg(db_);

    auto u = std::make_shared<StoredUser>();
    u->name = name;
    u->ha1_md5 = std::move(ha1_md5);
    u->ha1_sha256 = std::move(ha1_sha256);
    std::unique_lock lock(mutex_);
    index(std::move(u), updated);
    return std::nullopt;
}

std::optional<std::string> SubscriberStore::remove(const std::string& name) {
    User u = find(name);
    if (!u) return "no such user: " + name;
    Statement s;
    if (sqlite3_prepare_v2(db_, "DELETE FROM users WHERE name = ?", -1, &s.stmt, nullptr) !=
        SQLITE_OK)
        return file_.string() + ": " + sqlite3_errmsg(db_);
    sqlite3_bind_text(s.stmt, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    if (sqlite3_step(s.stmt) != SQLITE_DONE)
        return "not removed: " + file_.string() + ": " + sqlite3_errmsg(db_);
    std::unique_lock lock(mutex_);
    unindex(*u);
    return std::nullopt;
}

std::vector<SubscriberStore::Listed> SubscriberStore::list() const {
    std::vector<Listed> out;
    {
        std::shared_lock lock(mutex_);
        out.reserve(by_name_.size());
        for (const auto& [name, e] : by_name_)
            out.push_back({name, !e.user->ha1_md5.empty(), !e.user->ha1_sha256.empty(),
                           e.updated_ms});
    }
    std::sort(out.begin(), out.end(), [](const Listed& a, const Listed& b) { return a.name < b.name; });
    return out;
}

std::size_t SubscriberStore::size() const {
    std::shared_lock lock(mutex_);
    return by_name_.size();
}

}  // namespace sipproxy::auth
