#pragma once
// Banned sources, shared by every worker: a ban made by one worker (a flood it counted)
// drops the source on all of them. Workers read an immutable index, rebuilt at most once
// per change and only when a worker asks for it, after seeing version() move (one relaxed
// atomic load per datagram); writers take a mutex. Bans end by themselves (expire()) or by
// the operator (remove()), and survive a restart in a file (save()/load()).
//
// Every ban and unban writes one log line in a stable format (man/sipproxy.toml.5,
// conf/fail2ban/):
//   ban: source=192.0.2.7 reason=flood duration=300s requests=1001 window=2s
//   ban: source=192.0.2.8 reason=scanner duration=300s user_agent="friendly-scanner"
//   ban: source=10.0.0.0/8 reason=operator duration=forever note="abuse ticket 12"
//   unban: source=192.0.2.7 reason=expired hits=48210
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/address_key.hpp"
#include "base/cidr.hpp"
#include "base/expected.hpp"
#include "ingress/cidr_map.hpp"

namespace sipproxy::ingress {

using WallClock = std::chrono::system_clock;

struct Ban {
    Cidr network;
    std::string reason;  // "flood", "scanner", "operator"
    std::string note;    // operator text, or what triggered it ("requests=1001 window=2s")
    WallClock::time_point since;
    WallClock::time_point until;  // WallClock::time_point::max(): until removed
    bool automatic = true;        // made by a limit, not the operator
    std::string origin;           // cluster: the node it was learnt from; "" when made here
    std::atomic<std::uint64_t> hits{0};  // messages and connections dropped because of it

    bool forever() const { return until == WallClock::time_point::max(); }
};

using BanIndex = CidrMap<std::shared_ptr<Ban>>;

// A ban as the control protocol shows it (a copy).
struct BanInfo {
    std::string network;  // "192.0.2.7" for one address, CIDR text otherwise
    std::string reason;
    std::string note;
    WallClock::time_point since;
    WallClock::time_point until;
    bool forever = false;
    std::uint64_t hits = 0;
    std::string origin;  // "" when made here
};

// "192.0.2.7" for a /32 or /128, "2001:db8::/64" otherwise.
std::string network_text(const Cidr& c);

class BanTable {
public:
    // max_bans: beyond it new automatic bans are refused (logged once per minute); the
    // per-worker rate limit still drops a flood's excess. Operator bans always go in.
    explicit BanTable(std::size_t max_bans = 100000) : max_bans_(max_bans) {}

    struct Request {
        Cidr network;
        std::string reason;
        std::string note;
        std::chrono::seconds duration{0};  // 0: until removed
        bool automatic = true;            // made by a limit, not the operator
        // Cluster: a ban learnt from another node (`origin`), ending at `until` (its wall
        // clock; max(): until removed) instead of after `duration`. Such bans are not saved
        // in the bans file (Redis is their store) and not told to on_ban's publisher.
        std::string origin{};
        std::optional<WallClock::time_point> until{};
    };
    // False when the network is banned already (an automatic ban) or the table is full.
    // An operator ban replaces an existing one for the same network.
    bool add(const Request& r, WallClock::time_point now = WallClock::now());
    // Lifts the ban on exactly this network; false when there is none. `origin`: the node
    // that lifted it, when another node did (cluster).
    bool remove(const Cidr& network, const std::string& origin = {});
    // Lifts the bans whose time is over; returns how many (and their networks in `gone`).
    std::size_t expire(WallClock::time_point now = WallClock::now(),
                       std::vector<Cidr>* gone = nullptr);

    // Changes whenever a ban is added or lifted.
    std::uint64_t version() const { return version_.load(std::memory_order_acquire); }
    // The current bans, for lookups without a lock.
    std::shared_ptr<const BanIndex> index();
    std::vector<BanInfo> list() const;
    std::size_t size() const;

    // Called (outside the lock, on the thread that banned) with each new ban, so
    // connections from it can be closed and (cluster) the other nodes told. Set before the
    // table is used by other threads.
    void on_ban(std::function<void(const Ban&)> f) { on_ban_ = std::move(f); }
    // Called (outside the lock) with each network remove() lifted and who lifted it.
    void on_unban(std::function<void(const Cidr&, const std::string& origin)> f) {
        on_unban_ = std::move(f);
    }

    // Persistence (bans made here; those learnt from other nodes are left out): one ban per line, "network since until hits reason note..." (Unix
    // seconds, until 0 = forever), written to a temporary file and renamed over `path`.
    // save() writes only when something changed since the last save (or force).
    Expected<bool, std::string> save(const std::filesystem::path& path, bool force = false);
    // Adds the bans of `path` that have not ended yet (a missing file is no error);
    // returns how many were loaded.
    Expected<std::size_t, std::string> load(const std::filesystem::path& path,
                                            WallClock::time_point now = WallClock::now());

private:
    void changed();  // locked

    std::size_t max_bans_;
    mutable std::mutex mutex_;
    BanIndex bans_;
    std::shared_ptr<const BanIndex> index_ = std::make_shared<BanIndex>();
    bool index_stale_ = false;
    bool unsaved_ = false;
    std::atomic<std::uint64_t> version_{1};
    std::function<void(const Ban&)> on_ban_;
    std::function<void(const Cidr&, const std::string&)> on_unban_;
    std::chrono::steady_clock::time_point full_logged_{};
};

}  // namespace sipproxy::ingress
