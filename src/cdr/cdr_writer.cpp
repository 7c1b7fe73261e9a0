#include "cdr/cdr_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/log.hpp"
#include "cdr/cdr_line.hpp"

namespace sipproxy::cdr {

CdrWriter::CdrWriter(std::size_t capacity) : capacity_(capacity) {}

CdrWriter::~CdrWriter() {
    stop();
}

void CdrWriter::open(const std::filesystem::path& path) {
    {
        std::lock_guard lock(mu_);
        path_ = path;
        enabled_ = !path.empty();
        reopen_ = true;
        if (stop_) return;
    }
    cv_.notify_one();
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void CdrWriter::stop() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_one();
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

void CdrWriter::run() {
    int fd = -1;
    std::filesystem::path open_path;
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait_for(lock, batch_delay,
                     [&] { return stop_ || reopen_ || queue_.size() >= batch_size; });
        std::deque<proxy::CallRecord> batch;
        batch.swap(queue_);
        const bool reopen = std::exchange(reopen_, false);
        const auto path = path_;
        const bool stopping = stop_;
        lock.unlock();

        if (reopen) {
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
        if (!batch.empty()) {
            if (fd < 0) {
                drop(batch.size(), "CDR file not open");
            } else {
                std::string bytes;
                for (const auto& c : batch) bytes += cdr_line(c);
                std::string_view rest(bytes);
                while (!rest.empty()) {
                    const auto n = ::write(fd, rest.data(), rest.size());
                    if (n < 0 && errno == EINTR) continue;
                    if (n <= 0) break;
                    rest.remove_prefix(static_cast<std::size_t>(n));
                }
                if (!rest.empty() || ::fdatasync(fd) != 0) {
                    write_errors_.fetch_add(1, std::memory_order_relaxed);
                    log::error("cdr: writing {}: {}", open_path.string(), std::strerror(errno));
                }
                written_.fetch_add(batch.size(), std::memory_order_relaxed);
            }
        }
        lock.lock();
        if (stopping && queue_.empty()) break;
    }
    lock.unlock();
    if (fd >= 0) ::close(fd);
}

}  // namespace sipproxy::cdr
