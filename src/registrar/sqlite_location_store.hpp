#pragma once
// The default LocationStore: every read is served by an in-memory index (MemoryLocationStore);
// a SQLite file makes the bindings survive a restart. A caller never blocks on the disk:
// changes mark their AOR dirty and one writer thread writes the current state of the dirty
// AORs in batched transactions (WAL, synchronous=NORMAL), then tells each change's
// `Committed` callback, so a REGISTER is answered only once its binding would survive a
// crash (kill -9). Many changes share one commit. When a write fails, the AORs it held are
// read back from the file into memory (the change is undone) and their callers told why; a
// binding put back that way has no connection (flow) if the change had replaced it, as
// after a restart.
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
#include "base/sqlite_statement.hpp"
#include "registrar/memory_location_store.hpp"

struct sqlite3;

namespace sipproxy::registrar {

struct SqliteStoreOptions {
    // How long the writer gathers changes before it writes them in one transaction.
    std::chrono::milliseconds batch_interval{20};
    // How long refreshes (Mutated::refresh: only the expiry moves on) may wait for company
    // when nothing else is waiting to be written. Nobody waits for them: a crash before
    // their commit only brings back the earlier expiry.
    std::chrono::milliseconds refresh_interval{1000};
    // Largest number of AORs written in one transaction (a burst is written in several).
    std::size_t max_batch = 20000;
    // How long a write waits for another process holding the file's write lock (an sqlite3
    // shell in a transaction, say) before it fails.
    std::chrono::milliseconds busy_timeout{5000};
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
    bool flush() override;
    std::chrono::milliseconds commit_latency() const override { return options_.batch_interval; }

    const std::filesystem::path& path() const { return path_; }
    // Bindings loaded from the file at open, and expired ones deleted then.
    std::size_t loaded() const { return loaded_; }
    std::size_t expired_at_open() const { return expired_at_open_; }
    // The last write error ("" if none since the last successful commit).
    std::string last_error() const;

  private:
    // One change waiting for the writer.
    struct Change {
        std::string aor;
        std::uint64_t seq = 0;  // marked_ when it was marked
        Committed committed;    // may be empty
    };

    SqliteLocationStore(std::filesystem::path path, SqliteStoreOptions options, sqlite3* db);
    Expected<bool, std::string> initialize(TimePoint now);  // schema, purge, load

    // Called with the AOR's shard locked, right after the change (so that undo() cannot
    // slip in between the change and its mark).
    // `refresh`: a Mutated::refresh() change (see refresh_interval).
    void mark_dirty(std::string_view aor, Committed committed, bool refresh);
    // Changes in dirty_ that undo() undid, out of dirty_ (called with mu_ held).
    std::vector<Change> take_undone();
    void mark_dirty(std::vector<std::string> aors);
    void writer_loop();
    // Writes the current state of `aors` in one transaction; "" on success.
    std::string write_batch(const std::vector<std::string>& aors);
    // After a failed write: puts the file's bindings of `aor` back into memory and notes
    // in undone_ which of its changes waiting in dirty_ were made on top of what is undone.
    // "" on success, else why the file could not be read.
    std::string undo(const std::string& aor);

    std::filesystem::path path_;
    SqliteStoreOptions options_;
    sqlite3* db_;  // used by the constructor, then by the writer thread only
    // write_batch's statements, prepared on its first call and kept (the writer thread's;
    // preparing them per batch was a fifth of a registration's instructions at low rates).
    // Finalized before db_ is closed.
    struct WriteStatements {
        SqliteStatement begin, commit, rollback, delete_aor, insert, update_only;
    };
    std::unique_ptr<WriteStatements> write_;
    MemoryLocationStore index_;
    std::size_t loaded_ = 0;
    std::size_t expired_at_open_ = 0;

    mutable std::mutex mu_;
    std::condition_variable wake_writer_;
    std::condition_variable written_;
    std::vector<Change> dirty_;
    std::unordered_map<std::string, std::uint64_t> undone_;  // AOR -> last seq undone
    std::uint64_t marked_ = 0;                               // changes marked so far
    std::uint64_t committed_ = 0;                            // changes durable so far
    std::uint64_t failures_ = 0;                             // failed batches so far
    bool flush_requested_ = false;
    bool gathering_ = false;  // the writer waits out batch_interval: it needs no wake-up
    bool waiting_for_refreshes_ = false;  // ... or refresh_interval: wake it for urgent_ ones
    std::size_t urgent_ = 0;  // changes in dirty_ that are not refreshes
    bool stopping_ = false;
    std::string last_error_;
    std::thread writer_;
};

}  // namespace sipproxy::registrar
