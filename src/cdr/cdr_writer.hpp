#pragma once
// Writes the records of finished calls to the CDR file, on a thread of its own (never
// on a worker): appended in small batches, at the latest 100 ms after a call ended or every
// 64 records, and fdatasync'd at most every 500 ms, so a `kill -9` or a power cut a second
// after a call ended keeps its record.
// The queue is bounded and never blocks a worker: when full, the record is dropped,
// counted (cdr.dropped) and logged.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "proxy/call_events.hpp"

namespace sipproxy::cdr {

class CdrWriter : public proxy::CallListener {
  public:
    explicit CdrWriter(std::size_t capacity = 65536);
    ~CdrWriter() override;

    // (Re)opens `path` for appending (at start, and at every reload: logrotate); an empty
    // path stops writing records. Starts the thread the first time. Records of calls that
    // ended before go to the file open until now. Returns once the writer thread has
    // done it.
    void open(const std::filesystem::path& path);
    // Writes what is queued, then stops the thread.
    void stop();

    void on_call(proxy::CallEvent event, const proxy::CallRecord& call) override;

    std::uint64_t written() const { return written_.load(std::memory_order_relaxed); }
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
    std::uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }

    static constexpr std::size_t batch_size = 64;
    static constexpr auto batch_delay = std::chrono::milliseconds(100);
    // Written records are fdatasync'd this long after the first of them at the latest (one
    // sync per batch cost a few per cent of a call's CPU at 250 calls/s).
    static constexpr auto sync_interval = std::chrono::milliseconds(500);

  private:
    void run();
    void write_batch(int fd, const std::filesystem::path& path,
                     std::deque<proxy::CallRecord>& batch);
    void drop(std::size_t n, const char* why);
    // fdatasync of what write_batch wrote (the writer thread's).
    void sync(int fd, const std::filesystem::path& path);

    const std::size_t capacity_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<proxy::CallRecord> queue_;
    std::deque<proxy::CallRecord> before_reopen_;  // queued before the last open()
    std::filesystem::path path_;
    bool enabled_ = false;  // a path is set
    bool reopen_ = false;
    bool stop_ = false;
    std::uint64_t open_requested_ = 0, open_done_ = 0;
    std::condition_variable opened_;
    std::thread thread_;
    bool unsynced_ = false;  // written since the last sync (the writer thread's)
    std::chrono::steady_clock::time_point unsynced_since_{};
    std::atomic<std::uint64_t> written_{0}, dropped_{0}, write_errors_{0};
    std::atomic<std::int64_t> last_drop_log_{0};
};

}  // namespace sipproxy::cdr
