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
#include <stdexcept>
#include <thread>
#include <utility>

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
    order_srv(out);
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

std::vector<asio::ip::address> parse_addrinfo(int status, ares_addrinfo* res) {
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
    if (res) ares_freeaddrinfo(res);
    return out;
}

void on_srv(void* arg, int status, int, unsigned char* abuf, int alen) {
    auto* p = static_cast<Pending<std::vector<SrvTarget>>*>(arg);
    p->complete(parse_srv(status, abuf, alen));
    delete p;
}

void on_naptr(void* arg, int status, int, unsigned char* abuf, int alen) {
    auto* p = static_cast<Pending<std::vector<NaptrRecord>>*>(arg);
    p->complete(parse_naptr(status, abuf, alen));
    delete p;
}

void on_addrinfo(void* arg, int status, int, ares_addrinfo* res) {
    auto* p = static_cast<Pending<std::vector<asio::ip::address>>*>(arg);
    p->complete(parse_addrinfo(status, res));
    delete p;
}

}  // namespace

// The channel belongs to the resolver thread: every c-ares call but init and destroy
// happens there. Other threads only queue work and wake it through a pipe.
struct DnsResolver::Impl {
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
};

DnsResolver::DnsResolver(DnsResolverOptions options) : impl_(std::make_unique<Impl>()) {
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
    std::function<void(ares_channel, Pending<R>*)> start = [name = std::move(name)](ares_channel ch,
                                                                                    Pending<R>* p) {
        ares_query(ch, name.c_str(), ns_c_in, ns_t_srv, on_srv, p);
    };
    R result = co_await impl_->lookup<R>(std::move(start));
    co_return result;
}

asio::awaitable<std::vector<NaptrRecord>> DnsResolver::naptr(std::string domain) {
    using R = std::vector<NaptrRecord>;
    std::function<void(ares_channel, Pending<R>*)> start = [domain = std::move(domain)](ares_channel ch,
                                                                                        Pending<R>* p) {
        ares_query(ch, domain.c_str(), ns_c_in, ns_t_naptr, on_naptr, p);
    };
    R result = co_await impl_->lookup<R>(std::move(start));
    co_return result;
}

asio::awaitable<std::vector<asio::ip::address>> DnsResolver::addresses(std::string host) {
    using R = std::vector<asio::ip::address>;
    std::function<void(ares_channel, Pending<R>*)> start = [host = std::move(host)](ares_channel ch,
                                                                                    Pending<R>* p) {
        ares_addrinfo_hints hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_DGRAM;
        ares_getaddrinfo(ch, host.c_str(), nullptr, &hints, on_addrinfo, p);
    };
    R result = co_await impl_->lookup<R>(std::move(start));
    co_return result;
}

void order_srv(std::vector<SrvTarget>& records) {
    // RFC 2782: a target of "." means the service is decidedly not available.
    std::erase_if(records, [](const SrvTarget& r) { return r.host.empty() || r.host == "."; });
    std::stable_sort(records.begin(), records.end(), [](const SrvTarget& a, const SrvTarget& b) {
        if (a.priority != b.priority) return a.priority < b.priority;
        return a.weight > b.weight;
    });
}

}  // namespace sipproxy::transport
