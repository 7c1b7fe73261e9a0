#pragma once
// A response held back until the location store has committed the change it reports: a
// REGISTER's 200 OK lists the bindings the registrar now holds (RFC 3261 10.3 step 8), so
// a crash right after it must not lose them. The store's writer thread completes it
// (LocationStore::Committed); the worker that owns the transaction then sends it. The
// worker is woken once per commit, not once per REGISTER, and a waiting response costs one
// allocation: the hot path of a registrar under load.
#include <asio/any_io_executor.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/decision.hpp"

namespace sipproxy::transaction {
class ServerTransaction;
}

namespace sipproxy::proxy {

class PendingResponses;

class PendingResponse {
  public:
    // Dropping a Ptr before it was handed to PendingResponses is safe even while the
    // store still holds the pointer: the response is then freed once complete() has run.
    using Ptr = std::unique_ptr<PendingResponse, AbandonPendingResponse>;
    static Ptr make() { return Ptr(new PendingResponse); }

    // From the store, exactly once, on any thread: "" when the change is durable, else why
    // not. Capture the raw pointer in the Committed callback (no allocation): it stays
    // valid until this has run.
    void complete(const std::string& error);

    // Responses made and not freed yet, in the whole process: each is freed exactly once
    // whichever way it ends (sent, abandoned, or its worker gone).
    static std::size_t alive() { return alive_.load(std::memory_order_relaxed); }

  private:
    friend class PendingResponses;
    friend struct AbandonPendingResponse;
    PendingResponse() { alive_.fetch_add(1, std::memory_order_relaxed); }
    ~PendingResponse() { alive_.fetch_sub(1, std::memory_order_relaxed); }
    static inline std::atomic<std::size_t> alive_{0};

    std::mutex mu_;
    bool completed_ = false;
    bool abandoned_ = false;
    PendingResponses* owner_ = nullptr;  // set once handed over, before completion
    std::string error_;
    std::shared_ptr<transaction::ServerTransaction> transaction_;
    Decision decision_;
};

// The responses one worker holds back. Lives as long as the worker's io_context runs.
class PendingResponses {
  public:
    // Sends a decided response, or 500 when the change it waited for was not saved.
    using Send = std::function<void(const std::shared_ptr<transaction::ServerTransaction>& st,
                                    const Decision& d, const std::string& store_error)>;
    PendingResponses(asio::any_io_executor executor, Send send);
    ~PendingResponses();  // frees responses never sent (the worker stopped first)
    PendingResponses(const PendingResponses&) = delete;
    PendingResponses& operator=(const PendingResponses&) = delete;

    // Sends `d` through `send` once `pending` is complete: right now if it already is
    // (memory store, nothing changed), else on the worker's executor after the commit.
    void send_when_committed(PendingResponse::Ptr pending,
                             std::shared_ptr<transaction::ServerTransaction> st, Decision d);

  private:
    friend class PendingResponse;
    void ready(PendingResponse* p);  // any thread
    void send_ready();               // the worker's thread

    asio::any_io_executor executor_;
    Send send_;
    std::mutex mu_;
    std::vector<PendingResponse*> ready_;
    bool posted_ = false;  // a send_ready() is queued on the executor
};

}  // namespace sipproxy::proxy
