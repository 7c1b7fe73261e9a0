// One user guessed at from many sources: past the limit the name is throttled for
// sources that never authenticated as that user; the user's own devices keep working;
// a steady attack keeps the throttle on; every name counts; memory is bounded.
#include "auth/user_throttle.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace sipproxy::auth;
using namespace std::chrono_literals;

namespace {
const Time t0 = Time(1000000s);
std::string source(int i) { return "198.51.100." + std::to_string(i); }

// The unit under test with its limits bound, as the pipeline calls it.
struct Throttle {
    UserThrottle u;
    UserThrottle::Limits l;
    explicit Throttle(unsigned failures, std::chrono::seconds known_for = 86400s,
                      std::size_t max_names = 65536)
        : u(max_names), l{failures, 600s, known_for} {}
    bool refuses(std::string_view user, std::string_view src, Time now) { return u.refuses(user, src, now, l); }
    bool failure(std::string_view user, Time now) { return u.failure(user, now, l); }
    void success(std::string_view user, std::string_view src, Time now) { u.success(user, src, now); }
    bool throttled(std::string_view user, Time now) const { return u.throttled(user, now, l); }
    std::size_t tracked() const { return u.tracked(); }
};
}  // namespace

TEST_CASE("user throttle: many sources, one user") {
    Throttle u(5);
    u.success("alice", "192.0.2.1", t0);  // alice's phone
    for (int i = 0; i < 4; ++i) {
        CHECK_FALSE(u.refuses("alice", source(i), t0 + 1s));
        CHECK_FALSE(u.failure("alice", t0 + 1s));
    }
    CHECK_FALSE(u.throttled("alice", t0 + 1s));
    CHECK(u.failure("alice", t0 + 2s));  // the 5th, from a 5th source: throttled now
    CHECK(u.throttled("alice", t0 + 2s));
    CHECK_FALSE(u.failure("alice", t0 + 3s));  // said once

    CHECK(u.refuses("alice", source(9), t0 + 3s));        // a new source, right password or not
    CHECK_FALSE(u.refuses("alice", "192.0.2.1", t0 + 3s));  // alice's phone
    CHECK_FALSE(u.refuses("bob", source(9), t0 + 3s));    // another user
}

TEST_CASE("user throttle: holds while the attack goes on, ends after a quiet window") {
    Throttle u(3);
    for (int i = 0; i < 3; ++i) u.failure("alice", t0);
    REQUIRE(u.throttled("alice", t0));
    // An attempt every 500 s keeps it on (each refused attempt counts as activity).
    for (int k = 1; k <= 5; ++k) CHECK(u.refuses("alice", source(k), t0 + std::chrono::seconds(500 * k)));
    const Time last = t0 + 2500s;
    CHECK(u.throttled("alice", last + 599s));
    CHECK_FALSE(u.throttled("alice", last + 600s));
    CHECK_FALSE(u.refuses("alice", source(7), last + 600s));
    // Counting starts anew.
    CHECK_FALSE(u.failure("alice", last + 601s));
    CHECK_FALSE(u.failure("alice", last + 602s));
    CHECK(u.failure("alice", last + 603s));
}

TEST_CASE("user throttle: failures spread over more than a window do not add up") {
    Throttle u(3);
    u.failure("alice", t0);
    u.failure("alice", t0 + 300s);
    CHECK_FALSE(u.failure("alice", t0 + 600s));  // a new window: 1
    CHECK_FALSE(u.throttled("alice", t0 + 600s));
}

TEST_CASE("user throttle: a known source is known for a while only, the newest 8") {
    Throttle u(1, 3600s);
    u.success("alice", "192.0.2.1", t0);
    for (int i = 0; i < 8; ++i) u.success("alice", source(i), t0 + 10s);  // 9 sources: the oldest goes
    u.failure("alice", t0 + 20s);
    CHECK(u.refuses("alice", "192.0.2.1", t0 + 20s));
    CHECK_FALSE(u.refuses("alice", source(0), t0 + 20s));
    CHECK_FALSE(u.refuses("alice", source(7), t0 + 20s));
    // Not seen for known_for: no longer known.
    u.failure("alice", t0 + 3700s);
    CHECK(u.refuses("alice", source(7), t0 + 3700s));
    // A refreshed one stays known.
    u.success("alice", source(3), t0 + 3700s);
    CHECK_FALSE(u.refuses("alice", source(3), t0 + 3701s));
}

TEST_CASE("user throttle: unknown names count as well; off; bounded") {
    Throttle u(2, 86400s, 100);
    u.failure("nobody", t0);
    CHECK(u.failure("nobody", t0));
    CHECK(u.refuses("nobody", source(1), t0));  // same answer as for a configured user
    for (int i = 0; i < 10000; ++i) u.failure("name" + std::to_string(i), t0 + 1s);
    CHECK(u.tracked() <= 100);
    u.l.max_failures = 0;  // off
    u.failure("carol", t0 + 2s);
    u.failure("carol", t0 + 2s);
    u.failure("carol", t0 + 2s);
    CHECK_FALSE(u.refuses("carol", source(1), t0 + 2s));
}

TEST_CASE("user throttle, cluster: failures are shared, others' count toward the throttle") {
    UserThrottle a, b;
    UserThrottle::Limits l;
    l.max_failures = 4;
    l.window = 600s;
    CHECK(a.take_shared().empty());
    a.share(true);
    b.share(true);
    CHECK_FALSE(a.failure("alice", t0, l));
    CHECK_FALSE(a.failure("alice", t0, l));
    auto shared = a.take_shared();
    REQUIRE(shared.size() == 1);
    CHECK(shared[0] == std::pair<std::string, unsigned>{"alice", 2});
    CHECK(a.take_shared().empty());
    CHECK_FALSE(b.failure("alice", t0, l));
    b.take_shared();
    CHECK_FALSE(b.add("alice", 2, t0, l));  // 1 + 2 = 3 of 4
    CHECK(b.take_shared().empty());         // added failures are not shared again
    CHECK_FALSE(b.throttled("alice", t0, l));
    CHECK(b.add("alice", 1, t0 + 1s, l));  // 4: throttled by the cluster's total
    CHECK(b.throttled("alice", t0 + 1s, l));
    CHECK(b.refuses("alice", source(7), t0 + 2s, l));
}
