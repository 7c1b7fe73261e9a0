#include "transport/dns_resolver.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <ares.h>
#include <arpa/nameser.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>

#include "transport/dns_cache.hpp"

namespace sipproxy::transport {

namespace {

// One lookup in flight: the result goes to the waiting coroutine's executor. The
// executor is tracked, so the caller's io_context keeps running while DNS works.
template <class T>
struct Pending {
    virtual ~Pending() = default;
    virtual void complete(T result) = 0;
};

template <class T, class Handler>
struct PendingHandler final : Pending<T> {
    PendingHandler(Handler h, asio::any_io_executor ex)
        : handler(std::move(h)),
          executor(asio::prefer(std::move(ex), asio::execution::outstanding_work.tracked)) {}
    void complete(T result) override {
        asio::post(executor, [h = std::move(handler), r = std::move(result)]() mutable {
            std::move(h)(std::move(r));
        });
    }
    Handler handler;
    asio::any_io_executor executor;
};

std::vector<SrvTarget> parse_srv(int status, const unsigned char* abuf, int alen) {
    std::vector<SrvTarget> out;
    if (status != ARES_SUCCESS) return out;
    ares_srv_reply* reply = nullptr;
    if (ares_parse_srv_reply(abuf, alen, &reply) != ARES_SUCCESS) return out;
    for (auto* r = reply; r; r = r->next)
        out.push_back(SrvTarget{r->host ? r->host : "", r->port, r->priority, r->weight});
    ares_free_data(reply);
    return out;
}

std::vector<NaptrRecord> parse_naptr(int status, const unsigned char* abuf, int alen) {
    std::vector<NaptrRecord> out;
    if (status != ARES_SUCCESS) return out;
    ares_naptr_reply* reply = nullptr;
    if (ares_parse_naptr_reply(abuf, alen, &reply) != ARES_SUCCESS) return out;
    auto text = [](const unsigned char* s) {
        return s ? std::string(reinterpret_cast<const char*>(s)) : std::string();
    };
    for (auto* r = reply; r; r = r->next)
        out.push_back(NaptrRecord{r->order, r->preference, text(r->flags), text(r->service),
                                  r->replacement ? r->replacement : ""});
    ares_free_data(reply);
    return out;
}

std::vector<asio::ip::address> parse_addrinfo(int status, const ares_addrinfo* res) {
    std::vector<asio::ip::address> out;
    if (status == ARES_SUCCESS && res) {
        for (auto* n = res->nodes; n; n = n->ai_next) {
            if (n->ai_family == AF_INET) {
                const auto* sa = reinterpret_cast<const sockaddr_in*>(n->ai_addr);
                asio::ip::address_v4::bytes_type b;
                std::memcpy(b.data(), &sa->sin_addr, b.size());
                out.emplace_back(asio::ip::address_v4(b));
            } else if (n->ai_family == AF_INET6) {
                const auto* sa = reinterpret_cast<const sockaddr_in6*>(n->ai_addr);
                asio::ip::address_v6::bytes_type b;
                std::memcpy(b.data(), &sa->sin6_addr, b.size());
                out.emplace_back(asio::ip::address_v6(b));
            }
        }
        // getaddrinfo may list an address once per socket type.
        auto end = out.end();
        for (auto it = out.begin(); it != end; ++it)
            end = std::remove(std::next(it), end, *it);
        out.erase(end, out.end());
    }
    return out;
}

std::uint32_t get32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
unsigned get16(const unsigned char* p) { return (unsigned{p[0]} << 8) | p[1]; }

// How long a DNS message may be kept (RFC 1035 3.2.1, RFC 2181 8): the smallest TTL of its
// answer records; with none, the negative TTL of the SOA in its authority section, the
// smaller of the SOA's own TTL and its MINIMUM field (RFC 2308 5). nullopt when the
// message tells neither or does not parse.
std::optional<std::uint32_t> message_ttl(const unsigned char* buf, int length) {
    if (!buf || length < 12) return std::nullopt;
    const std::size_t len = static_cast<std::size_t>(length);
    std::size_t i = 12;
    auto skip_name = [&]() {
        while (i < len) {
            const unsigned c = buf[i];
            if (c == 0) return ++i, true;
            if ((c & 0xc0) == 0xc0) return (i += 2) <= len;
            if (c & 0xc0) return false;
            i += 1 + c;
        }
        return false;
    };
    // RFC 2181 8: a TTL with the top bit set counts as 0.
    auto ttl_at = [&](std::size_t at) {
        const std::uint32_t t = get32(buf + at);
        return t > 0x7fffffffu ? 0u : t;
    };
    const unsigned questions = get16(buf + 4), answers = get16(buf + 6), authority = get16(buf + 8);
    for (unsigned q = 0; q < questions; ++q) {
        if (!skip_name()) return std::nullopt;
        i += 4;
    }
    std::optional<std::uint32_t> ttl;
    for (unsigned n = 0; n < answers + authority; ++n) {
        if (!skip_name() || i + 10 > len) return std::nullopt;
        const unsigned type = get16(buf + i);
        const std::uint32_t rr_ttl = ttl_at(i + 4);
        const std::size_t rdlength = get16(buf + i + 8);
        i += 10;
        if (i + rdlength > len) return std::nullopt;
        if (n < answers) {
            ttl = std::min(ttl.value_or(rr_ttl), rr_ttl);
        } else if (answers == 0 && type == ns_t_soa && rdlength >= 22) {
            return std::min(rr_ttl, ttl_at(i + rdlength - 4));  // MINIMUM: the last field
        }
        i += rdlength;
        if (n + 1 == answers) return ttl;
    }
    return ttl;
}

// The smallest TTL of the addresses and CNAMEs getaddrinfo found.
std::optional<std::uint32_t> addrinfo_ttl(const ares_addrinfo* res) {
    std::optional<std::uint32_t> ttl;
    if (!res) return ttl;
    auto take = [&](int t) {
        const auto v = static_cast<std::uint32_t>(std::max(t, 0));
        ttl = std::min(ttl.value_or(v), v);
    };
    for (auto* n = res->nodes; n; n = n->ai_next) take(n->ai_ttl);
    for (auto* c = res->cnames; c; c = c->next) take(c->ttl);
    return ttl;
}

}  // namespace

// The channel belongs to the resolver thread: every c-ares call but init and destroy
// happens there. Other threads only queue work and wake it through a pipe.
struct DnsResolver::Impl {
    using Clock = DnsCache::Clock;

    explicit Impl(const DnsResolverOptions& o)
        : cache(o.cache_entries), negative_ttl(o.negative_ttl), negative_ttl_cap(o.negative_ttl_cap),
          random(o.random ? o.random : make_srv_random()), clock(o.now) {}

    // Resolver thread only (and the destructor, once the thread is gone).
    DnsCache cache;
    std::chrono::seconds negative_ttl;
    std::chrono::seconds negative_ttl_cap;
    SrvRandom random;
    std::function<Clock::time_point()> clock;

    ares_channel channel = nullptr;
    int wake[2] = {-1, -1};
    std::mutex mutex;
    std::vector<std::function<void(ares_channel)>> queue;  // guarded by mutex
    bool stopping = false;                                 // guarded by mutex
    std::thread thread;

    void submit(std::function<void(ares_channel)> start) {
        {
            std::lock_guard lock(mutex);
            queue.push_back(std::move(start));
        }
        const char c = 1;
        [[maybe_unused]] auto n = ::write(wake[1], &c, 1);  // full pipe: already awake
    }

    void run() {
        for (;;) {
            std::vector<std::function<void(ares_channel)>> todo;
            bool stop;
            {
                std::lock_guard lock(mutex);
                todo.swap(queue);
                stop = stopping;
            }
            for (auto& start : todo) start(channel);
            if (stop) return;  // the destructor's ares_destroy ends what is in flight

            std::array<ares_socket_t, ARES_GETSOCK_MAXNUM> socks{};
            const int bits = ares_getsock(channel, socks.data(), ARES_GETSOCK_MAXNUM);
            std::array<pollfd, ARES_GETSOCK_MAXNUM + 1> fds{};
            nfds_t n = 0;
            fds[n++] = pollfd{wake[0], POLLIN, 0};
            for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
                short events = 0;
                if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
                if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
                if (events) fds[n++] = pollfd{socks[i], events, 0};
            }
            timeval tv{};
            const timeval* next = ares_timeout(channel, nullptr, &tv);
            const int ms = next ? static_cast<int>(next->tv_sec * 1000 + (next->tv_usec + 999) / 1000) : -1;
            ::poll(fds.data(), n, ms);
            if (fds[0].revents & POLLIN) {
                char buf[64];
                while (::read(wake[0], buf, sizeof buf) > 0) {
                }
            }
            for (nfds_t i = 1; i < n; ++i) {
                const bool r = fds[i].revents & (POLLIN | POLLERR | POLLHUP);
                const bool w = fds[i].revents & POLLOUT;
                if (r || w)
                    ares_process_fd(channel, r ? fds[i].fd : ARES_SOCKET_BAD,
                                    w ? fds[i].fd : ARES_SOCKET_BAD);
            }
            ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
        }
    }

    // Suspends the calling coroutine until `start` (run on the resolver thread with a
    // Pending<T>*) has led to a completion; resumes it on its own executor.
    template <class T>
    asio::awaitable<T> lookup(std::function<void(ares_channel, Pending<T>*)> start) {
        // Named locals, not temporaries in the co_await expression: g++ 12 mishandles
        // the lifetime of such temporaries across a suspension.
        auto ex = co_await asio::this_coro::executor;
        auto init = [this, ex, start = std::move(start)](auto handler) mutable {
            using H = decltype(handler);
            Pending<T>* p = new PendingHandler<T, H>(std::move(handler), ex);
            submit([start = std::move(start), p](ares_channel ch) { start(ch, p); });
        };
        T result = co_await asio::async_initiate<decltype(asio::use_awaitable), void(T)>(
            std::move(init), asio::use_awaitable);
        co_return result;
    }

    Clock::time_point now() const { return clock ? clock() : Clock::now(); }

    // Resolver thread: the cached answer, handed to `p` (SRV in a fresh random order).
    template <class T>
    bool answer_from_cache(DnsQuestion question, const std::string& name, Pending<T>* p) {
        const DnsAnswer* hit = cache.find(question, name, now());
        if (!hit) return false;
        T copy = std::get<T>(*hit);
        deliver(std::move(copy), p);
        return true;
    }

    template <class T>
    void deliver(T result, Pending<T>* p) {
        if constexpr (std::is_same_v<T, std::vector<SrvTarget>>) order_srv(result, random);
        p->complete(std::move(result));
        delete p;
    }

    // Keeps an answer: a positive one for `ttl`, a negative one (NXDOMAIN, or no record of
    // the type) for the SOA's negative TTL or negative_ttl, at most negative_ttl_cap
    // (RFC 2308 5). Failures (timeout, SERVFAIL, refused, shutdown) are not kept.
    template <class T>
    void remember(DnsQuestion question, const std::string& name, int status, const T& result,
                  std::optional<std::uint32_t> ttl) {
        std::chrono::seconds keep{0};
        if (status == ARES_SUCCESS && !result.empty()) {
            if (!ttl) return;
            keep = std::chrono::seconds(*ttl);
        } else if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
            keep = ttl ? std::chrono::seconds(*ttl) : negative_ttl;
            keep = std::min(keep, negative_ttl_cap);
        } else {
            return;
        }
        const auto t = now();
        cache.store(question, name, result, t + keep, t);
    }

    // A query in flight: who asked and for what.
    template <class T>
    struct Query {
        Impl* impl;
        DnsQuestion question;
        std::string name;
        Pending<T>* pending;
    };

    template <class T, class Parse>
    static void on_answer(void* arg, int status, unsigned char* abuf, int alen, Parse parse) {
        std::unique_ptr<Query<T>> q(static_cast<Query<T>*>(arg));
        T result = parse(status, abuf, alen);
        q->impl->remember(q->question, q->name, status, result, message_ttl(abuf, alen));
        q->impl->deliver(std::move(result), q->pending);
    }
    static void on_srv(void* arg, int status, int, unsigned char* abuf, int alen) {
        on_answer<std::vector<SrvTarget>>(arg, status, abuf, alen, parse_srv);
    }
    static void on_naptr(void* arg, int status, int, unsigned char* abuf, int alen) {
        on_answer<std::vector<NaptrRecord>>(arg, status, abuf, alen, parse_naptr);
    }
    static void on_addrinfo(void* arg, int status, int, ares_addrinfo* res) {
        using R = std::vector<asio::ip::address>;
        std::unique_ptr<Query<R>> q(static_cast<Query<R>*>(arg));
        R result = parse_addrinfo(status, res);
        q->impl->remember(q->question, q->name, status, result, addrinfo_ttl(res));
        if (res) ares_freeaddrinfo(res);
        q->impl->deliver(std::move(result), q->pending);
    }

    // Resolver thread: the answer from the cache, else a query of `type` for `name`.
    template <class T>
    void query(ares_channel ch, DnsQuestion question, const std::string& name, int type,
               ares_callback callback, Pending<T>* p) {
        if (answer_from_cache(question, name, p)) return;
        ares_query(ch, name.c_str(), ns_c_in, type, callback, new Query<T>{this, question, name, p});
    }
};

DnsResolver::DnsResolver(DnsResolverOptions options) : impl_(std::make_unique<Impl>(options)) {
    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
        throw std::runtime_error("c-ares: library init failed");
    ares_options opts{};
    opts.timeout = static_cast<int>(options.timeout.count());  // ms with ARES_OPT_TIMEOUTMS
    opts.tries = options.tries;
    int rc = ares_init_options(&impl_->channel, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (rc != ARES_SUCCESS) {
        ares_library_cleanup();
        throw std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
    }
    if (!options.servers.empty()) {
        rc = ares_set_servers_ports_csv(impl_->channel, options.servers.c_str());
        if (rc != ARES_SUCCESS) {
            ares_destroy(impl_->channel);
            ares_library_cleanup();
            throw std::runtime_error("DNS servers \"" + options.servers + "\": " + ares_strerror(rc));
        }
    }
    if (::pipe2(impl_->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        ares_destroy(impl_->channel);
        ares_library_cleanup();
        throw std::runtime_error("DNS resolver: cannot create its wake-up pipe");
    }
    impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

DnsResolver::~DnsResolver() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    const char c = 1;
    [[maybe_unused]] auto n = ::write(impl_->wake[1], &c, 1);
    impl_->thread.join();
    ares_destroy(impl_->channel);  // calls every pending callback (ARES_EDESTRUCTION)
    ::close(impl_->wake[0]);
    ::close(impl_->wake[1]);
    ares_library_cleanup();
}

asio::awaitable<std::vector<SrvTarget>> DnsResolver::srv(std::string name) {
    using R = std::vector<SrvTarget>;
    std::function<void(ares_channel, Pending<R>*)> start = [impl = impl_.get(), name = std::move(name)](
                                                               ares_channel ch, Pending<R>* p) {
        impl->query(ch, DnsQuestion::Srv, name, ns_t_srv, Impl::on_srv, p);
    };
    R result = co_await impl_->lookup<R>(std::move(start));
    co_return result;
}

asio::awaitable<std::vector<NaptrRecord>> DnsResolver::naptr(std::string domain) {
    using R = std::vector<NaptrRecord>;
    std::function<void(ares_channel, Pending<R>*)> start = [impl = impl_.get(), domain = std::move(domain)](
                                                               ares_channel ch, Pending<R>* p) {
        impl->query(ch, DnsQuestion::Naptr, domain, ns_t_naptr, Impl::on_naptr, p);
    };
    R result = co_await impl_->lookup<R>(std::move(start));
    co_return result;
}

asio::awaitable<std::vector<asio::ip::address>> DnsResolver::addresses(std::string host) {
    using R = std::vector<asio::ip::address>;
    std::function<void(ares_channel, Pending<R>*)> start = [impl = impl_.get(), host = std::move(host)](
                                                               ares_channel ch, Pending<R>* p) {
        if (impl->answer_from_cache(DnsQuestion::Addresses, host, p)) return;
        ares_addrinfo_hints hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_DGRAM;
        ares_getaddrinfo(ch, host.c_str(), nullptr, &hints, Impl::on_addrinfo,
                         new Impl::Query<R>{impl, DnsQuestion::Addresses, host, p});
    };
    R result = co_await impl_->lookup<R>(std::move(start));
    co_return result;
}

}  // namespace sipproxy::transport
