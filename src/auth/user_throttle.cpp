#include "auth/user_throttle.hpp"

#include <algorithm>

namespace sipproxy::auth {

bool UserThrottle::throttled_locked(const Failures& f, Time now, const Limits& l) {
    return l.max_failures != 0 && f.throttled && now - f.last < l.window;
}

bool UserThrottle::throttled(std::string_view user, Time now, const Limits& l) const {
    std::lock_guard lock(mutex_);
    auto it = failures_.find(user);
    return it != failures_.end() && throttled_locked(it->second, now, l);
}

bool UserThrottle::refuses(std::string_view user, std::string_view source, Time now,
                           const Limits& l) {
    std::lock_guard lock(mutex_);
    auto it = failures_.find(user);
    if (it == failures_.end() || !throttled_locked(it->second, now, l)) return false;
    if (auto k = known_.find(user); k != known_.end()) {
        for (const auto& s : k->second)
            if (!s.source.empty() && s.source == source && now - s.at < l.known_for) return false;
    }
    it->second.last = now;
    return true;
}

bool UserThrottle::failure(std::string_view user, Time now, const Limits& l) {
    std::lock_guard lock(mutex_);
    if (l.max_failures == 0) return false;
    if (sharing_) {
        const auto name = user.substr(0, 256);
        if (auto it = shared_.find(name); it != shared_.end())
            ++it->second;
        else if (shared_.size() < std::min(max_names_, kMaxShared)) {
            if (shared_.empty() && kick_) kick_();
            shared_.emplace(std::string(name), 1u);
        }
    }
    return count(user, 1, now, l);
}

bool UserThrottle::add(std::string_view user, unsigned n, Time now, const Limits& l) {
    std::lock_guard lock(mutex_);
    if (l.max_failures == 0 || n == 0) return false;
    return count(user, n, now, l);
}

void UserThrottle::share(bool on) {
    std::lock_guard lock(mutex_);
    sharing_ = on;
    if (!on) shared_.clear();
}

void UserThrottle::on_shared(std::function<void()> kick) {
    std::lock_guard lock(mutex_);
    kick_ = std::move(kick);
}

std::vector<std::pair<std::string, unsigned>> UserThrottle::take_shared() {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::string, unsigned>> out(shared_.begin(), shared_.end());
    shared_.clear();
    return out;
}

bool UserThrottle::count(std::string_view user, unsigned n, Time now, const Limits& l) {
    user = user.substr(0, 256);
    auto it = failures_.find(user);
    if (it == failures_.end()) {
        if (failures_.size() >= max_names_) {
            // Full: forget the name quiet the longest; a throttled name under attack is
            // the last to go (its `last` moves with every attempt).
            auto oldest = std::min_element(failures_.begin(), failures_.end(),
                                           [](const auto& a, const auto& b) {
                                               return a.second.last < b.second.last;
                                           });
            failures_.erase(oldest);
        }
        it = failures_.emplace(std::string(user.substr(0, 256)), Failures{now, now, 0, false}).first;
    }
    auto& f = it->second;
    if (f.throttled && !throttled_locked(f, now, l)) f = Failures{now, now, 0, false};  // it ended
    if (!f.throttled && now - f.window_start >= l.window) f = Failures{now, now, 0, false};
    f.last = now;
    f.count += n;
    if (f.throttled || f.count < l.max_failures) return false;
    f.throttled = true;
    return true;
}

void UserThrottle::success(std::string_view user, std::string_view source, Time now) {
    std::lock_guard lock(mutex_);
    auto& sources = known_[std::string(user)];
    // The same source refreshed, else an empty or the least recent slot.
    auto slot = std::find_if(sources.begin(), sources.end(),
                             [&](const Known& k) { return k.source == source; });
    if (slot == sources.end())
        slot = std::min_element(sources.begin(), sources.end(), [](const Known& a, const Known& b) {
            if (a.source.empty() != b.source.empty()) return a.source.empty();
            return a.at < b.at;
        });
    slot->source = std::string(source);
    slot->at = now;
}

std::size_t UserThrottle::tracked() const {
    std::lock_guard lock(mutex_);
    return failures_.size();
}

}  // namespace sipproxy::auth
