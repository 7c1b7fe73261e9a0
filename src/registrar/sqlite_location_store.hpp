#pragma once
// The default LocationStore: every read is served by an in-memory index (MemoryLocationStore);
// a SQLite file makes the bindings survive a restart. A change is written in a transaction
// with the others made near it, then its `Committed` callback is told, so a REGISTER is
// answered only once its binding would survive a crash of sipproxyd (kill -9):
//  - on a worker (commit_on_this_thread): at the end of the worker's turn, by the worker
//    itself, one transaction for every change of that turn (one batch of received
//    datagrams): no thread hop, no timer, the 200 OK leaves in the same turn;
//  - anywhere else (control commands, purges): by one writer thread, which gathers changes
//    for batch_interval and writes them in one transaction.
// Durability: WAL with synchronous=NORMAL: a commit is in the WAL file (written, in the
// kernel's page cache) when it returns, so it survives the process being killed; a power
// failure or a kernel crash may lose up to checkpoint_interval (1 s) of changes: the writer
// thread checkpoints (fsync) that long after a commit at the latest, over a connection of
// its own, never on a worker.
// When a write fails, the AORs it held are read back from the file into memory (the change
// is undone) and their callers told why; a binding put back that way has no connection
// (flow) if the change had replaced it, as after a restart.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/expected.hpp"
#include "registrar/memory_location_store.hpp"

struct sqlite3;

namespace sipproxy::registrar {

struct SqliteStoreOptions {
    // How long the writer gathers changes before it writes them in one transaction.
    std::chrono::milliseconds batch_interval{20};
    // Largest number of AORs written in one transaction (a burst is written in several).
    std::size_t max_batch = 20000;
    // How long a write waits for another process holding the file's write lock (an sqlite3
    // shell in a transaction, say) before it fails.
    std::chrono::milliseconds busy_timeout{5000};
    // A commit is synced to the disk (a checkpoint: the WAL copied into the file, both
    // fsynced, by the writer thread over a connection of its own) at most this long after
    // it was made. 0: SQLite checkpoints itself every 1000 pages, in whichever thread
    // commits (a worker).
    std::chrono::milliseconds checkpoint_interval{1000};
};

class SqliteLocationStore final : public LocationStore {
  public:
    // Opens (creating if needed) `path`, deletes the expired bindings and loads the others.
    // The error names the file and carries SQLite's message.
    static Expected<std::unique_ptr<SqliteLocationStore>, std::string> open(
        const std::filesystem::path& path, SqliteStoreOptions options = {},
        TimePoint now = Clock::now());

    ~SqliteLocationStore() override;  // writes what is pending, then closes
    SqliteLocationStore(const SqliteLocationStore&) = delete;
    SqliteLocationStore& operator=(const SqliteLocationStore&) = delete;

    std::vector<Binding> lookup(std::string_view aor, TimePoint now) const override;
    bool apply(std::string_view aor, TimePoint now, const Mutation& mutate,
               Committed committed = {}) override;
    std::size_t remove_aor(std::string_view aor, Committed committed = {}) override;
    std::vector<Binding> list(
        std::string_view aor, TimePoint now,
        std::size_t limit = std::numeric_limits<std::size_t>::max()) const override;
    Page list_after(std::string_view after, TimePoint now, std::size_t max_aors) const override {
        return index_.list_after(after, now, max_aors);
    }
    std::size_t count() const override { return index_.count(); }
    std::size_t aor_count() const override { return index_.aor_count(); }
    using LocationStore::purge_expired;
    std::size_t purge_expired(TimePoint now, const Expired& expired) override;
    std::vector<std::string> aors_using_flow(std::uint64_t flow_id) const override;
    void load(std::vector<Binding> bindings) override;
    void commit_on_this_thread(Defer defer) override;
    void leave_this_thread() override;
    bool flush() override;

    const std::filesystem::path& path() const { return path_; }
    // Bindings loaded from the file at open, and expired ones deleted then.
    std::size_t loaded() const { return loaded_; }
    std::size_t expired_at_open() const { return expired_at_open_; }
    // The last write error ("" if none since the last successful commit).
    std::string last_error() const;
    // Transactions committed, and checkpoints run by the writer thread (for tests, bench).
    std::uint64_t transactions() const;
    std::uint64_t checkpoints() const;

  private:
    // One change waiting to be written.
    struct Change {
        std::string aor;
        std::uint64_t seq = 0;  // marked_ when it was marked
        Committed committed;    // may be empty
    };
    // The changes of one worker thread (commit_on_this_thread), written by that thread.
    struct ThreadGroup {
        Defer defer;
        std::vector<Change> held;        // under mu_, in seq order
        std::uint64_t writing_from = 0;  // under mu_: lowest seq being written now, 0 if none
        bool scheduled = false;          // under mu_: a commit task is deferred
        bool left = false;               // under mu_
    };
    // An AOR whose write failed and was read back from the file: changes of it marked up to
    // `seq` were lost, whoever writes them.
    struct Undone {
        std::uint64_t seq = 0;
        std::string error;
    };

    SqliteLocationStore(std::filesystem::path path, SqliteStoreOptions options, sqlite3* db);
    Expected<bool, std::string> initialize(TimePoint now);  // schema, purge, load
    Expected<bool, std::string> open_checkpointer();

    // Called with the AOR's shard locked, right after the change (so that undo() cannot
    // slip in between the change and its mark).
    void mark_dirty(std::string_view aor, Committed committed);
    void mark_dirty(std::vector<std::string> aors);
    void writer_loop();
    // The deferred task of a worker: writes what its thread holds.
    void commit_group(ThreadGroup& group);
    // Writes the current state of the AORs of `batch`, undoes what failed, tells every
    // change's callback, and moves the watermark (any thread; the file under db_mu_).
    // `writing_from` (under mu_) names the batch as in flight until its callbacks have run.
    // False when an AOR that failed could not be read back (it is dirty again).
    // `worker`: a worker thread, which hands what finds the file locked to the writer.
    bool commit(std::vector<Change>& batch, std::uint64_t& writing_from, bool worker);
    // Writes the current state of `aors` in one transaction (db_mu_ held): SQLITE_OK, or
    // SQLite's error code with its message in `error` (rolled back).
    int write_batch(const std::vector<std::string>& aors, std::string& error);
    // After a failed write: puts the file's bindings of `aor` back into memory and notes in
    // undone_ that the changes of `aor` marked so far are lost (db_mu_ held). "" on
    // success, else why the file could not be read.
    std::string undo(const std::string& aor, const std::string& error);
    // committed_ from what is still waiting or in flight (mu_ held).
    void advance_watermark();
    // Hands every change a thread group holds to the writer (mu_ held).
    void take_held();
    // SQLite's WAL hook on db_, after each commit (db_mu_ held): the writer checkpoints at
    // once if none ran for checkpoint_interval, else when that much time has passed.
    static int wal_written(void* store, sqlite3* db, const char* name, int pages);
    void checkpoint();  // on the writer thread

    std::filesystem::path path_;
    SqliteStoreOptions options_;
    // The one connection that writes, used by whichever thread commits, under db_mu_.
    std::mutex db_mu_;
    sqlite3* db_;
    sqlite3* checkpointer_ = nullptr;  // the writer thread's own, for checkpoints only
    MemoryLocationStore index_;
    std::size_t loaded_ = 0;
    std::size_t expired_at_open_ = 0;

    mutable std::mutex mu_;
    std::condition_variable wake_writer_;
    std::condition_variable written_;
    std::vector<Change> dirty_;  // for the writer thread, in seq order
    std::uint64_t writer_from_ = 0;  // lowest seq the writer is writing now, 0 if none
    std::vector<std::unique_ptr<ThreadGroup>> groups_;  // kept until the store goes
    std::unordered_map<std::string, Undone> undone_;
    std::uint64_t marked_ = 0;     // changes marked so far
    std::uint64_t committed_ = 0;  // every change up to this one is finished (watermark)
    std::uint64_t failures_ = 0;   // failed batches so far
    std::atomic<std::uint64_t> transactions_{0};
    std::atomic<std::uint64_t> checkpoints_{0};
    // steady_clock ticks before which no checkpoint runs; commits since the last one.
    std::atomic<std::int64_t> next_checkpoint_{0};
    std::atomic<bool> unsynced_{false};
    bool flush_requested_ = false;
    bool checkpoint_due_ = false;
    bool stopping_ = false;
    std::string last_error_;
    std::thread writer_;
};

}  // namespace sipproxy::registrar
