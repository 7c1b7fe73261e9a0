#pragma once
// DNS lookups for locating SIP servers (RFC 3263): SRV, NAPTR and A/AAAA, done by
// c-ares on one resolver thread so no worker's event loop ever blocks on DNS. Answers
// are cached on that thread for their TTL (dns_cache.hpp), so workers take no lock for
// it. Each lookup completes on the executor of the coroutine that asked. A failed
// lookup (NXDOMAIN, no records, timeout, malformed answer) is an empty result.
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "transport/dns_records.hpp"
#include "transport/srv_order.hpp"

namespace sipproxy::transport {

// What RFC 3263 needs from DNS. The server location logic (rfc3263.hpp) is written
// against this so it can run on canned answers as well as on DnsResolver.
class DnsLookups {
public:
    virtual ~DnsLookups() = default;
    // SRV records of `name` ("_sip._udp.example.com"), in RFC 2782 order (see order_srv;
    // a new random order within each priority at every call).
    virtual asio::awaitable<std::vector<SrvTarget>> srv(std::string name) = 0;
    // NAPTR records of `domain`, as received (the caller filters and orders them).
    virtual asio::awaitable<std::vector<NaptrRecord>> naptr(std::string domain) = 0;
    // A and AAAA addresses of `host` (also /etc/hosts, as getaddrinfo would).
    virtual asio::awaitable<std::vector<asio::ip::address>> addresses(std::string host) = 0;
};

struct DnsResolverOptions {
    std::string servers;  // "ip:port,[ip6]:port,..."; empty: the system's resolv.conf
    std::chrono::milliseconds timeout{2000};  // per try
    int tries = 2;
    // Answers kept for their TTL (0: no cache). Negative answers (NXDOMAIN, no record of
    // the type) for the SOA's negative TTL (RFC 2308 5), or `negative_ttl` when the
    // answer carries no SOA, never longer than `negative_ttl_cap`. Failures (timeout,
    // SERVFAIL) are not kept.
    std::size_t cache_entries = 4096;
    std::chrono::seconds negative_ttl{5};
    std::chrono::seconds negative_ttl_cap{30};
    // The random source of the SRV order and the clock of the cache, for tests. Both are
    // called on the resolver thread only. Empty: make_srv_random(), steady_clock::now.
    SrvRandom random;
    std::function<std::chrono::steady_clock::time_point()> now;
};

class DnsResolver final : public DnsLookups {
public:
    // Throws std::runtime_error when c-ares cannot start or `servers` does not parse.
    explicit DnsResolver(DnsResolverOptions options = {});
    // Pending lookups complete with empty results.
    ~DnsResolver() override;
    DnsResolver(const DnsResolver&) = delete;
    DnsResolver& operator=(const DnsResolver&) = delete;

    asio::awaitable<std::vector<SrvTarget>> srv(std::string name) override;
    asio::awaitable<std::vector<NaptrRecord>> naptr(std::string domain) override;
    asio::awaitable<std::vector<asio::ip::address>> addresses(std::string host) override;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace sipproxy::transport
