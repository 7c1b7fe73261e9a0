#pragma once
// Steers each UDP response to the worker whose client transaction it answers, in the kernel,
// before any worker wakes up. Every worker has its own socket on a UDP listener
// (SO_REUSEPORT), and the kernel picks one per datagram by a hash of the addresses, so a
// next hop's response to a request worker 0 forwarded lands on worker 1 half the time and
// is handed over (a cross-thread post and a wake-up of both). The branch of our Via names
// the worker (transaction/branch.hpp: "z9hG4bK-sp" then two hex digits), so a classic BPF
// program attached to the group (SO_ATTACH_REUSEPORT_CBPF) finds the first "z9hG4bK" in the
// datagram (the top Via: Vias keep their order); after "z9hG4bK-sp" it returns the worker
// named there. Other branches (requests) are spread over the workers by a hash of the
// branch token, its first 16 bytes after the cookie (the kernel's hash of the addresses
// would put everything one source sends, a trunk, on one worker, which now also gets the
// responses): a transaction's retransmissions, its CANCEL and the ACK of a failure carry
// its branch and reach the same worker. Without a branch,
// or past the group, the kernel hashes as before. A wrong guess costs nothing but the
// hand-over it was meant to save: the transaction layer still checks.
// Socket i of a group must be worker i's: the daemon opens the workers' sockets in order.
#include <linux/filter.h>

#include <cstddef>
#include <system_error>
#include <vector>

namespace sipproxy::transport {

// Bytes of a datagram searched for the branch (the top Via of a response sits well within).
inline constexpr std::size_t kSteeringSearch = 512;

// The program for a group of `workers` sockets (at most BPF_MAXINSNS instructions).
// Requests are spread over the first `request_workers` of them (0: all): 1 puts every
// request on worker 0, which is cheaper while one worker keeps up (RequestSpreading).
std::vector<sock_filter> response_steering_program(unsigned workers,
                                                   std::size_t search = kSteeringSearch,
                                                   unsigned request_workers = 0);

// Attaches it to the SO_REUSEPORT group of the UDP socket `fd` (again: replaces the one
// attached before, atomically for the datagrams that follow).
std::error_code steer_responses(int fd, unsigned workers, unsigned request_workers = 0);

// When to spread requests over all the workers, and when to put them on one: from each
// worker's busy share of the last interval (CPU time / wall time, 0..1). Spreads as soon as
// the busiest worker passes `spread_above`; goes back to one worker once the workers
// together stay under `gather_below` for `quiet_intervals` intervals in a row.
class RequestSpreading {
  public:
    struct Options {
        double spread_above = 0.5;
        double gather_below = 0.3;
        unsigned quiet_intervals = 4;
    };
    RequestSpreading(unsigned workers, Options o);
    explicit RequestSpreading(unsigned workers) : RequestSpreading(workers, Options{}) {}
    // The number of workers requests go to after this interval (1 or all).
    unsigned next(const std::vector<double>& busy);
    unsigned current() const { return current_; }

  private:
    unsigned workers_;
    Options options_;
    unsigned current_;
    unsigned quiet_ = 0;
};

}  // namespace sipproxy::transport
