#pragma once
// The default LocationStore: every read is served by an in-memory index (MemoryLocationStore);
// a SQLite file makes the bindings survive a restart. A caller never waits for the disk:
// changes mark their AOR dirty and one writer thread writes the current state of the dirty
// AORs in batched transactions (WAL, synchronous=NORMAL). A crash (kill -9) loses at most the
// last batch, i.e. about `batch_interval` plus one write of changes.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/expected.hpp"
#include "registrar/memory_location_store.hpp"

struct sqlite3;

namespace sipproxy::registrar {

struct SqliteStoreOptions {
    // How long the writer gathers changes before it writes them in one transaction.
    std::chrono::milliseconds batch_interval{20};
    // Largest number of AORs written in one transaction (bounds the loss on a crash).
    std::size_t max_batch = 20000;
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
    bool apply(std::string_view aor, TimePoint now, const Mutation& mutate) override;
    std::size_t remove_aor(std::string_view aor) override;
    std::vector<Binding> list(
        std::string_view aor, TimePoint now,
        std::size_t limit = std::numeric_limits<std::size_t>::max()) const override;
    std::size_t count() const override { return index_.count(); }
    std::size_t aor_count() const override { return index_.aor_count(); }
    std::size_t purge_expired(TimePoint now) override;
    std::vector<std::string> aors_using_flow(std::uint64_t flow_id) const override;
    void load(std::vector<Binding> bindings) override;
    bool flush() override;

    const std::filesystem::path& path() const { return path_; }
    // Bindings loaded from the file at open, and expired ones deleted then.
    std::size_t loaded() const { return loaded_; }
    std::size_t expired_at_open() const { return expired_at_open_; }
    // The last write error ("" if none since the last successful commit).
    std::string last_error() const;

  private:
    SqliteLocationStore(std::filesystem::path path, SqliteStoreOptions options, sqlite3* db);
    Expected<bool, std::string> initialize(TimePoint now);  // schema, purge, load

    void mark_dirty(std::string_view aor);
    void mark_dirty(std::vector<std::string> aors);
    void writer_loop();
    // Writes the current state of `aors` in one transaction; "" on success.
    std::string write_batch(const std::vector<std::string>& aors);

    std::filesystem::path path_;
    SqliteStoreOptions options_;
    sqlite3* db_;  // used by the constructor, then by the writer thread only
    MemoryLocationStore index_;
    std::size_t loaded_ = 0;
    std::size_t expired_at_open_ = 0;

    mutable std::mutex mu_;
    std::condition_variable wake_writer_;
    std::condition_variable written_;
    std::vector<std::string> dirty_;
    std::uint64_t marked_ = 0;     // changes marked so far
    std::uint64_t committed_ = 0;  // changes durable so far
    std::uint64_t failures_ = 0;   // failed batches so far
    bool flush_requested_ = false;
    bool stopping_ = false;
    std::string last_error_;
    std::thread writer_;
};

}  // namespace sipproxy::registrar
