#pragma once
// Where a store's writer thread leaves the completions of a worker's commits (PendingCommit)
// without waking the worker. Posting each completion to the worker's executor woke a sleeping
// worker for every REGISTER's 200 OK (an epoll interrupt and a context switch), on top of the
// wake for the REGISTER itself; at a few hundred registrations per second that was most of
// what the SQLite store cost over the memory store. Instead the worker takes what is waiting
// whenever it wakes for a message anyway (drain(), from the transport's receive callback),
// and a timer of its own bounds the wait when no message comes: at most the store's commit
// interval plus `slack` after the change (expect()).
//
// Used by one worker: deliver() from any thread, everything else on the worker's thread.
#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

namespace sipproxy::proxy {

class CommitInbox {
  public:
    using Clock = std::chrono::steady_clock;

    CommitInbox(const asio::any_io_executor& ex, Clock::duration slack);
    ~CommitInbox();
    CommitInbox(const CommitInbox&) = delete;
    CommitInbox& operator=(const CommitInbox&) = delete;

    // The inbox of the worker running on this thread, or nullptr (the main thread, tests).
    static CommitInbox* current();
    // Makes this the current thread's inbox (the worker's thread, once, at its start).
    void make_current();

    // Worker thread: a commit was handed to the store and is expected within `latency`.
    // Arms the fallback timer if it is not armed.
    void expect(Clock::duration latency);
    // Any thread: `resume` runs on the worker's thread at its next drain().
    void deliver(std::function<void()> resume);
    // Worker thread: posts what was delivered to the worker's executor (cheap when nothing
    // waits: one atomic load). Safe anywhere on the worker's thread: nothing runs inline.
    void drain();

    // Completions still expected (worker thread).
    std::size_t outstanding() const { return outstanding_; }
    // Drains by the fallback timer that found something (a message would have been sooner).
    std::size_t timer_drains() const { return timer_drains_; }

  private:
    void arm(Clock::time_point at);

    asio::any_io_executor executor_;
    Clock::duration slack_;
    std::mutex mu_;
    std::vector<std::function<void()>> ready_;  // under mu_
    std::atomic<bool> any_{false};              // ready_ is not empty
    std::size_t outstanding_ = 0;               // expected and not yet drained
    Clock::duration latency_{};                 // the last expect()'s
    asio::steady_timer timer_;
    bool armed_ = false;
    std::size_t timer_drains_ = 0;
};

}  // namespace sipproxy::proxy
