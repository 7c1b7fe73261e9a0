// Nonce-count replay protection across the nodes of a cluster (RFC 7616 3.3 "nc"): each
// nc a node accepts is published on sipproxy:nc, and every node remembers the others'.
// Accuracy: a replay sent to another node within the notice's delivery time (milliseconds
// on a LAN) is not recognised there; after it, it is refused (stale=true) on every node.

#include "auth/nonce_count_table.hpp"
#include "base/parse_number.hpp"
#include "daemon/daemon.hpp"
#include "registrar/packed_binding.hpp"
#include "registrar/redis_location_store.hpp"

namespace sipproxy::daemon {

namespace {

// On the wire the times are wall-clock ms since the Unix epoch: the nodes' monotonic clocks
// have unrelated origins (other hosts, other boot times). Each node converts to and from its
// own monotonic clock by the current offset between the two.
std::int64_t wall_ms(auth::Time t) {
    const auto now = auth::Now::read();
    const auto wall = now.wall + std::chrono::duration_cast<auth::WallTime::duration>(t - now.mono);
    return std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
}

auth::Time from_wall_ms(std::int64_t v) {
    const auto now = auth::Now::read();
    const auto wall = auth::WallTime(
        std::chrono::duration_cast<auth::WallTime::duration>(std::chrono::milliseconds(v)));
    return now.mono + std::chrono::duration_cast<auth::Time::duration>(wall - now.wall);
}

}  // namespace

void Daemon::share_nonce_counts() {
    auto* store = redis_store_;
    std::weak_ptr<auth::NonceCountTable> weak = inputs_.nonce_counts;
    // "<nonce> <nc> <issued ms> <expires ms>" (wall clock)
    inputs_.nonce_counts->on_accepted(
        [store](std::string_view nonce, std::uint32_t nc, auth::Time issued, auth::Time expires) {
            store->publish("nc", std::string(nonce) + " " + std::to_string(nc) + " " +
                                     std::to_string(wall_ms(issued)) + " " + std::to_string(wall_ms(expires)));
        });
    store->on_notice("nc", [weak](std::string_view m) {
        auto counts = weak.lock();
        if (!counts) return;
        std::string_view f[4];
        for (auto& part : f) {
            auto sp = m.find(' ');
            part = m.substr(0, sp);
            m = sp == std::string_view::npos ? std::string_view() : m.substr(sp + 1);
        }
        std::uint32_t nc = 0;
        std::int64_t issued = 0, expires = 0;
        if (f[0].empty() || !parse_number(f[1], nc) || !parse_number(f[2], issued) ||
            !parse_number(f[3], expires))
            return;
        counts->remember(f[0], nc, from_wall_ms(issued), from_wall_ms(expires), auth::Clock::now());
    });
}

}  // namespace sipproxy::daemon
