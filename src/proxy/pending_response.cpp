#include "proxy/pending_response.hpp"

#include <asio/post.hpp>

#include "transaction/server_transaction.hpp"

namespace sipproxy::proxy {

void AbandonPendingResponse::operator()(PendingResponse* p) const {
    {
        std::lock_guard lock(p->mu_);
        if (!p->completed_) {
            p->abandoned_ = true;  // complete() frees it
            return;
        }
    }
    delete p;
}

void PendingResponse::complete(const std::string& error) {
    PendingResponses* owner = nullptr;
    bool abandoned = false;
    {
        std::lock_guard lock(mu_);
        if (completed_) return;
        completed_ = true;
        error_ = error;
        owner = owner_;
        abandoned = abandoned_;
    }
    // From here on this object belongs to its owner's worker (or to nobody): not touched
    // again on this thread.
    if (owner)
        owner->ready(this);
    else if (abandoned)
        delete this;
}

PendingResponses::PendingResponses(asio::any_io_executor executor, Send send)
    : executor_(std::move(executor)), send_(std::move(send)) {}

PendingResponses::~PendingResponses() {
    for (auto* p : ready_) delete p;
}

void PendingResponses::send_when_committed(PendingResponse::Ptr pending,
                                           std::shared_ptr<transaction::ServerTransaction> st,
                                           Decision d) {
    PendingResponse* p = pending.release();
    {
        std::lock_guard lock(p->mu_);
        if (!p->completed_) {
            p->owner_ = this;
            p->transaction_ = std::move(st);
            p->decision_ = std::move(d);
            return;  // ready() hands it back after the commit
        }
    }
    send_(st, d, p->error_);
    delete p;
}

void PendingResponses::ready(PendingResponse* p) {
    {
        std::lock_guard lock(mu_);
        ready_.push_back(p);
        if (posted_) return;  // one wake-up for everything one commit completes
        posted_ = true;
    }
    asio::post(executor_, [this] { send_ready(); });
}

void PendingResponses::send_ready() {
    std::vector<PendingResponse*> batch;
    {
        std::lock_guard lock(mu_);
        batch.swap(ready_);
        posted_ = false;
    }
    for (auto* p : batch) {
        send_(p->transaction_, p->decision_, p->error_);
        delete p;
    }
}

}  // namespace sipproxy::proxy
