#include "transport/response_steering.hpp"

#include <algorithm>

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

namespace sipproxy::transport {

namespace {

constexpr std::uint32_t kNoWorker = 0xffffffffu;  // not a socket: the kernel hashes
// Bytes of a request's branch after the magic cookie that pick its worker (at most: the
// branch may end before). 11 instructions each; jumps over them stay within 255.
constexpr std::size_t kBranchHashed = 16;

constexpr std::uint32_t word(const char (&s)[5]) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[0])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(s[1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(s[2])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(s[3]));
}

sock_filter stmt(std::uint16_t code, std::uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter jump(std::uint16_t code, std::uint32_t k, std::uint8_t jt, std::uint8_t jf) {
    return sock_filter{code, jt, jf, k};
}

// A = value of the hex digit in A ('0'-'9', 'a'-'f'; anything else gives a large value or
// one past the group, which the kernel ignores).
void hex_digit(std::vector<sock_filter>& p) {
    p.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, 'a', 0, 2));
    p.push_back(stmt(BPF_ALU | BPF_SUB | BPF_K, 'a' - 10));
    p.push_back(stmt(BPF_JMP | BPF_JA, 1));
    p.push_back(stmt(BPF_ALU | BPF_SUB | BPF_K, '0'));
}

}  // namespace

std::vector<sock_filter> response_steering_program(unsigned workers, std::size_t search,
                                                   unsigned request_workers) {
    if (workers == 0) workers = 1;
    if (request_workers == 0 || request_workers > workers) request_workers = workers;
    // The datagram as the program sees it starts at the UDP payload. A load past its end
    // would end the program with 0 (worker 0), so every offset is checked against the
    // length first. Classic BPF only jumps forward (conditional jumps by at most 255), so
    // the search is unrolled: 7 instructions per offset. M[0]: scratch (the hash of a
    // request's branch), M[1]: the length, M[2]: where "z9hG" starts, M[3]: scratch.
    std::vector<sock_filter> p;
    p.push_back(stmt(BPF_LD | BPF_W | BPF_LEN, 0));
    p.push_back(stmt(BPF_ST, 1));
    p.push_back(stmt(BPF_MISC | BPF_TAX, 0));  // X = length
    std::vector<std::size_t> to_match;         // the "ja match" of each offset
    for (std::size_t i = 0; i < search; ++i) {
        const auto at = static_cast<std::uint32_t>(i);
        p.push_back(stmt(BPF_LD | BPF_IMM, at + 12));              // "z9hG4bK-sp" + 2 digits
        p.push_back(jump(BPF_JMP | BPF_JGT | BPF_X, 0, 4, 0));     // past the end: give up
        p.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, at));
        p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, word("z9hG"), 0, 3));
        p.push_back(stmt(BPF_LDX | BPF_IMM, at));                  // X = where it starts
        to_match.push_back(p.size());
        p.push_back(stmt(BPF_JMP | BPF_JA, 0));                    // set below
        p.push_back(stmt(BPF_RET | BPF_K, kNoWorker));
    }
    p.push_back(stmt(BPF_RET | BPF_K, kNoWorker));  // not in the first `search` bytes
    const std::size_t match = p.size();
    for (auto at : to_match) p[at].k = static_cast<std::uint32_t>(match - at - 1);
    // X = offset of "z9hG": the rest of the magic cookie (RFC 3261 8.1.1.7), then either
    // our "-sp" and the worker, or another branch.
    p.push_back(stmt(BPF_STX, 2));
    p.push_back(stmt(BPF_LD | BPF_W | BPF_IND, 4));
    p.push_back(stmt(BPF_ALU | BPF_AND | BPF_K, 0xffffff00u));
    const std::size_t cookie = p.size();
    p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, word("4bK\0") & 0xffffff00u, 0, 0));
    p.push_back(stmt(BPF_LD | BPF_W | BPF_IND, 7));  // "-sp" + first digit
    p.push_back(stmt(BPF_ALU | BPF_AND | BPF_K, 0xffffff00u));
    const std::size_t ours = p.size();
    p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, word("-sp\0") & 0xffffff00u, 0, 0));
    // A response to one of our requests: the worker named in the branch.
    p.push_back(stmt(BPF_LD | BPF_B | BPF_IND, 10));
    hex_digit(p);
    p.push_back(stmt(BPF_ALU | BPF_LSH | BPF_K, 4));
    p.push_back(stmt(BPF_ST, 0));  // M[0] = high digit * 16
    p.push_back(stmt(BPF_LD | BPF_B | BPF_IND, 11));
    hex_digit(p);
    p.push_back(stmt(BPF_LDX | BPF_MEM, 0));
    p.push_back(stmt(BPF_ALU | BPF_ADD | BPF_X, 0));
    p.push_back(stmt(BPF_RET | BPF_A, 0));
    // Anything else with a branch (a request; a response to somebody else's request):
    // spread by a hash of the branch's first kBranchHashed bytes after the cookie, up to
    // the end of the branch, so that one source's transactions go to every worker while a
    // retransmission, its CANCEL and the ACK of its failure (same branch, RFC 3261 9.1,
    // 17.1.1.3) reach the worker of the first. The whole token counts: a sender whose
    // branches differ only in a counter at the end (SIPp: z9hG4bK-<pid>-<call>-<n>) would
    // otherwise land on one worker for thousands of transactions. Fewer than kBranchHashed
    // bytes after the cookie in the datagram: hashed by the kernel.
    const std::size_t other = p.size();
    p.push_back(stmt(BPF_MISC | BPF_TXA, 0));
    p.push_back(stmt(BPF_ALU | BPF_ADD | BPF_K, 7 + kBranchHashed));
    p.push_back(stmt(BPF_LDX | BPF_MEM, 1));
    const std::size_t too_short = p.size();
    p.push_back(jump(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 0));
    p.push_back(stmt(BPF_LDX | BPF_MEM, 2));
    p.push_back(stmt(BPF_LD | BPF_IMM, 0));
    p.push_back(stmt(BPF_ST, 0));  // M[0] = hash
    // Per byte (X = where "z9hG" starts): a byte that cannot be in a token (controls,
    // space, ';', ',') ends the branch; else M[0] = M[0] * 31 ^ byte.
    std::vector<std::size_t> to_hashed;
    for (std::size_t i = 0; i < kBranchHashed; ++i) {
        p.push_back(stmt(BPF_LD | BPF_B | BPF_IND, static_cast<std::uint32_t>(7 + i)));
        to_hashed.push_back(p.size());
        p.push_back(jump(BPF_JMP | BPF_JGT | BPF_K, ' ', 0, 0));  // jf: the end
        to_hashed.push_back(p.size());
        p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, ';', 0, 0));  // jt: the end
        to_hashed.push_back(p.size());
        p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, ',', 0, 0));  // jt: the end
        p.push_back(stmt(BPF_ST, 3));
        p.push_back(stmt(BPF_LD | BPF_MEM, 0));
        p.push_back(stmt(BPF_ALU | BPF_MUL | BPF_K, 31));
        p.push_back(stmt(BPF_LDX | BPF_MEM, 3));
        p.push_back(stmt(BPF_ALU | BPF_XOR | BPF_X, 0));
        p.push_back(stmt(BPF_ST, 0));
        p.push_back(stmt(BPF_LDX | BPF_MEM, 2));
    }
    const std::size_t hashed = p.size();
    for (auto at : to_hashed) {
        const auto d = static_cast<std::uint8_t>(hashed - at - 1);
        if (p[at].code == (BPF_JMP | BPF_JGT | BPF_K)) p[at].jf = d;
        else p[at].jt = d;
    }
    p.push_back(stmt(BPF_LD | BPF_MEM, 0));
    p.push_back(stmt(BPF_ALU | BPF_MOD | BPF_K, request_workers));
    p.push_back(stmt(BPF_RET | BPF_A, 0));
    const std::size_t give_up = p.size();
    p.push_back(stmt(BPF_RET | BPF_K, kNoWorker));
    p[cookie].jf = static_cast<std::uint8_t>(give_up - cookie - 1);
    p[ours].jf = static_cast<std::uint8_t>(other - ours - 1);
    p[too_short].jt = static_cast<std::uint8_t>(give_up - too_short - 1);
    return p;
}

std::error_code steer_responses(int fd, unsigned workers, unsigned request_workers) {
    auto program = response_steering_program(workers, kSteeringSearch, request_workers);
    sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
    if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof fprog) != 0)
        return std::error_code(errno, std::generic_category());
    return {};
}

RequestSpreading::RequestSpreading(unsigned workers, Options o)
    : workers_(workers == 0 ? 1 : workers), options_(o), current_(workers_) {}

unsigned RequestSpreading::next(const std::vector<double>& busy) {
    double busiest = 0, total = 0;
    for (double b : busy) {
        busiest = std::max(busiest, b);
        total += b;
    }
    if (busiest > options_.spread_above) {
        quiet_ = 0;
        current_ = workers_;
    } else if (total < options_.gather_below) {
        if (current_ != 1 && ++quiet_ >= options_.quiet_intervals) {
            quiet_ = 0;
            current_ = 1;
        }
    } else {
        quiet_ = 0;
    }
    return current_;
}

}  // namespace sipproxy::transport
