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
    // From here on nobody waits inside SQLite for another process's lock: a worker hands
    // its changes to the writer thread, which tries again without holding db_mu_.
    sqlite3_busy_timeout(store->db_, 0);
    if (auto ok = store->open_checkpointer(); !ok)
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
            take_held();  // a worker that never left: its changes are written all the same
            stopping_ = true;
        }
        wake_writer_.notify_all();
        writer_.join();
    }
    sqlite3_close_v2(checkpointer_);
    sqlite3_close_v2(db_);
}

Expected<bool, std::string> SqliteLocationStore::open_checkpointer() {
    if (options_.checkpoint_interval.count() <= 0) return true;  // SQLite's own checkpoints
    int rc = sqlite3_open_v2(path_.c_str(), &checkpointer_, SQLITE_OPEN_READWRITE, nullptr);
    if (rc != SQLITE_OK)
        return Unexpected(std::string(checkpointer_ ? sqlite3_errmsg(checkpointer_)
                                                    : sqlite3_errstr(rc)));
    // Replaces SQLite's automatic checkpoint (itself a WAL hook), which would fsync in
    // whichever thread commits: a worker.
    sqlite3_wal_hook(db_, &SqliteLocationStore::wal_written, this);
    return true;
}

int SqliteLocationStore::wal_written(void* p, sqlite3*, const char*, int) {
    auto* self = static_cast<SqliteLocationStore*>(p);
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    const bool due = now >= self->next_checkpoint_.load(std::memory_order_relaxed);
    // One wake-up of the writer per interval at most: when due, or for the first commit
    // since the last checkpoint (the writer then sleeps until it is due).
    if (!due && self->unsynced_.exchange(true, std::memory_order_relaxed)) return SQLITE_OK;
    {
        std::lock_guard lock(self->mu_);
        if (due) {
            if (self->checkpoint_due_) return SQLITE_OK;
            self->checkpoint_due_ = true;
        }
    }
    self->wake_writer_.notify_one();
    return SQLITE_OK;
}

void SqliteLocationStore::checkpoint() {
    // Commits made while this runs wait for the next one.
    const auto next = std::chrono::steady_clock::now() + options_.checkpoint_interval;
    next_checkpoint_.store(next.time_since_epoch().count(), std::memory_order_relaxed);
    unsynced_.store(false, std::memory_order_relaxed);
    int log_pages = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(checkpointer_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                       &log_pages, &copied);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        log::warn("location store {}: checkpoint failed: {}", path_.string(),
                  sqlite3_errmsg(checkpointer_));
    checkpoints_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t SqliteLocationStore::transactions() const {
    return transactions_.load(std::memory_order_relaxed);
}

std::uint64_t SqliteLocationStore::checkpoints() const {
    return checkpoints_.load(std::memory_order_relaxed);
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
        if (!mutate(bindings)) return false;
        mark_dirty(aor, std::move(committed));  // still under the AOR's lock
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
    std::size_t n = index_.erase(aor, [&] { mark_dirty(aor, std::move(committed)); });
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

namespace {
// The store and thread group of the calling thread (commit_on_this_thread).
thread_local const void* t_store = nullptr;
thread_local void* t_group = nullptr;
}  // namespace

void SqliteLocationStore::commit_on_this_thread(Defer defer) {
    auto group = std::make_unique<ThreadGroup>();
    group->defer = std::move(defer);
    {
        std::lock_guard lock(mu_);
        groups_.push_back(std::move(group));
        t_group = groups_.back().get();
    }
    t_store = this;
}

void SqliteLocationStore::leave_this_thread() {
    if (t_store != this) return;
    auto* group = static_cast<ThreadGroup*>(t_group);
    t_store = nullptr;
    t_group = nullptr;
    std::vector<Change> batch;
    {
        std::lock_guard lock(mu_);
        group->left = true;
        if (group->held.empty()) return;
        batch.swap(group->held);
        group->writing_from = batch.front().seq;
    }
    commit(batch, group->writing_from, true);
}

void SqliteLocationStore::commit_group(ThreadGroup& group) {
    std::vector<Change> batch;
    {
        std::lock_guard lock(mu_);
        group.scheduled = false;
        if (group.held.empty()) return;  // flush() gave them to the writer, or left
        batch.swap(group.held);
        group.writing_from = batch.front().seq;
    }
    commit(batch, group.writing_from, true);
}

void SqliteLocationStore::mark_dirty(std::string_view aor, Committed committed) {
    auto* group = t_store == this ? static_cast<ThreadGroup*>(t_group) : nullptr;
    bool wake = false, schedule = false;
    {
        std::lock_guard lock(mu_);
        Change c{std::string(aor), ++marked_, std::move(committed)};
        if (group && !group->left) {
            group->held.push_back(std::move(c));
            schedule = !group->scheduled;
            group->scheduled = true;
        } else {
            wake = dirty_.empty();
            dirty_.push_back(std::move(c));
        }
    }
    if (wake) wake_writer_.notify_one();
    // Runs after the handler that made the change: the rest of its batch joins it.
    if (schedule) group->defer([this, group] { commit_group(*group); });
}

void SqliteLocationStore::mark_dirty(std::vector<std::string> aors) {
    if (aors.empty()) return;
    {
        std::lock_guard lock(mu_);
        const auto seq = ++marked_;
        dirty_.reserve(dirty_.size() + aors.size());
        for (auto& aor : aors) dirty_.push_back({std::move(aor), seq, {}});
    }
    wake_writer_.notify_one();
}

void SqliteLocationStore::take_held() {
    auto by_seq = [](const Change& a, const Change& b) { return a.seq < b.seq; };
    for (auto& g : groups_) {
        if (g->held.empty()) continue;
        const auto mid = static_cast<std::ptrdiff_t>(dirty_.size());
        dirty_.insert(dirty_.end(), std::make_move_iterator(g->held.begin()),
                      std::make_move_iterator(g->held.end()));
        g->held.clear();
        std::inplace_merge(dirty_.begin(), dirty_.begin() + mid, dirty_.end(), by_seq);
    }
}

void SqliteLocationStore::advance_watermark() {
    std::uint64_t low = marked_ + 1;  // the lowest change not finished yet
    if (!dirty_.empty()) low = std::min(low, dirty_.front().seq);
    if (writer_from_) low = std::min(low, writer_from_);
    for (const auto& g : groups_) {
        if (!g->held.empty()) low = std::min(low, g->held.front().seq);
        if (g->writing_from) low = std::min(low, g->writing_from);
    }
    committed_ = std::max(committed_, low - 1);
    // An undone AOR matters while a change it lost may still be written.
    std::erase_if(undone_, [&](const auto& u) { return u.second.seq <= committed_; });
}

bool SqliteLocationStore::flush() {
    std::unique_lock lock(mu_);
    // Held changes of the workers go to the writer: flush() never waits for a worker's loop.
    take_held();
    const auto target = marked_;
    const auto failures = failures_;
    advance_watermark();
    if (committed_ >= target) return true;
    flush_requested_ = true;
    wake_writer_.notify_one();
    written_.wait(lock, [&] { return committed_ >= target; });
    return failures_ == failures;
}

std::string SqliteLocationStore::last_error() const {
    std::lock_guard lock(mu_);
    return last_error_;
}

void SqliteLocationStore::writer_loop() {
    std::unique_lock lock(mu_);
    for (;;) {
        auto ready = [&] {
            return stopping_ || flush_requested_ || checkpoint_due_ || !dirty_.empty();
        };
        if (unsynced_.load(std::memory_order_relaxed)) {
            // Commits not synced yet: checkpoint when the interval is over.
            const std::chrono::steady_clock::time_point due{std::chrono::steady_clock::duration(
                next_checkpoint_.load(std::memory_order_relaxed))};
            if (!wake_writer_.wait_until(lock, due, ready)) checkpoint_due_ = true;
        } else {
            wake_writer_.wait(lock, [&] { return ready() || unsynced_.load(); });
            if (!ready()) continue;  // the first commit since a checkpoint: wait for its turn
        }
        if (checkpoint_due_ && !stopping_) {
            checkpoint_due_ = false;
            lock.unlock();
            checkpoint();
            lock.lock();
            continue;
        }
        if (dirty_.empty()) {
            flush_requested_ = false;
            advance_watermark();
            written_.notify_all();
            if (stopping_) return;
            continue;
        }
        // Gather changes for a while: one transaction for many.
        if (!stopping_ && !flush_requested_) {
            wake_writer_.wait_for(lock, options_.batch_interval,
                                  [&] { return stopping_ || flush_requested_; });
        }
        flush_requested_ = false;
        std::vector<Change> batch;
        batch.swap(dirty_);
        writer_from_ = batch.front().seq;
        lock.unlock();
        const bool unreadable = !commit(batch, writer_from_, false);
        lock.lock();
        if (unreadable) {
            // What could not be read back is dirty again: try again in a while.
            if (stopping_) return;  // nothing more to try
            wake_writer_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
        }
    }
}

bool SqliteLocationStore::commit(std::vector<Change>& batch, std::uint64_t& writing_from,
                                 bool worker) {
    std::vector<std::string> aors;
    aors.reserve(batch.size());
    for (const auto& c : batch) aors.push_back(c.aor);
    std::sort(aors.begin(), aors.end());
    aors.erase(std::unique(aors.begin(), aors.end()), aors.end());

    std::string error;
    std::vector<std::string> failed;      // AORs whose write failed
    std::vector<std::string> unreadable;  // failed, and the file could not be read back
    std::vector<std::string> handed;      // a worker found the file locked: for the writer
    std::vector<std::string> outcome(batch.size());
    bool wrote = false;
    for (std::size_t first = 0; first < aors.size(); first += options_.max_batch) {
        const std::size_t last = std::min(aors.size(), first + options_.max_batch);
        const std::vector<std::string> part(aors.begin() + static_cast<std::ptrdiff_t>(first),
                                            aors.begin() + static_cast<std::ptrdiff_t>(last));
        const auto deadline = std::chrono::steady_clock::now() + options_.busy_timeout;
        for (;;) {
            std::unique_lock db(db_mu_);
            std::string e;
            const int rc = write_batch(part, e);
            if (rc == SQLITE_BUSY) {
                // Another process holds the file's write lock (an sqlite3 shell, a backup).
                // A worker never waits for it: the writer thread does, without db_mu_ held.
                if (worker) {
                    handed.insert(handed.end(), part.begin(), part.end());
                    break;
                }
                if (std::chrono::steady_clock::now() < deadline) {
                    db.unlock();
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
                    continue;
                }
            }
            wrote = true;
            if (rc == SQLITE_OK) {
                transactions_.fetch_add(1, std::memory_order_relaxed);
            } else {
                error = e;
                log::error(
                    "location store {}: write failed, the changes of {} AOR(s) are undone: {}",
                    path_.string(), part.size(), error);
                for (const auto& aor : part) {
                    failed.push_back(aor);
                    if (auto u = undo(aor, error); !u.empty()) {
                        log::error("location store {}: cannot read back {}: {}", path_.string(),
                                   aor, u);
                        unreadable.push_back(aor);
                    }
                }
            }
            // Still under db_mu_, so that no undo by another thread slips in between a
            // write and its verdict: a change is lost if its AOR failed here, or if another
            // write failed and undid its AOR after the change was made (this write then
            // wrote the file's state).
            std::lock_guard lock(mu_);
            for (std::size_t i = 0; i < batch.size(); ++i) {
                const auto& c = batch[i];
                if (!std::binary_search(part.begin(), part.end(), c.aor)) continue;
                if (rc != SQLITE_OK) {
                    outcome[i] = e;
                } else if (auto u = undone_.find(c.aor);
                           u != undone_.end() && c.seq <= u->second.seq) {
                    outcome[i] = u->second.error;
                }
            }
            break;
        }
    }

    std::vector<Change> to_writer;
    if (!handed.empty()) {
        std::sort(handed.begin(), handed.end());
        std::vector<Change> kept;
        std::vector<std::string> kept_outcome;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (std::binary_search(handed.begin(), handed.end(), batch[i].aor)) {
                to_writer.push_back(std::move(batch[i]));
            } else {
                kept.push_back(std::move(batch[i]));
                kept_outcome.push_back(std::move(outcome[i]));
            }
        }
        batch = std::move(kept);
        outcome = std::move(kept_outcome);
    }
    {
        std::lock_guard lock(mu_);
        // Whatever could not be read back stays dirty: memory may be ahead of the file
        // until a later write succeeds.
        for (const auto& aor : unreadable) dirty_.push_back({aor, ++marked_, {}});
        if (!to_writer.empty()) {
            const auto mid = static_cast<std::ptrdiff_t>(dirty_.size());
            dirty_.insert(dirty_.end(), std::make_move_iterator(to_writer.begin()),
                          std::make_move_iterator(to_writer.end()));
            std::inplace_merge(dirty_.begin(), dirty_.begin() + mid, dirty_.end(),
                               [](const Change& a, const Change& b) { return a.seq < b.seq; });
            flush_requested_ = true;  // no gathering: they have waited already
        }
        if (wrote) last_error_ = error;
    }
    if (!unreadable.empty() || !to_writer.empty()) wake_writer_.notify_one();

    // Tell the callers, without the locks (a callback posts to a worker's executor).
    for (std::size_t i = 0; i < batch.size(); ++i)
        if (batch[i].committed) batch[i].committed(outcome[i]);

    // Only now may flush() return: a caller that flushes before tearing down what the
    // callbacks post to (the workers' executors) must not race with them.
    {
        std::lock_guard lock(mu_);
        if (!error.empty()) ++failures_;
        writing_from = 0;
        advance_watermark();
    }
    written_.notify_all();
    return unreadable.empty();
}

std::string SqliteLocationStore::undo(const std::string& aor, const std::string& error) {
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
        undone_[aor] = Undone{marked_, error};
        return true;
    });
    return {};
}

int SqliteLocationStore::write_batch(const std::vector<std::string>& aors, std::string& error) {
    // Statements prepared once per batch: cheap next to the rows they write.
    Statement del, ins;
    std::string insert_sql =
        std::string("INSERT INTO bindings (") + kColumns + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    if (sqlite3_prepare_v2(db_, "DELETE FROM bindings WHERE aor = ?", -1, &del.stmt, nullptr) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db_, insert_sql.c_str(), -1, &ins.stmt, nullptr) != SQLITE_OK) {
        error = sqlite3_errmsg(db_);
        return sqlite3_errcode(db_);
    }
    if (int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr); rc != SQLITE_OK) {
        error = sqlite3_errmsg(db_);
        return rc;
    }

    auto fail = [&] {
        const int rc = sqlite3_errcode(db_);
        error = sqlite3_errmsg(db_);
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return rc == SQLITE_OK ? SQLITE_ERROR : rc;
    };
    const auto now = Clock::now();
    for (const auto& aor : aors) {
        bind_text(del.stmt, 1, aor);
        if (sqlite3_step(del.stmt) != SQLITE_DONE) return fail();
        sqlite3_reset(del.stmt);
        // The current state, not the state when the AOR was marked: the newest wins.
        for (const auto& b : index_.lookup(aor, now)) {
            std::string path = join_path(b.path);
            sqlite3_stmt* s = ins.stmt;
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
            if (sqlite3_step(s) != SQLITE_DONE) return fail();
            sqlite3_reset(s);
        }
    }
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return fail();
    return SQLITE_OK;
}

}  // namespace sipproxy::registrar
