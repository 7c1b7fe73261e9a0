#include "registrar/sqlite_location_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <system_error>

#include "base/log.hpp"

#include "base/sqlite_statement.hpp"

namespace sipproxy::registrar {

namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS bindings (
    aor            TEXT    NOT NULL,
    contact        TEXT    NOT NULL,
    expires_at     INTEGER NOT NULL,  -- ms since the epoch
    q              INTEGER NOT NULL,  -- per mille
    call_id        TEXT    NOT NULL,
    cseq           INTEGER NOT NULL,
    transport      TEXT    NOT NULL,
    source_address TEXT    NOT NULL,
    source_port    INTEGER NOT NULL,
    user_agent     TEXT    NOT NULL,
    path           TEXT    NOT NULL,  -- Path URIs separated by newlines
    instance       TEXT    NOT NULL,
    reg_id         INTEGER NOT NULL,
    registered_at  INTEGER NOT NULL   -- ms since the epoch
);
CREATE INDEX IF NOT EXISTS bindings_by_aor ON bindings (aor);
)sql";

constexpr const char* kColumns =
    "aor, contact, expires_at, q, call_id, cseq, transport, source_address, source_port, "
    "user_agent, path, instance, reg_id, registered_at";

using Statement = SqliteStatement;

std::string join_path(const std::vector<std::string>& path) {
    std::string out;
    for (const auto& hop : path) {
        if (!out.empty()) out += '\n';
        out += hop;
    }
    return out;
}

std::vector<std::string> split_path(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        auto nl = text.find('\n');
        out.emplace_back(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return out;
}

std::string column_text(sqlite3_stmt* stmt, int i) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt, i)))
             : std::string();
}

void bind_text(sqlite3_stmt* stmt, int i, std::string_view s) {
    sqlite3_bind_text(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
}

// One row of SELECT kColumns into `b` (its strings keep their capacity when reused).
void read_row(sqlite3_stmt* s, Binding& b) {
    b.aor = column_text(s, 0);
    b.contact = column_text(s, 1);
    b.expires_at = detail::from_ms(sqlite3_column_int64(s, 2));
    b.q_permille = static_cast<std::uint16_t>(sqlite3_column_int(s, 3));
    b.call_id = column_text(s, 4);
    b.cseq = static_cast<std::uint32_t>(sqlite3_column_int64(s, 5));
    b.transport = column_text(s, 6);
    b.source_address = column_text(s, 7);
    b.source_port = static_cast<std::uint16_t>(sqlite3_column_int(s, 8));
    b.user_agent = column_text(s, 9);
    b.path = split_path(column_text(s, 10));
    b.instance = column_text(s, 11);
    b.reg_id = static_cast<std::uint32_t>(sqlite3_column_int64(s, 12));
    b.registered_at = detail::from_ms(sqlite3_column_int64(s, 13));
    b.flow_id = 0;  // connections do not survive a restart
}

// Whether two bindings are the same registration (same REGISTER), so that the connection
// of one may be kept for the other.
bool same_registration(const Binding& a, const Binding& b) {
    return a.contact == b.contact && a.call_id == b.call_id && a.cseq == b.cseq &&
           a.instance == b.instance && a.reg_id == b.reg_id;
}

}  // namespace

Expected<std::unique_ptr<SqliteLocationStore>, std::string> SqliteLocationStore::open(
    const std::filesystem::path& path, SqliteStoreOptions options, TimePoint now) {
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close(db);
        std::error_code ec;
        auto dir = path.parent_path();
        if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
            message += " (folder " + dir.string() + " does not exist)";
        return Unexpected("cannot open location store " + path.string() + ": " + message);
    }
    std::unique_ptr<SqliteLocationStore> store(
        new SqliteLocationStore(path, options, db));  // owns db from here
    if (auto ok = store->initialize(now); !ok)
        return Unexpected("cannot open location store " + path.string() + ": " + ok.error());
    store->writer_ = std::thread([s = store.get()] { s->writer_loop(); });
    return store;
}

SqliteLocationStore::SqliteLocationStore(std::filesystem::path path, SqliteStoreOptions options,
                                         sqlite3* db)
    : path_(std::move(path)), options_(options), db_(db) {
    if (options_.max_batch == 0) options_.max_batch = 1;
}

SqliteLocationStore::~SqliteLocationStore() {
    if (writer_.joinable()) {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        wake_writer_.notify_all();
        writer_.join();
    }
    write_.reset();  // finalized before the close
    sqlite3_close_v2(db_);
}

Expected<bool, std::string> SqliteLocationStore::initialize(TimePoint now) {
    auto error = [&] { return Unexpected(std::string(sqlite3_errmsg(db_))); };
    sqlite3_busy_timeout(db_, static_cast<int>(options_.busy_timeout.count()));
    // WAL: the writer never blocks readers of the file (sqlite3 CLI, backups); NORMAL: a
    // commit survives a crash of the process (not necessarily of the machine) without fsync.
    if (sqlite3_exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", nullptr, nullptr,
                     nullptr) != SQLITE_OK)
        return error();

    {
        Statement version;
        if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &version.stmt, nullptr) !=
                SQLITE_OK ||
            sqlite3_step(version.stmt) != SQLITE_ROW)
            return error();
        int v = sqlite3_column_int(version.stmt, 0);
        if (v > kSchemaVersion)
            return Unexpected("schema version " + std::to_string(v) +
                              " is newer than this sipproxy understands (" +
                              std::to_string(kSchemaVersion) + ")");
    }
    if (sqlite3_exec(db_, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) return error();
    if (sqlite3_exec(db_, ("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str(),
                     nullptr, nullptr, nullptr) != SQLITE_OK)
        return error();

    const auto now_ms = detail::to_ms(now);
    {
        Statement purge;
        if (sqlite3_prepare_v2(db_, "DELETE FROM bindings WHERE expires_at <= ?", -1, &purge.stmt,
                               nullptr) != SQLITE_OK)
            return error();
        sqlite3_bind_int64(purge.stmt, 1, now_ms);
        if (sqlite3_step(purge.stmt) != SQLITE_DONE) return error();
        expired_at_open_ = static_cast<std::size_t>(sqlite3_changes(db_));
    }
    {
        Statement count;
        if (sqlite3_prepare_v2(db_, "SELECT COUNT(*) FROM bindings", -1, &count.stmt, nullptr) !=
                SQLITE_OK ||
            sqlite3_step(count.stmt) != SQLITE_ROW)
            return error();
        index_.reserve(static_cast<std::size_t>(sqlite3_column_int64(count.stmt, 0)));
    }
    {
        Statement select;
        std::string sql = std::string("SELECT ") + kColumns + " FROM bindings";
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &select.stmt, nullptr) != SQLITE_OK)
            return error();
        Binding b;  // reused: its strings keep their capacity from row to row
        int rc;
        while ((rc = sqlite3_step(select.stmt)) == SQLITE_ROW) {
            read_row(select.stmt, b);
            index_.load_one(b);
            ++loaded_;
        }
        if (rc != SQLITE_DONE) return error();
    }
    return true;
}

std::vector<Binding> SqliteLocationStore::lookup(std::string_view aor, TimePoint now) const {
    return index_.lookup(aor, now);
}

bool SqliteLocationStore::apply(std::string_view aor, TimePoint now, const Mutation& mutate,
                                Committed committed) {
    auto mark = [&](std::vector<Binding>& bindings) {
        const Mutated m = mutate(bindings);
        if (!m) return false;
        mark_dirty(aor, std::move(committed), m.refresh_only);  // still under the AOR's lock
        return true;
    };
    bool changed;
    try {
        changed = index_.apply(aor, now, mark);
    } catch (...) {  // nothing changed: told, so that nobody waits for ever
        if (committed) committed("");
        throw;
    }
    if (!changed && committed) committed("");
    return changed;
}

std::size_t SqliteLocationStore::remove_aor(std::string_view aor, Committed committed) {
    std::size_t n = index_.erase(aor, [&] { mark_dirty(aor, std::move(committed), false); });
    if (n == 0 && committed) committed("");
    return n;
}

std::vector<Binding> SqliteLocationStore::list(std::string_view aor, TimePoint now,
                                               std::size_t limit) const {
    return index_.list(aor, now, limit);
}

std::size_t SqliteLocationStore::purge_expired(TimePoint now, const Expired& expired) {
    std::vector<std::string> touched;
    std::size_t n = index_.purge_expired(now, &touched, expired);
    if (!touched.empty()) mark_dirty(std::move(touched));
    return n;
}

std::vector<std::string> SqliteLocationStore::aors_using_flow(std::uint64_t flow_id) const {
    return index_.aors_using_flow(flow_id);
}

void SqliteLocationStore::load(std::vector<Binding> bindings) {
    std::vector<std::string> aors;
    aors.reserve(bindings.size());
    for (const auto& b : bindings) {
        index_.load_one(b);
        aors.push_back(b.aor);
    }
    mark_dirty(std::move(aors));
}

void SqliteLocationStore::mark_dirty(std::string_view aor, Committed committed, bool refresh) {
    bool wake;
    {
        std::lock_guard lock(mu_);
        // The writer looks at dirty_ when its gathering interval ends: no need to wake it,
        // unless it waits out the refresh interval and this change is one to hurry for.
        wake = (dirty_.empty() && !gathering_) || (!refresh && waiting_for_refreshes_);
        if (!refresh) ++urgent_;
        dirty_.push_back({std::string(aor), ++marked_, std::move(committed)});
    }
    if (wake) wake_writer_.notify_one();
}

void SqliteLocationStore::mark_dirty(std::vector<std::string> aors) {
    if (aors.empty()) return;
    {
        std::lock_guard lock(mu_);
        const auto seq = ++marked_;
        ++urgent_;
        dirty_.reserve(dirty_.size() + aors.size());
        for (auto& aor : aors) dirty_.push_back({std::move(aor), seq, {}});
    }
    wake_writer_.notify_one();
}

bool SqliteLocationStore::flush() {
    std::unique_lock lock(mu_);
    const auto target = marked_;
    const auto failures = failures_;
    if (committed_ >= target) return true;
    flush_requested_ = true;
    wake_writer_.notify_one();
    written_.wait(lock, [&] { return committed_ >= target || failures_ != failures; });
    return committed_ >= target;
}

std::string SqliteLocationStore::last_error() const {
    std::lock_guard lock(mu_);
    return last_error_;
}

void SqliteLocationStore::writer_loop() {
    std::unique_lock lock(mu_);
    // The last batch wrote something: gather the next one on the clock, so that the workers
    // need not wake this thread for it (gathering_: mark_dirty does not notify).
    bool busy = false;
    for (;;) {
        if (!busy || stopping_ || flush_requested_) {
            wake_writer_.wait(lock,
                              [&] { return stopping_ || flush_requested_ || !dirty_.empty(); });
            if (dirty_.empty()) {
                // No batch in flight and nothing waiting.
                committed_ = marked_;
                flush_requested_ = false;
                written_.notify_all();
                if (stopping_) return;
                continue;
            }
        }
        busy = false;
        // Gather changes for a while: one transaction for many REGISTERs.
        auto hurry = [&] { return stopping_ || flush_requested_; };
        if (!hurry()) {
            gathering_ = true;
            const auto started = std::chrono::steady_clock::now();
            wake_writer_.wait_for(lock, options_.batch_interval, hurry);
            // Only refreshes, which nobody waits for: gather them for longer (one
            // transaction a second instead of fifty), unless a change somebody waits for
            // comes; then it goes with the usual interval.
            if (urgent_ == 0 && !dirty_.empty() && !hurry()) {
                waiting_for_refreshes_ = true;
                wake_writer_.wait_until(lock, started + options_.refresh_interval,
                                        [&] { return hurry() || urgent_ > 0; });
                waiting_for_refreshes_ = false;
                if (urgent_ > 0) wake_writer_.wait_for(lock, options_.batch_interval, hurry);
            }
            gathering_ = false;
        }
        if (dirty_.empty()) continue;  // gathered after a batch, and nothing came: wait to be woken
        busy = true;
        flush_requested_ = false;
        urgent_ = 0;
        std::vector<Change> batch;
        batch.swap(dirty_);
        const auto seq = marked_;
        lock.unlock();

        std::vector<std::string> aors;
        aors.reserve(batch.size());
        for (const auto& c : batch) aors.push_back(c.aor);
        std::sort(aors.begin(), aors.end());
        aors.erase(std::unique(aors.begin(), aors.end()), aors.end());
        std::string error;
        std::vector<std::string> failed;  // AORs whose write failed, in order
        for (std::size_t first = 0; first < aors.size(); first += options_.max_batch) {
            std::size_t last = std::min(aors.size(), first + options_.max_batch);
            std::vector<std::string> part(aors.begin() + static_cast<std::ptrdiff_t>(first),
                                          aors.begin() + static_cast<std::ptrdiff_t>(last));
            if (auto e = write_batch(part); !e.empty()) {
                error = e;
                failed.insert(failed.end(), std::make_move_iterator(part.begin()),
                              std::make_move_iterator(part.end()));
            }
        }

        std::vector<std::string> unreadable;  // failed, and the file could not be read back
        if (!error.empty()) {
            log::error("location store {}: write failed, the changes of {} AOR(s) are undone: {}",
                       path_.string(), failed.size(), error);
            for (const auto& aor : failed) {
                if (auto e = undo(aor); !e.empty()) {
                    log::error("location store {}: cannot read back {}: {}", path_.string(), aor,
                               e);
                    unreadable.push_back(aor);
                }
            }
        }
        auto failed_aor = [&](const std::string& aor) {
            return std::binary_search(failed.begin(), failed.end(), aor);
        };

        lock.lock();
        std::vector<Change> undone = take_undone();
        // Whatever could not be read back stays dirty: memory may be ahead of the file
        // until a later write succeeds.
        for (const auto& aor : unreadable) dirty_.push_back({aor, seq, {}});
        urgent_ += unreadable.size();
        last_error_ = error;
        lock.unlock();

        // Tell the callers, without the lock (a callback posts to a worker's executor).
        for (auto& c : batch)
            if (c.committed) c.committed(failed_aor(c.aor) ? error : std::string());
        for (auto& c : undone)
            if (c.committed) c.committed(error);

        // Only now may flush() return: a caller that flushes before tearing down what the
        // callbacks post to (the workers' executors) must not race with them.
        lock.lock();
        if (error.empty())
            committed_ = std::max(committed_, seq);
        else
            ++failures_;
        written_.notify_all();
        if (!unreadable.empty()) {
            if (stopping_) return;  // nothing more to try
            wake_writer_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
        }
    }
}

std::vector<SqliteLocationStore::Change> SqliteLocationStore::take_undone() {
    std::vector<Change> out;
    if (undone_.empty()) return out;
    auto undone = [&](const Change& c) {
        auto it = undone_.find(c.aor);
        return it != undone_.end() && c.seq <= it->second;
    };
    auto first = std::stable_partition(dirty_.begin(), dirty_.end(),
                                       [&](const Change& c) { return !undone(c); });
    out.assign(std::make_move_iterator(first), std::make_move_iterator(dirty_.end()));
    dirty_.erase(first, dirty_.end());
    undone_.clear();
    return out;
}

std::string SqliteLocationStore::undo(const std::string& aor) {
    std::vector<Binding> on_disk;
    {
        Statement select;
        std::string sql = std::string("SELECT ") + kColumns + " FROM bindings WHERE aor = ?";
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &select.stmt, nullptr) != SQLITE_OK)
            return sqlite3_errmsg(db_);
        bind_text(select.stmt, 1, aor);
        int rc;
        while ((rc = sqlite3_step(select.stmt)) == SQLITE_ROW)
            read_row(select.stmt, on_disk.emplace_back());
        if (rc != SQLITE_DONE) return sqlite3_errmsg(db_);
    }
    index_.apply(aor, Clock::now(), [&](std::vector<Binding>& bindings) {
        // A binding that is still the one on disk keeps its connection (RFC 5626 flow).
        for (auto& d : on_disk)
            for (const auto& m : bindings)
                if (same_registration(d, m)) d.flow_id = m.flow_id;
        bindings = std::move(on_disk);
        // Under the AOR's lock: every change of it marked so far was made on what is undone.
        std::lock_guard lock(mu_);
        undone_[aor] = marked_;
        return true;
    });
    return {};
}

std::string SqliteLocationStore::write_batch(const std::vector<std::string>& aors) {
    if (!write_) {
        auto w = std::make_unique<WriteStatements>();
        const std::string insert_sql = std::string("INSERT INTO bindings (") + kColumns +
                                       ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
        auto prepare = [&](const char* sql, SqliteStatement& st) {
            return sqlite3_prepare_v2(db_, sql, -1, &st.stmt, nullptr) == SQLITE_OK;
        };
        if (!prepare("BEGIN IMMEDIATE", w->begin) || !prepare("COMMIT", w->commit) ||
            !prepare("ROLLBACK", w->rollback) ||
            !prepare("DELETE FROM bindings WHERE aor = ?", w->delete_aor) ||
            !prepare(insert_sql.c_str(), w->insert) ||
            !prepare("UPDATE bindings SET contact=?2, expires_at=?3, q=?4, call_id=?5, cseq=?6, "
                     "transport=?7, source_address=?8, source_port=?9, user_agent=?10, "
                     "path=?11, instance=?12, reg_id=?13, registered_at=?14 WHERE aor=?1",
                     w->update_only))
            return sqlite3_errmsg(db_);
        write_ = std::move(w);
    }
    WriteStatements& w = *write_;
    // Each statement is reset after its step, also when the step failed (a kept statement
    // must not stay active), and its error read before the reset.
    auto run = [&](sqlite3_stmt* st) {
        const bool ok = sqlite3_step(st) == SQLITE_DONE;
        std::string message = ok ? std::string() : std::string(sqlite3_errmsg(db_));
        sqlite3_reset(st);
        return message;
    };
    if (auto e = run(w.begin.stmt); !e.empty()) return e;

    std::string message;
    auto fail = [&] {
        run(w.rollback.stmt);
        return message;
    };
    auto bind_binding = [&](sqlite3_stmt* s, const Binding& b, const std::string& path) {
        bind_text(s, 1, b.aor);
        bind_text(s, 2, b.contact);
        sqlite3_bind_int64(s, 3, detail::to_ms(b.expires_at));
        sqlite3_bind_int(s, 4, b.q_permille);
        bind_text(s, 5, b.call_id);
        sqlite3_bind_int64(s, 6, b.cseq);
        bind_text(s, 7, b.transport);
        bind_text(s, 8, b.source_address);
        sqlite3_bind_int(s, 9, b.source_port);
        bind_text(s, 10, b.user_agent);
        bind_text(s, 11, path);
        bind_text(s, 12, b.instance);
        sqlite3_bind_int64(s, 13, b.reg_id);
        sqlite3_bind_int64(s, 14, detail::to_ms(b.registered_at));
    };
    const auto now = Clock::now();
    for (const auto& aor : aors) {
        // The current state, not the state when the AOR was marked: the newest wins.
        const auto bindings = index_.lookup(aor, now);
        // The common case, a refresh of an AOR's one binding: one UPDATE of its row in
        // place (the aor index untouched). Only if the file held exactly that one row;
        // several: rewritten below (in this transaction, so an UPDATE of several rows is
        // replaced before anyone can read it); none (a new AOR): inserted, no DELETE.
        int rows_updated = -1;  // -1: no UPDATE tried
        if (bindings.size() == 1 && bindings[0].aor == aor) {
            const std::string path = join_path(bindings[0].path);
            bind_binding(w.update_only.stmt, bindings[0], path);
            if (message = run(w.update_only.stmt); !message.empty()) return fail();
            rows_updated = sqlite3_changes(db_);
            if (rows_updated == 1) continue;
        }
        if (rows_updated != 0) {
            bind_text(w.delete_aor.stmt, 1, aor);
            if (message = run(w.delete_aor.stmt); !message.empty()) return fail();
        }
        for (const auto& b : bindings) {
            const std::string path = join_path(b.path);
            bind_binding(w.insert.stmt, b, path);
            if (message = run(w.insert.stmt); !message.empty()) return fail();
        }
    }
    if (message = run(w.commit.stmt); !message.empty()) return fail();
    return {};
}

}  // namespace sipproxy::registrar
