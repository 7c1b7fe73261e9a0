#pragma once
// DNS lookups for locating SIP servers (RFC 3263): SRV, NAPTR and A/AAAA, done by
// c-ares on one resolver thread so no worker's event loop ever blocks on DNS. Each
// lookup completes on the executor of the coroutine that asked. A failed lookup
// (NXDOMAIN, no records, timeout, malformed answer) is an empty result.
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sipproxy::transport {

struct SrvTarget {
    std::string host;
    std::uint16_t port = 0;
    std::uint16_t priority = 0;
    std::uint16_t weight = 0;
};

struct NaptrRecord {
    std::uint16_t order = 0;
    std::uint16_t preference = 0;
    std::string flags;
    std::string service;
    std::string replacement;
};

// What RFC 3263 needs from DNS. The server location logic (rfc3263.hpp) is written
// against this so it can run on canned answers as well as on DnsResolver.
class DnsLookups {
public:
    virtual ~DnsLookups() = default;
    // SRV records of `name` ("_sip._udp.example.com"), in RFC 2782 order (see order_srv).
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

// RFC 2782 order: lowest priority first; within a priority, higher weight first (a
// deterministic stand-in for the weighted random pick). Records whose target is "."
// (service explicitly not available) are dropped.
void order_srv(std::vector<SrvTarget>& records);

}  // namespace sipproxy::transport
