#include "auth/nonce.hpp"

#include <catch2/catch.hpp>

using namespace sipproxy::auth;
using namespace std::chrono_literals;

namespace {
NonceSecret fixed_secret(unsigned char fill) {
    NonceSecret s;
    s.bytes.fill(fill);
    return s;
}
const Now t0 = Now::at(Time(1000000s));
}  // namespace

TEST_CASE("a fresh nonce is valid, then stale after the TTL", "[nonce]") {
    NonceIssuer issuer("example.com", 300s, fixed_secret(1));
    std::string n = issuer.issue(t0);
    CHECK(n.size() == NonceIssuer::nonce_length);
    CHECK(n.find_first_of("\"\\ ,") == std::string::npos);  // safe inside a quoted-string

    auto c = issuer.check(n, t0);
    CHECK(c.state == NonceState::valid);
    CHECK(c.issued == t0.mono);
    CHECK(issuer.check(n, t0 + 300s).state == NonceState::valid);
    CHECK(issuer.check(n, t0 + 301s).state == NonceState::stale);
    CHECK(issuer.check(n, t0 + 100000s).state == NonceState::stale);
}

TEST_CASE("nonces are unique", "[nonce]") {
    NonceIssuer issuer("example.com", 300s, fixed_secret(1));
    CHECK(issuer.issue(t0) != issuer.issue(t0));
}

TEST_CASE("any other thread or issuer with the same secret and realm accepts it", "[nonce]") {
    NonceIssuer a("example.com", 300s, fixed_secret(7));
    NonceIssuer b("example.com", 300s, fixed_secret(7));
    CHECK(b.check(a.issue(t0), t0 + 1s).state == NonceState::valid);
    CHECK(a.opaque() == b.opaque());
}

TEST_CASE("tampered, foreign and garbage nonces are invalid", "[nonce]") {
    NonceIssuer issuer("example.com", 300s, fixed_secret(1));
    std::string n = issuer.issue(t0);

    SECTION("any changed character") {
        for (std::size_t i = 0; i < n.size(); ++i) {
            std::string t = n;
            t[i] = t[i] == 'A' ? 'B' : 'A';
            INFO(i);
            CHECK(issuer.check(t, t0).state == NonceState::invalid);
        }
    }
    SECTION("another realm with the same secret") {
        NonceIssuer other("other.example.com", 300s, fixed_secret(1));
        CHECK(other.check(n, t0).state == NonceState::invalid);
        CHECK(other.opaque() != issuer.opaque());
    }
    SECTION("another daemon run (secret)") {
        NonceIssuer other("example.com", 300s, fixed_secret(2));
        CHECK(other.check(n, t0).state == NonceState::invalid);
    }
    SECTION("wrong length and alphabet") {
        CHECK(issuer.check("", t0).state == NonceState::invalid);
        CHECK(issuer.check(n.substr(0, 63), t0).state == NonceState::invalid);
        CHECK(issuer.check(n + "A", t0).state == NonceState::invalid);
        std::string bad = n;
        bad[10] = '+';  // base64, not base64url
        CHECK(issuer.check(bad, t0).state == NonceState::invalid);
        CHECK(issuer.check(std::string(64, '\0'), t0).state == NonceState::invalid);
    }
    SECTION("a nonce from the future is not ours") {
        std::string future = issuer.issue(t0 + 60s);
        CHECK(issuer.check(future, t0).state == NonceState::invalid);
    }
}

TEST_CASE("a nonce carries wall-clock time: another host, whatever its monotonic clock, reads "
          "the same age", "[nonce]") {
    // Node A and node B (other hosts): same wall clock, unrelated monotonic clocks.
    NonceIssuer a("example.com", 300s, fixed_secret(7));
    NonceIssuer b("example.com", 300s, fixed_secret(7));
    const Now at_a{Time(5s), WallTime(1'700'000'000s)};
    const Now at_b{Time(987'654s), at_a.wall};
    const std::string n = a.issue(at_a);

    auto c = b.check(n, at_b + 10s);
    CHECK(c.state == NonceState::valid);
    CHECK(c.issued == at_b.mono);  // on B's own monotonic clock: 10 s ago
    CHECK(b.check(n, at_b + 300s).state == NonceState::valid);
    CHECK(b.check(n, at_b + 301s).state == NonceState::stale);
    // B's clock a little behind A's (within the slack): valid, aged 0.
    auto behind = b.check(n, Now{at_b.mono, at_a.wall - 3s});
    CHECK(behind.state == NonceState::valid);
    CHECK(behind.issued == at_b.mono);
    // Too far behind: not ours.
    CHECK(b.check(n, Now{at_b.mono, at_a.wall - 6s}).state == NonceState::invalid);
}

TEST_CASE("a wall clock step never makes a nonce valid beyond its lifetime", "[nonce]") {
    NonceIssuer issuer("example.com", 300s, fixed_secret(1));
    const Now start{Time(1000s), WallTime(1'700'000'000s)};
    const std::string n = issuer.issue(start);

    SECTION("stepped backwards by an hour: earlier nonces are from the future, invalid") {
        Now stepped{start.mono + 10s, start.wall - 3600s};
        CHECK(issuer.check(n, stepped).state == NonceState::invalid);
        // ...until the wall clock is back at the issue time; from then on the usual TTL.
        CHECK(issuer.check(n, Now{start.mono + 3600s, start.wall + 300s}).state ==
              NonceState::valid);
        CHECK(issuer.check(n, Now{start.mono + 3601s, start.wall + 301s}).state ==
              NonceState::stale);
        // A nonce issued after the step ages normally from there.
        const std::string later = issuer.issue(stepped);
        CHECK(issuer.check(later, stepped + 300s).state == NonceState::valid);
        CHECK(issuer.check(later, stepped + 301s).state == NonceState::stale);
    }
    SECTION("stepped forwards beyond the TTL: stale, the client gets a fresh nonce") {
        CHECK(issuer.check(n, Now{start.mono + 1s, start.wall + 3600s}).state ==
              NonceState::stale);
    }
    SECTION("ahead by the slack at most: valid for ttl + slack of wall time, no longer") {
        const std::string ahead = issuer.issue(Now{start.mono, start.wall + 5s});
        CHECK(issuer.check(ahead, start).state == NonceState::valid);
        CHECK(issuer.check(ahead, start + 305s).state == NonceState::valid);
        CHECK(issuer.check(ahead, start + 306s).state == NonceState::stale);
    }
}

TEST_CASE("random secrets differ", "[nonce]") {
    CHECK(NonceSecret::random().bytes != NonceSecret::random().bytes);
}

TEST_CASE("base64url round trip", "[nonce]") {
    const unsigned char data[6] = {0xfb, 0xff, 0x00, 0x3e, 0x3f, 0x80};
    std::string e = base64url_encode(data, sizeof data);
    CHECK(e == "-_8APj-A");
    unsigned char back[6] = {};
    REQUIRE(base64url_decode(e, back, sizeof back));
    CHECK(std::equal(std::begin(data), std::end(data), std::begin(back)));
    CHECK_FALSE(base64url_decode("-_8APj-=", back, sizeof back));
    CHECK(base64url_encode(data, 1) == "-w");
    CHECK(base64url_encode(data, 2) == "-_8");
}

#include <openssl/evp.h>

TEST_CASE("the nonce tag is HMAC-SHA256(secret, \"nonce\" || time || unique || realm)", "[nonce]") {
    // The tag is computed from precomputed key pads; check it against OpenSSL's own HMAC.
    const auto secret = fixed_secret(7);
    NonceIssuer issuer("example.com", 300s, secret);
    const std::string n = issuer.issue(t0);
    unsigned char raw[48];
    REQUIRE(base64url_decode(n, raw, sizeof raw));
    std::string input = "nonce";
    input.append(reinterpret_cast<const char*>(raw), 16);
    input += "example.com";
    unsigned char mac[32];
    std::size_t len = 0;
    REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.bytes.data(),
                      secret.bytes.size(), reinterpret_cast<const unsigned char*>(input.data()),
                      input.size(), mac, sizeof mac, &len) != nullptr);
    REQUIRE(len == 32);
    CHECK(std::equal(mac, mac + 32, raw + 16));
}
