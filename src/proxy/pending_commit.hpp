#pragma once
// A location store change a coroutine waits for (LocationStore::Committed): a REGISTER's
// 200 OK or the operator's `registration add`, answered only once the binding is durable
// (on disk, or in Redis). The store completes it once, from its writer thread or at once;
// the coroutine resumes on its own executor without blocking it. The one completion
// mechanism of every store.
#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace sipproxy::proxy {

class PendingCommit {
  public:
    // From the store (any thread), once: "" when durable, else why not.
    void complete(const std::string& error);

    // The result if complete() has run already.
    std::optional<std::string> result() const;

    // Resumes the calling coroutine on its own executor once complete() has run; returns
    // what complete() was given. On a worker's thread, with a store that commits in
    // batches (`latency`, LocationStore::commit_latency, above zero), the completion goes
    // through the worker's CommitInbox instead of waking the worker on its own.
    asio::awaitable<std::string> wait(std::chrono::milliseconds latency = {});

  private:
    mutable std::mutex mu_;
    std::optional<std::string> result_;
    std::function<void(std::string)> resume_;  // set by wait() before the result is known
};

}  // namespace sipproxy::proxy
