#include "cdr/cdr_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <utility>

#include "base/log.hpp"
#include "cdr/cdr_line.hpp"

namespace sipproxy::cdr {

CdrWriter::CdrWriter(std::size_t capacity) : capacity_(capacity) {}

CdrWriter::~CdrWriter() {
    stop();
}

void CdrWriter::open(const std::filesystem::path& path) {
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(mu_);
        if (stop_) return;
        // What ended before this call goes to the file open until now.
        std::move(queue_.begin(), queue_.end(), std::back_inserter(before_reopen_));
        queue_.clear();
        path_ = path;
        enabled_ = !path.empty();
        reopen_ = true;
        generation = ++open_requested_;
    }
    cv_.notify_one();
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    // Returns once the file is open (or could not be): called at start and at reload,
    // never on a worker.
    std::unique_lock lock(mu_);
    opened_.wait(lock, [&] { return open_done_ >= generation || stop_; });
}

void CdrWriter::stop() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_one();
    opened_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void CdrWriter::drop(std::size_t n, const char* why) {
    dropped_.fetch_add(n, std::memory_order_relaxed);
    // One line per 10 s at most: a full queue must not flood the log too.
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
    auto last = last_drop_log_.load(std::memory_order_relaxed);
    if (now - last >= 10 && last_drop_log_.compare_exchange_strong(last, now))
        log::error("cdr: {} record(s) dropped ({}); cdr.dropped is now {}", n, why, dropped());
}

void CdrWriter::on_call(proxy::CallEvent event, const proxy::CallRecord& call) {
    if (!proxy::is_final(event)) return;
    bool full = false, wake = false;
    {
        std::lock_guard lock(mu_);
        if (!enabled_ || stop_) return;
        full = queue_.size() >= capacity_;
        if (!full) {
            queue_.push_back(call);
            wake = queue_.size() >= batch_size;
        }
    }
    if (full) drop(1, "queue full");
    if (wake) cv_.notify_one();
}

namespace {

// Appends `bytes`; false when not all of it could be written (disk full, I/O error).
bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const auto n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

void CdrWriter::write_batch(int fd, const std::filesystem::path& path,
                            std::deque<proxy::CallRecord>& batch) {
    if (batch.empty()) return;
    if (fd < 0) {
        drop(batch.size(), "CDR file not open");
    } else {
        std::string bytes;
        for (const auto& c : batch) bytes += cdr_line(c);
        if (!write_all(fd, bytes)) {
            write_errors_.fetch_add(1, std::memory_order_relaxed);
            log::error("cdr: writing {}: {}", path.string(), std::strerror(errno));
            drop(batch.size(), "write failed");
        } else {
            // In the kernel now (a kill -9 keeps it); on disk by the next sync (run()).
            if (!unsynced_) unsynced_since_ = std::chrono::steady_clock::now();
            unsynced_ = true;
            written_.fetch_add(batch.size(), std::memory_order_relaxed);
        }
    }
    batch.clear();
}

void CdrWriter::sync(int fd, const std::filesystem::path& path) {
    if (!unsynced_ || fd < 0) return;
    unsynced_ = false;
    if (::fdatasync(fd) != 0) {
        write_errors_.fetch_add(1, std::memory_order_relaxed);
        log::error("cdr: fdatasync {}: {}", path.string(), std::strerror(errno));
    }
}

void CdrWriter::run() {
    int fd = -1;
    std::filesystem::path open_path;
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait_for(lock, batch_delay,
                     [&] { return stop_ || reopen_ || queue_.size() >= batch_size; });
        std::deque<proxy::CallRecord> batch, before;
        batch.swap(queue_);
        before.swap(before_reopen_);
        const bool reopen = std::exchange(reopen_, false);
        const auto generation = open_requested_;
        const auto path = path_;
        const bool stopping = stop_;
        lock.unlock();

        if (reopen) {
            // What ended before the reload goes to the file open until then (logrotate:
            // the moved one), the rest to the one opened now.
            write_batch(fd, open_path, before);
            sync(fd, open_path);
            if (fd >= 0) ::close(fd);
            fd = -1;
            open_path = path;
            if (!path.empty()) {
                std::error_code ec;
                std::filesystem::create_directories(path.parent_path(), ec);
                fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
                if (fd < 0)
                    log::error("cdr: cannot open {}: {}", path.string(), std::strerror(errno));
            }
        }
        write_batch(fd, open_path, batch);
        if (unsynced_ && (stopping || std::chrono::steady_clock::now() - unsynced_since_ >=
                                          sync_interval - batch_delay))
            sync(fd, open_path);
        lock.lock();
        if (reopen) {
            open_done_ = generation;
            opened_.notify_all();
        }
        if (stopping && queue_.empty()) break;
    }
    lock.unlock();
    sync(fd, open_path);
    if (fd >= 0) ::close(fd);
}

}  // namespace sipproxy::cdr
