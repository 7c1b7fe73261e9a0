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
    if (auto* s = note(source)) ++s->failures;
    return count(source, 1, now);
}

unsigned GuessLimiter::add(std::string_view source, unsigned n, bool reset, Time now) {
    std::lock_guard lock(mutex_);
    if (reset)
        if (auto it = sources_.find(source); it != sources_.end()) sources_.erase(it);
    if (max_failures_ == 0 || n == 0) return 0;
    return count(source, n, now);
}

GuessLimiter::Shared* GuessLimiter::note(std::string_view source) {
    if (!sharing_) return nullptr;
    auto it = shared_.find(source);
    if (it == shared_.end()) {
        if (shared_.size() >= std::min(max_sources_, kMaxShared)) return nullptr;  // the rest unshared
        if (shared_.empty() && kick_) kick_();
        it = shared_.emplace(std::string(source), Shared{std::string(source), 0, false}).first;
    }
    return &it->second;
}

void GuessLimiter::share(bool on) {
    std::lock_guard lock(mutex_);
    sharing_ = on;
    if (!on) shared_.clear();
}

void GuessLimiter::on_shared(std::function<void()> kick) {
    std::lock_guard lock(mutex_);
    kick_ = std::move(kick);
}

std::vector<GuessLimiter::Shared> GuessLimiter::take_shared() {
    std::vector<Shared> out;
    std::lock_guard lock(mutex_);
    out.reserve(shared_.size());
    for (auto& [k, s] : shared_) out.push_back(std::move(s));
    shared_.clear();
    return out;
}

unsigned GuessLimiter::count(std::string_view source, unsigned n, Time now) {
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
    e.failures += n;
    // >=: another node's failures may carry the count past the limit in one step.
    if (e.failures < max_failures_) return 0;
    const unsigned total = e.failures;
    sources_.erase(it);  // banned now: counting starts anew if it comes back
    return total;
}

void GuessLimiter::success(std::string_view source) {
    std::lock_guard lock(mutex_);
    if (auto* s = note(source)) *s = Shared{std::string(source), 0, true};
    if (auto it = sources_.find(source); it != sources_.end()) sources_.erase(it);
}

std::size_t GuessLimiter::tracked() const {
    std::lock_guard lock(mutex_);
    return sources_.size();
}

}  // namespace sipproxy::auth
