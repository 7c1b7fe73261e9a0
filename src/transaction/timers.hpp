#pragma once
// RFC 3261 17 timer values (T1, T2, T4 configurable; the others derive from them).
#include <algorithm>
#include <chrono>

namespace sipproxy::transaction {

struct Timers {
    std::chrono::milliseconds t1{500};
    std::chrono::milliseconds t2{4000};
    std::chrono::milliseconds t4{5000};

    std::chrono::milliseconds b() const { return 64 * t1; }  // INVITE client timeout
    std::chrono::milliseconds f() const { return 64 * t1; }  // non-INVITE client timeout
    std::chrono::milliseconds h() const { return 64 * t1; }  // wait for ACK
    std::chrono::milliseconds j() const { return 64 * t1; }  // non-INVITE server linger (UDP)
    // Timer D (wait for retransmitted INVITE finals, UDP): RFC 3261 17.1.1.2 says more
    // than 32 s whatever T1 is (the UAS retransmits for 64*T1 of its own T1).
    std::chrono::milliseconds d() const {
        return std::max(std::chrono::milliseconds(32000), 64 * t1);
    }
};

}  // namespace sipproxy::transaction
