// What the control thread does on timers: expired bindings purged, calls without a BYE
// ended, memory given back, bans expired and saved.
#include "daemon/daemon.hpp"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <malloc.h>

#include "base/log.hpp"
#include "proxy/registration_log.hpp"

// jemalloc's control entry point when sipproxyd is linked with it (null otherwise).
extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp,
                       std::size_t newlen) __attribute__((weak));

namespace sipproxy::daemon {

using nlohmann::json;

void Daemon::schedule_purge() {
    purge_timer_->expires_after(std::chrono::seconds(30));
    purge_timer_->async_wait([this](const asio::error_code& ec) {
        if (ec) return;
        const auto removed = store_->purge_expired(
            std::chrono::system_clock::now(),
            [](const registrar::Binding& b) { log::info("{}", proxy::expired_line(b)); });
        if (removed) log::debug("registrar: {} expired bindings purged", removed);
        if (auto n = services_.call_events.expire(std::chrono::steady_clock::now(),
                                                  config_->cdr.max_call_duration))
            log::info("{} call(s) without a BYE ended after cdr.max_call_duration", n);
        // Give memory freed after a load peak back to the system: jemalloc (the release
        // build's allocator) purges its dirty pages at once instead of over its decay
        // time; glibc (sanitizer builds) would keep them in its per-thread arenas.
        if (mallctl) mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);  // all arenas
        else ::malloc_trim(0);
        schedule_purge();
    });
}

void Daemon::save_bans(bool force) {
    if (auto saved = admission_.bans().save(bans_file(), force); !saved)
        log::error("bans: {}", saved.error());
}

// Bans end on time, and reach the disk within a second of a change.
void Daemon::schedule_ban_sweep() {
    ban_timer_->expires_after(std::chrono::seconds(1));
    ban_timer_->async_wait([this](const asio::error_code& ec) {
        if (ec) return;
        std::vector<Cidr> gone;
        admission_.bans().expire(ingress::WallClock::now(), redis_store_ ? &gone : nullptr);
        for (const auto& network : gone) forget_shared_ban(network);
        save_bans(false);
        schedule_ban_sweep();
    });
}

// Requests cost less CPU on one worker that is awake than on several that take turns
// sleeping (bench/README.md: a third fewer system calls, half the context switches at
// 250-2000 operations/s); past what one worker keeps up with, they are spread over all.
// The busy share of each worker is its thread's CPU time over the interval.
void Daemon::schedule_spreading() {
    spread_timer_->expires_after(std::chrono::milliseconds(250));
    spread_timer_->async_wait([this](const asio::error_code& ec) {
        if (ec) return;
        const auto now = std::chrono::steady_clock::now();
        const double wall = std::chrono::duration<double>(now - spread_looked_).count();
        std::vector<double> busy;
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            const auto cpu = workers_[i]->cpu_time();
            busy.push_back(std::chrono::duration<double>(cpu - worker_cpu_[i]).count() / wall);
            worker_cpu_[i] = cpu;
        }
        spread_looked_ = now;
        const unsigned before = spreading_->current();
        const unsigned n = spreading_->next(busy);
        if (n != before) {
            log::debug("requests now go to {} worker(s)", n);
            auto& last = *workers_.back();
            asio::post(last.io(), [&last, n] { last.transport().steer_requests(n); });
        }
        schedule_spreading();
    });
}

}  // namespace sipproxy::daemon
