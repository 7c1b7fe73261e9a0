#include "transport/connection_directory.hpp"

#include <algorithm>

#include "transport/peer.hpp"

namespace sipproxy::transport {

ConnectionDirectory::Endpoint ConnectionDirectory::endpoint(Protocol p, const asio::ip::address& a,
                                                            std::uint16_t port) {
    Endpoint e;
    e.port = port;
    e.protocol = p;
    if (a.is_v4()) {
        const auto b = a.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), e.address.begin());
    } else {
        e.v6 = true;
        e.address = a.to_v6().to_bytes();
    }
    return e;
}

std::size_t ConnectionDirectory::EndpointHash::operator()(const Endpoint& e) const {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (auto b : e.address) h = (h ^ b) * 1099511628211ull;
    h = (h ^ e.port) * 1099511628211ull;
    h = (h ^ static_cast<std::uint8_t>(e.protocol)) * 1099511628211ull;
    return static_cast<std::size_t>(h ^ (e.v6 ? 0x9e3779b97f4a7c15ull : 0));
}

void ConnectionDirectory::add(Protocol p, const asio::ip::address& a, std::uint16_t port,
                              std::uint64_t id, bool inbound, bool reserved) {
    std::lock_guard lock(mutex_);
    auto& e = entries_[endpoint(p, a, port)];
    e.live.emplace_back(id, inbound);
    e.gone_until = {};
    ++live_;
    ++live_by_protocol_[static_cast<std::size_t>(p)];
    if (inbound && !reserved) ++inbound_per_source_[source_of(address_key(a))];
}

std::size_t ConnectionDirectory::reserve_inbound(const asio::ip::address& a) {
    std::lock_guard lock(mutex_);
    return inbound_per_source_[source_of(address_key(a))]++;
}

void ConnectionDirectory::release_inbound(const asio::ip::address& a) {
    std::lock_guard lock(mutex_);
    auto it = inbound_per_source_.find(source_of(address_key(a)));
    if (it != inbound_per_source_.end() && --it->second == 0) inbound_per_source_.erase(it);
}

std::size_t ConnectionDirectory::inbound_from(const asio::ip::address& a) const {
    std::lock_guard lock(mutex_);
    auto it = inbound_per_source_.find(source_of(address_key(a)));
    return it == inbound_per_source_.end() ? 0 : it->second;
}

void ConnectionDirectory::remove(Protocol p, const asio::ip::address& a, std::uint16_t port,
                                 std::uint64_t id, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    const auto key = endpoint(p, a, port);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    auto& live = it->second.live;
    auto pos = std::find_if(live.begin(), live.end(), [id](const auto& l) { return l.first == id; });
    if (pos == live.end()) return;
    const bool inbound = pos->second;
    live.erase(pos);
    --live_;
    --live_by_protocol_[static_cast<std::size_t>(p)];
    if (inbound) {
        auto src = inbound_per_source_.find(source_of(address_key(a)));
        if (src != inbound_per_source_.end() && --src->second == 0) inbound_per_source_.erase(src);
    }
    if (!live.empty()) return;
    if (!inbound) {
        entries_.erase(it);  // we connected once, we may connect again
        return;
    }
    it->second.gone_until = now + options_.tombstone_ttl;
    tombstones_.emplace_back(it->second.gone_until, key);
    trim(now);
}

void ConnectionDirectory::trim(Clock::time_point now) {
    while (!tombstones_.empty() &&
           (tombstones_.front().first <= now || tombstones_.size() > options_.max_tombstones)) {
        const auto [until, key] = tombstones_.front();
        tombstones_.pop_front();
        auto it = entries_.find(key);
        // Only the tombstone this record made: the flow may have come back since, or
        // closed again later (a newer record is further down the queue).
        if (it != entries_.end() && it->second.live.empty() && it->second.gone_until == until)
            entries_.erase(it);
    }
}

ConnectionDirectory::Lookup ConnectionDirectory::find(Protocol p, const asio::ip::address& a,
                                                      std::uint16_t port,
                                                      Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(endpoint(p, a, port));
    if (it == entries_.end()) return {};
    if (!it->second.live.empty()) return {it->second.live.front().first, false};
    return {0, it->second.gone_until > now};
}

std::size_t ConnectionDirectory::size() const {
    std::lock_guard lock(mutex_);
    return live_;
}

std::size_t ConnectionDirectory::size(Protocol p) const {
    std::lock_guard lock(mutex_);
    return live_by_protocol_[static_cast<std::size_t>(p)];
}

}  // namespace sipproxy::transport
