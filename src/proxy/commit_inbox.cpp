#include "proxy/commit_inbox.hpp"

#include <asio/post.hpp>
#include <algorithm>
#include <utility>

namespace sipproxy::proxy {

namespace {
thread_local CommitInbox* t_current = nullptr;
}

CommitInbox::CommitInbox(const asio::any_io_executor& ex, Clock::duration slack)
    : executor_(ex), slack_(slack), timer_(ex) {}

CommitInbox::~CommitInbox() {
    if (t_current == this) t_current = nullptr;
}

CommitInbox* CommitInbox::current() { return t_current; }

void CommitInbox::make_current() { t_current = this; }

void CommitInbox::expect(Clock::duration latency) {
    ++outstanding_;
    latency_ = latency;
    if (!armed_) arm(Clock::now() + latency + slack_);
}

void CommitInbox::deliver(std::function<void()> resume) {
    {
        std::lock_guard lock(mu_);
        ready_.push_back(std::move(resume));
    }
    any_.store(true, std::memory_order_release);
}

void CommitInbox::drain() {
    if (!any_.load(std::memory_order_acquire)) return;
    std::vector<std::function<void()>> ready;
    {
        std::lock_guard lock(mu_);
        ready.swap(ready_);
        any_.store(false, std::memory_order_relaxed);
    }
    outstanding_ -= std::min(outstanding_, ready.size());
    // Posted, not run here: drain() is called from the middle of a receive.
    for (auto& r : ready) asio::post(executor_, std::move(r));
}

void CommitInbox::arm(Clock::time_point at) {
    armed_ = true;
    timer_.expires_at(at);
    timer_.async_wait([this](const std::error_code& ec) {
        if (ec) return;  // cancelled: the inbox may be gone
        armed_ = false;
        if (any_.load(std::memory_order_acquire)) ++timer_drains_;
        drain();
        // Still waiting for commits: look again one commit interval later.
        if (outstanding_ > 0) arm(Clock::now() + latency_ + slack_);
    });
}

}  // namespace sipproxy::proxy
