#include "transport/dns_cache.hpp"

#include <cctype>

namespace sipproxy::transport {

std::string DnsCache::key_of(DnsQuestion question, std::string_view name) {
    // Names compare case-insensitively (RFC 4343); a trailing dot changes nothing.
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    std::string key(1, static_cast<char>(question));
    key.reserve(name.size() + 1);
    for (char c : name) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return key;
}

const DnsAnswer* DnsCache::find(DnsQuestion question, std::string_view name,
                                Clock::time_point now) {
    auto it = index_.find(key_of(question, name));
    if (it == index_.end()) return nullptr;
    auto entry = it->second;
    if (entry->expires <= now) {
        index_.erase(it);
        entries_.erase(entry);
        return nullptr;
    }
    entries_.splice(entries_.begin(), entries_, entry);
    return &entry->answer;
}

void DnsCache::store(DnsQuestion question, std::string_view name, DnsAnswer answer,
                     Clock::time_point expires, Clock::time_point now) {
    if (capacity_ == 0 || expires <= now) return;
    auto key = key_of(question, name);
    if (auto it = index_.find(key); it != index_.end()) {
        it->second->answer = std::move(answer);
        it->second->expires = expires;
        entries_.splice(entries_.begin(), entries_, it->second);
        return;
    }
    while (entries_.size() >= capacity_) {
        index_.erase(entries_.back().key);
        entries_.pop_back();
    }
    entries_.push_front(Entry{key, std::move(answer), expires});
    index_.emplace(std::move(key), entries_.begin());
}

}  // namespace sipproxy::transport
