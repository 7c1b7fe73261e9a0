#include "auth/guess_limiter.hpp"

#include <algorithm>

namespace sipproxy::auth {

void GuessLimiter::configure(unsigned max_failures, std::chrono::seconds window,
                             std::chrono::seconds ban_time) {
    std::lock_guard lock(mutex_);
    max_failures_ = max_failures;
    window_ = window;
    ban_time_ = ban_time;
}

std::chrono::seconds GuessLimiter::ban_time() const {
    std::lock_guard lock(mutex_);
    return ban_time_;
}

unsigned GuessLimiter::failure(std::string_view source, Time now) {
    std::lock_guard lock(mutex_);
    if (max_failures_ == 0) return 0;
    auto it = sources_.find(source);
    if (it == sources_.end()) {
        if (sources_.size() >= max_sources_) {
            // Full: forget the source whose window started first (it is closest to
            // being forgotten anyway). Linear, but only when full and for a new source.
            auto oldest = std::min_element(sources_.begin(), sources_.end(), [](const auto& a, const auto& b) {
                return a.second.window_start < b.second.window_start;
            });
            sources_.erase(oldest);
        }
        it = sources_.emplace(std::string(source), Entry{now, 0}).first;
    }
    auto& e = it->second;
    if (now - e.window_start >= window_) e = Entry{now, 0};  // a new window
    ++e.failures;
    if (e.failures != max_failures_) return 0;
    const unsigned n = e.failures;
    sources_.erase(it);  // banned now: counting starts anew if it comes back
    return n;
}

void GuessLimiter::success(std::string_view source) {
    std::lock_guard lock(mutex_);
    if (auto it = sources_.find(source); it != sources_.end()) sources_.erase(it);
}

std::size_t GuessLimiter::tracked() const {
    std::lock_guard lock(mutex_);
    return sources_.size();
}

}  // namespace sipproxy::auth
