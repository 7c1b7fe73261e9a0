#pragma once
// DNS answers kept for their TTL (RFC 1035 3.2.1), negative ones as RFC 2308 says, so a
// call to a host name does not query DNS every time. Bounded: the least recently used
// answer goes when it is full. Not thread-safe: it belongs to the resolver thread.
#include <asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "transport/dns_records.hpp"

namespace sipproxy::transport {

enum class DnsQuestion : char { Srv = 'S', Naptr = 'N', Addresses = 'A' };

// An answer as received (SRV records not yet ordered); empty for a negative answer.
using DnsAnswer = std::variant<std::vector<SrvTarget>, std::vector<NaptrRecord>,
                               std::vector<asio::ip::address>>;

class DnsCache {
public:
    using Clock = std::chrono::steady_clock;

    explicit DnsCache(std::size_t capacity) : capacity_(capacity) {}

    // The answer to `question` about `name` (case-insensitive) while its TTL runs, else
    // nullptr. The pointer is valid until the next store().
    const DnsAnswer* find(DnsQuestion question, std::string_view name, Clock::time_point now);
    // Keeps `answer` until `expires` (nothing when the capacity is 0 or expires <= now).
    void store(DnsQuestion question, std::string_view name, DnsAnswer answer,
               Clock::time_point expires, Clock::time_point now);

    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        std::string key;
        DnsAnswer answer;
        Clock::time_point expires;
    };
    static std::string key_of(DnsQuestion question, std::string_view name);

    std::size_t capacity_;
    std::list<Entry> entries_;  // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace sipproxy::transport
