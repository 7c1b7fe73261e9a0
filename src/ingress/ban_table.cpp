#include "ingress/ban_table.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/log.hpp"

namespace sipproxy::ingress {

namespace {

std::string duration_text(const Ban& b) {
    if (b.forever()) return "forever";
    auto s = std::chrono::duration_cast<std::chrono::seconds>(b.until - b.since).count();
    return std::to_string(s) + "s";
}

std::int64_t unix_seconds(WallClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Reasons and notes go into one log line and one line of the bans file.
std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r' || c == '\t' || static_cast<unsigned char>(c) < 0x20) c = ' ';
    return s;
}

}  // namespace

std::string network_text(const Cidr& c) {
    const bool host = c.prefix == (c.family == IpFamily::v4 ? 32u : 128u);
    std::string s = c.to_string();
    return host ? s.substr(0, s.find('/')) : s;
}

bool BanTable::add(const Request& r, WallClock::time_point now) {
    auto ban = std::make_shared<Ban>();
    ban->network = r.network;
    ban->reason = one_line(r.reason);
    ban->note = one_line(r.note);
    ban->since = now;
    ban->until = r.until ? *r.until
                 : r.duration.count() > 0 ? now + r.duration
                                          : WallClock::time_point::max();
    ban->automatic = r.automatic;
    ban->origin = r.origin;
    if (ban->until <= now) return false;
    {
        std::lock_guard lock(mutex_);
        const auto key = network_key(r.network);
        const auto prefix = prefix_128(r.network);
        if (r.automatic) {
            if (bans_.exact(key, prefix)) return false;
            if (bans_.size() >= max_bans_) {
                const auto t = std::chrono::steady_clock::now();
                if (t - full_logged_ > std::chrono::minutes(1)) {
                    full_logged_ = t;
                    log::warn("ban: table full ({} bans), not banning {} ({})", bans_.size(),
                              network_text(r.network), ban->reason);
                }
                return false;
            }
        }
        bans_.insert(key, prefix, ban);
        changed();
    }
    // Automatic bans carry key=value details; the operator's note is quoted.
    std::string note = ban->note;
    if (!r.automatic && !note.empty()) {
        for (char& c : note)
            if (c == '"') c = '\'';
        note = "note=\"" + note + "\"";
    }
    // A ban learnt from another node says so (origin=); the line stays fail2ban-stable.
    log::warn("ban: source={} reason={} duration={}{}{}{}{}", network_text(ban->network), ban->reason,
              duration_text(*ban), note.empty() ? "" : " ", note,
              ban->origin.empty() ? "" : " origin=", ban->origin);
    if (on_ban_) on_ban_(*ban);
    return true;
}

bool BanTable::remove(const Cidr& network, const std::string& origin) {
    std::shared_ptr<Ban> gone;
    {
        std::lock_guard lock(mutex_);
        const auto key = network_key(network);
        const auto prefix = prefix_128(network);
        if (auto* b = bans_.exact(key, prefix)) gone = *b;
        if (!gone) return false;
        bans_.erase(key, prefix);
        changed();
    }
    log::info("unban: source={} reason=operator hits={}{}{}", network_text(gone->network),
              gone->hits.load(std::memory_order_relaxed), origin.empty() ? "" : " origin=", origin);
    if (on_unban_) on_unban_(network, origin);
    return true;
}

std::size_t BanTable::expire(WallClock::time_point now, std::vector<Cidr>* networks) {
    std::vector<std::shared_ptr<Ban>> gone;
    {
        std::lock_guard lock(mutex_);
        bans_.for_each([&](const AddressKey&, unsigned, const std::shared_ptr<Ban>& b) {
            if (b->until <= now) gone.push_back(b);
        });
        for (const auto& b : gone) bans_.erase(network_key(b->network), prefix_128(b->network));
        if (!gone.empty()) changed();
    }
    for (const auto& b : gone) {
        log::info("unban: source={} reason=expired hits={}", network_text(b->network),
                  b->hits.load(std::memory_order_relaxed));
        if (networks) networks->push_back(b->network);
    }
    return gone.size();
}

void BanTable::changed() {
    index_stale_ = true;
    unsaved_ = true;
    version_.fetch_add(1, std::memory_order_release);
}

std::shared_ptr<const BanIndex> BanTable::index() {
    std::lock_guard lock(mutex_);
    if (index_stale_) {
        index_ = std::make_shared<const BanIndex>(bans_);
        index_stale_ = false;
    }
    return index_;
}

std::vector<BanInfo> BanTable::list() const {
    std::vector<BanInfo> out;
    std::lock_guard lock(mutex_);
    bans_.for_each([&](const AddressKey&, unsigned, const std::shared_ptr<Ban>& b) {
        out.push_back(BanInfo{network_text(b->network), b->reason, b->note, b->since, b->until,
                              b->forever(), b->hits.load(std::memory_order_relaxed), b->origin});
    });
    return out;
}

std::size_t BanTable::size() const {
    std::lock_guard lock(mutex_);
    return bans_.size();
}

Expected<bool, std::string> BanTable::save(const std::filesystem::path& path, bool force) {
    std::string text;
    {
        std::lock_guard lock(mutex_);
        if (!unsaved_ && !force) return false;
        unsaved_ = false;
        text = "# sipproxyd bans: network since until(0=forever) hits reason note\n";
        bans_.for_each([&](const AddressKey&, unsigned, const std::shared_ptr<Ban>& b) {
            if (!b->origin.empty()) return;  // another node's: Redis keeps it
            text += b->network.to_string() + " " + std::to_string(unix_seconds(b->since)) + " " +
                    std::to_string(b->forever() ? 0 : unix_seconds(b->until)) + " " +
                    std::to_string(b->hits.load(std::memory_order_relaxed)) + " " +
                    (b->reason.empty() ? "-" : b->reason) + " " + b->note + "\n";
        });
    }
    auto fail = [&](const std::string& what) {
        std::lock_guard lock(mutex_);
        unsaved_ = true;  // try again next time
        return Unexpected{what + ": " + std::strerror(errno)};
    };
    // Written beside the file and renamed over it: a crash leaves the old or the new one.
    const auto tmp = path.string() + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) return fail("cannot write " + tmp);
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            ::close(fd);
            return fail("cannot write " + tmp);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        ::close(fd);
        return fail("cannot sync " + tmp);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot rename " + tmp);
    return true;
}

Expected<std::size_t, std::string> BanTable::load(const std::filesystem::path& path,
                                                  WallClock::time_point now) {
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) return std::size_t{0};
        return Unexpected{"cannot read " + path.string() + ": " + std::strerror(errno)};
    }
    std::size_t loaded = 0;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string net, reason;
        std::int64_t since = 0, until = 0;
        std::uint64_t hits = 0;
        if (!(fields >> net >> since >> until >> hits >> reason)) {
            log::warn("{}:{}: unreadable ban, skipped", path.string(), number);
            continue;
        }
        auto cidr = Cidr::parse(net);
        if (!cidr) {
            log::warn("{}:{}: {}, skipped", path.string(), number, cidr.error());
            continue;
        }
        std::string note;
        std::getline(fields >> std::ws, note);
        auto ban = std::make_shared<Ban>();
        ban->network = *cidr;
        ban->reason = reason == "-" ? "" : reason;
        ban->note = one_line(note);
        ban->since = WallClock::time_point(std::chrono::seconds(since));
        ban->until = until == 0 ? WallClock::time_point::max()
                                : WallClock::time_point(std::chrono::seconds(until));
        ban->hits.store(hits, std::memory_order_relaxed);
        ban->automatic = ban->reason != "operator";
        if (ban->until <= now) continue;
        std::lock_guard lock(mutex_);
        bans_.insert(*cidr, ban);
        changed();
        ++loaded;
    }
    std::lock_guard lock(mutex_);
    unsaved_ = false;
    return loaded;
}

}  // namespace sipproxy::ingress
