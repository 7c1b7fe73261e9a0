#include "auth/authenticator.hpp"

#include <catch2/catch.hpp>
#include <cstdio>

#include "auth/digest.hpp"

using namespace sipproxy::auth;
using namespace std::chrono_literals;

namespace {

const Now t0 = Now::at(Time(1000000s));

NonceSecret test_secret() {
    NonceSecret s;
    s.bytes.fill(0x42);
    return s;
}

AuthenticatorOptions options() {
    AuthenticatorOptions o;
    o.realm = "example.com";
    o.algorithms = {"SHA-256", "MD5"};
    o.nonce_ttl = 300;
    o.users = {
        {"alice", "wonderland", "", ""},
        {"md5only", "", compute_ha1(Algorithm::md5, "md5only", "example.com", "pw").str(), ""},
        {"shaonly", "", "", compute_ha1(Algorithm::sha256, "shaonly", "example.com", "pw").str()},
    };
    return o;
}

std::unique_ptr<Authenticator> make(AuthenticatorOptions o = options()) {
    auto a = Authenticator::create(std::move(o), test_secret());
    REQUIRE(a.has_value());
    return std::move(a.value());
}

// Reads name="value" or name=value from a challenge.
std::string param(const std::string& challenge, const std::string& name) {
    auto p = challenge.find(name + "=");
    REQUIRE(p != std::string::npos);
    p += name.size() + 1;
    if (challenge[p] == '"') {
        auto e = challenge.find('"', p + 1);
        return challenge.substr(p + 1, e - p - 1);
    }
    auto e = challenge.find(',', p);
    return challenge.substr(p, e == std::string::npos ? std::string::npos : e - p);
}

struct Client {
    std::string user = "alice";
    std::string password = "wonderland";
    std::string method = "REGISTER";
    std::string uri = "sip:example.com";
    std::string realm = "example.com";
    Algorithm algorithm = Algorithm::sha256;
    std::string nonce;
    std::string opaque;
    std::uint32_t nc = 1;
    std::string cnonce = "0a4f113b";
    bool qop = true;

    void take(const std::string& challenge) {
        nonce = param(challenge, "nonce");
        opaque = param(challenge, "opaque");
        algorithm = *algorithm_from_name(param(challenge, "algorithm"));
    }
    std::string nc_hex() const {
        char b[9];
        std::snprintf(b, sizeof b, "%08x", nc);
        return b;
    }
    std::string response() const {
        auto ha1 = compute_ha1(algorithm, user, realm, password);
        auto ha2 = compute_ha2(algorithm, method, uri);
        return compute_response(algorithm, ha1, nonce, qop ? nc_hex() : "", qop ? cnonce : "",
                                qop ? "auth" : "", ha2)
            .str();
    }
    std::string header() const {
        std::string h = "Digest username=\"" + user + "\", realm=\"" + realm + "\", nonce=\"" +
                        nonce + "\", uri=\"" + uri + "\", response=\"" + response() +
                        "\", algorithm=" + std::string(algorithm_name(algorithm)) + ", opaque=\"" +
                        opaque + "\"";
        if (qop) h += ", qop=auth, nc=" + nc_hex() + ", cnonce=\"" + cnonce + "\"";
        return h;
    }
};

template <class T>
const T& as(const Verdict& v) {
    REQUIRE(std::holds_alternative<T>(v));
    return std::get<T>(v);
}

std::string_view failure(const Verdict& v) {
    return as<verdict::Failed>(v).reason;
}

}  // namespace

TEST_CASE("challenge: one value per algorithm, in configured order", "[authenticator]") {
    auto auth = make();
    Challenge c = auth->challenge(false, t0);
    REQUIRE(c.values.size() == 2);
    std::string nonce = param(c.values[0], "nonce");
    std::string opaque = param(c.values[0], "opaque");
    CHECK(c.values[0] == "Digest realm=\"example.com\", nonce=\"" + nonce + "\", opaque=\"" +
                             opaque + "\", algorithm=SHA-256, qop=\"auth\"");
    CHECK(c.values[1] == "Digest realm=\"example.com\", nonce=\"" + nonce + "\", opaque=\"" +
                             opaque + "\", algorithm=MD5, qop=\"auth\"");

    auto stale = auth->challenge(true, t0);
    CHECK(stale.values[0].ends_with(", stale=true"));
    CHECK(stale.values[1].ends_with(", stale=true"));

    auto o = options();
    o.algorithms = {"MD5"};
    o.users = {{"alice", "wonderland", "", ""}};
    auto md5 = make(o);
    auto m = md5->challenge(false, t0);
    REQUIRE(m.values.size() == 1);
    CHECK(param(m.values[0], "algorithm") == "MD5");
}

TEST_CASE("challenge quotes the realm", "[authenticator]") {
    auto o = options();
    o.realm = "a \"quoted\" realm";
    auto auth = make(o);
    CHECK(auth->challenge(false, t0).values[0].starts_with(
        "Digest realm=\"a \\\"quoted\\\" realm\", nonce=\""));
}

TEST_CASE("correct credentials with each algorithm", "[authenticator]") {
    auto auth = make();
    for (std::size_t i = 0; i < 2; ++i) {
        Client client;  // a fresh challenge each time: both values share one nonce
        client.take(auth->challenge(false, t0).values[i]);
        auto v = auth->verify("REGISTER", client.header(), t0 + 1s);
        const auto& ok = as<verdict::Ok>(v);
        CHECK(ok.user == "alice");
        CHECK(ok.algorithm == client.algorithm);
        CHECK(ok.uri == "sip:example.com");
    }
}

TEST_CASE("upper-case hex response is accepted", "[authenticator]") {
    auto auth = make();
    Client client;
    client.take(auth->challenge(false, t0).values[0]);
    std::string h = client.header();
    std::string r = client.response();
    std::string upper = r;
    for (char& ch : upper) ch = char(std::toupper(static_cast<unsigned char>(ch)));
    h.replace(h.find(r), r.size(), upper);
    CHECK(std::holds_alternative<verdict::Ok>(auth->verify("REGISTER", h, t0)));
}

TEST_CASE("wrong password, method or uri fails", "[authenticator]") {
    auto auth = make();
    Client client;
    client.take(auth->challenge(false, t0).values[0]);
    Client wrong = client;
    wrong.password = "wrong";
    CHECK(failure(auth->verify("REGISTER", wrong.header(), t0)) == "Incorrect response");
    CHECK(as<verdict::Failed>(auth->verify("REGISTER", wrong.header(), t0)).user == "alice");
    // Signed for REGISTER, presented on INVITE.
    CHECK(failure(auth->verify("INVITE", client.header(), t0)) == "Incorrect response");
    // Response of the wrong length / not hex.
    std::string h = client.header();
    h.replace(h.find(client.response()), client.response().size(), "zz");
    CHECK(failure(auth->verify("REGISTER", h, t0)) == "Incorrect response");
}

TEST_CASE("unknown user fails", "[authenticator]") {
    auto auth = make();
    Client client;
    client.take(auth->challenge(false, t0).values[0]);
    client.user = "mallory";
    auto v = auth->verify("REGISTER", client.header(), t0);
    CHECK(failure(v) == "Unknown user");
    CHECK(as<verdict::Failed>(v).user == "mallory");
}

TEST_CASE("HA1-only users authenticate with their algorithm only", "[authenticator]") {
    auto auth = make();
    Client sha;
    sha.take(auth->challenge(false, t0).values[0]);
    Client md5;
    md5.take(auth->challenge(false, t0).values[1]);
    REQUIRE(md5.algorithm == Algorithm::md5);

    md5.user = sha.user = "md5only";
    md5.password = sha.password = "pw";
    CHECK(as<verdict::Ok>(auth->verify("REGISTER", md5.header(), t0)).user == "md5only");
    CHECK(failure(auth->verify("REGISTER", sha.header(), t0)) ==
          "No credentials for this algorithm");

    md5.user = sha.user = "shaonly";
    CHECK(as<verdict::Ok>(auth->verify("REGISTER", sha.header(), t0)).user == "shaonly");
    CHECK(failure(auth->verify("REGISTER", md5.header(), t0)) ==
          "No credentials for this algorithm");
}

TEST_CASE("an algorithm we do not offer fails", "[authenticator]") {
    auto o = options();
    o.algorithms = {"SHA-256"};
    o.users = {{"alice", "wonderland", "", ""}};
    auto auth = make(o);
    Client client;
    client.take(auth->challenge(false, t0).values[0]);
    client.algorithm = Algorithm::md5;
    CHECK(failure(auth->verify("REGISTER", client.header(), t0)) == "Algorithm not offered");
    // MD5-sess is not even parsed.
    std::string h = client.header();
    h.replace(h.find("algorithm=MD5"), 13, "algorithm=MD5-sess");
    CHECK(failure(auth->verify("REGISTER", h, t0)) == "Unsupported algorithm");
}

TEST_CASE("expired nonce with a correct response is stale", "[authenticator]") {
    auto auth = make();
    Client client;
    client.take(auth->challenge(false, t0).values[0]);
    auto v = auth->verify("REGISTER", client.header(), t0 + 301s);
    CHECK(as<verdict::Stale>(v).user == "alice");
    // With a wrong password the same nonce is a plain failure (RFC 7616 3.3).
    client.password = "bad";
    CHECK(failure(auth->verify("REGISTER", client.header(), t0 + 301s)) == "Incorrect response");
}

TEST_CASE("tampered, foreign or other-realm nonces fail", "[authenticator]") {
    auto auth = make();
    Client client;
    client.take(auth->challenge(false, t0).values[0]);

    Client tampered = client;
    tampered.nonce[5] = tampered.nonce[5] == 'x' ? 'y' : 'x';
    CHECK(failure(auth->verify("REGISTER", tampered.header(), t0)) == "Invalid nonce");

    // A nonce from another daemon run (another secret).
    auto other = Authenticator::create(options());  // random secret
    REQUIRE(other.has_value());
    Client foreign;
    foreign.take(other.value()->challenge(false, t0).values[0]);
    CHECK(failure(auth->verify("REGISTER", foreign.header(), t0)) == "Invalid nonce");

    // A nonce minted for another realm with the same secret, presented with our realm.
    auto o = options();
    o.realm = "other.example.com";
    auto other_realm = make(o);
    Client cross;
    cross.take(other_realm->challenge(false, t0).values[0]);
    CHECK(failure(auth->verify("REGISTER", cross.header(), t0)) == "Invalid nonce");
}

TEST_CASE("opaque must echo", "[authenticator]") {
    auto auth = make();
    Client client;
    client.take(auth->challenge(false, t0).values[0]);
    client.opaque = "something-else";
    CHECK(failure(auth->verify("REGISTER", client.header(), t0)) == "Opaque mismatch");
    std::string h = client.header();
    h.erase(h.find(", opaque="), std::string(", opaque=\"something-else\"").size());
    CHECK(failure(auth->verify("REGISTER", h, t0)) == "Opaque mismatch");
}

TEST_CASE("nonce-count replay is answered as stale", "[authenticator]") {
    auto auth = make();
    Client client;
    client.take(auth->challenge(false, t0).values[0]);
    CHECK(std::holds_alternative<verdict::Ok>(auth->verify("REGISTER", client.header(), t0)));
    // The very same request again.
    CHECK(as<verdict::Stale>(auth->verify("REGISTER", client.header(), t0 + 1s)).reason ==
          "Nonce count reused");
    client.nc = 2;
    CHECK(std::holds_alternative<verdict::Ok>(auth->verify("REGISTER", client.header(), t0 + 2s)));
    client.nc = 2;
    CHECK(std::holds_alternative<verdict::Stale>(auth->verify("REGISTER", client.header(), t0)));
    client.nc = 0;
    CHECK(failure(auth->verify("REGISTER", client.header(), t0)) == "Invalid nonce count");
}

TEST_CASE("wrong responses do not consume nonce counts", "[authenticator]") {
    auto auth = make();
    Client client;
    client.take(auth->challenge(false, t0).values[0]);
    Client wrong = client;
    wrong.password = "bad";
    CHECK(std::holds_alternative<verdict::Failed>(auth->verify("REGISTER", wrong.header(), t0)));
    CHECK(std::holds_alternative<verdict::Ok>(auth->verify("REGISTER", client.header(), t0)));
}

TEST_CASE("a carried-over nonce-count table survives a reload", "[authenticator]") {
    auto first = make();
    Client client;
    client.take(first->challenge(false, t0).values[0]);
    CHECK(std::holds_alternative<verdict::Ok>(first->verify("REGISTER", client.header(), t0)));
    auto reloaded = Authenticator::create(options(), test_secret(), first->nonce_counts());
    REQUIRE(reloaded.has_value());
    CHECK(std::holds_alternative<verdict::Stale>(
        reloaded.value()->verify("REGISTER", client.header(), t0)));
}

TEST_CASE("no qop: refused unless RFC 2069 compatibility is on, and then MD5 only",
          "[authenticator]") {
    auto auth = make();
    auto c = auth->challenge(false, t0);
    Client md5;
    md5.take(c.values[1]);
    md5.qop = false;
    CHECK(failure(auth->verify("REGISTER", md5.header(), t0)) == "Missing qop");

    auto o = options();
    o.allow_rfc2069 = true;
    auto compat = make(o);
    auto cc = compat->challenge(false, t0);
    md5.take(cc.values[1]);
    CHECK(std::holds_alternative<verdict::Ok>(compat->verify("REGISTER", md5.header(), t0)));
    Client sha;
    sha.take(cc.values[0]);
    sha.qop = false;
    CHECK(failure(compat->verify("REGISTER", sha.header(), t0)) == "Missing qop");
}

TEST_CASE("credentials for another realm or scheme are not ours", "[authenticator]") {
    auto auth = make();
    Client client;
    client.take(auth->challenge(false, t0).values[0]);
    client.realm = "elsewhere.example.net";
    CHECK(std::holds_alternative<verdict::NoCredentials>(
        auth->verify("REGISTER", client.header(), t0)));
    CHECK(std::holds_alternative<verdict::NoCredentials>(
        auth->verify("REGISTER", "Basic YWxpY2U6d29uZGVybGFuZA==", t0)));
}

TEST_CASE("malformed credentials fail with the parser's reason", "[authenticator]") {
    auto auth = make();
    CHECK(failure(auth->verify("REGISTER", "Digest username=\"alice", t0)) ==
          "Malformed Authorization header");
    CHECK(failure(auth->verify("REGISTER",
                               "Digest username=\"a\", realm=\"example.com\", uri=\"u\", "
                               "response=\"x\"",
                               t0)) == "Missing nonce");
}

TEST_CASE("userhash=true credentials", "[authenticator]") {
    auto auth = make();
    Client client;
    client.take(auth->challenge(false, t0).values[0]);
    std::string h = client.header();
    std::string hashed = compute_userhash(client.algorithm, "alice", "example.com").str();
    h.replace(h.find("username=\"alice\""), 16, "username=\"" + hashed + "\"");
    h += ", userhash=true";
    CHECK(as<verdict::Ok>(auth->verify("REGISTER", h, t0)).user == "alice");
}

TEST_CASE("invalid options are reported", "[authenticator]") {
    auto err = [](AuthenticatorOptions o) {
        auto a = Authenticator::create(std::move(o), test_secret());
        REQUIRE_FALSE(a.has_value());
        return a.error();
    };
    auto o = options();
    o.realm = "";
    CHECK(err(o) == "auth.realm: must not be empty");
    o = options();
    o.realm = "bad\r\nX-Injected: 1";
    CHECK(err(o) == "auth.realm: must not contain control characters");
    o = options();
    o.algorithms = {"SHA-1"};
    CHECK(err(o) == "auth.algorithms: unknown algorithm \"SHA-1\"");
    o.algorithms = {"MD5", "md5"};
    CHECK(err(o) == "auth.algorithms: \"md5\" listed twice");
    o.algorithms = {};
    CHECK(err(o) == "auth.algorithms: must not be empty");
    o = options();
    o.nonce_ttl = 0;
    CHECK(err(o) == "auth.nonce_ttl: must be at least 1 second");
    o = options();
    o.algorithms = {"SHA-256"};
    CHECK(err(o) == "auth.users: user md5only: has no HA1 for any offered algorithm");
    o = options();
    o.users.push_back({"x", "", "12", ""});
    CHECK(err(o) == "auth.users: user x: ha1_md5 must be 32 hex digits");
}

TEST_CASE("a user's own algorithm list replaces the realm's for that user", "[authenticator]") {
    // The realm offers SHA-256 only; one old phone answers MD5 only (baresip 1.0 fails on
    // a SHA-256 challenge even next to an MD5 one).
    auto o = options();
    o.algorithms = {"SHA-256"};
    o.users = {{"alice", "wonderland", "", ""}, {"oldphone", "pw", "", "", {"MD5"}}};
    auto auth = make(o);

    auto mine = auth->challenge(false, t0, "oldphone");
    REQUIRE(mine.values.size() == 1);
    CHECK(param(mine.values[0], "algorithm") == "MD5");
    auto others = auth->challenge(false, t0, "alice");
    REQUIRE(others.values.size() == 1);
    CHECK(param(others.values[0], "algorithm") == "SHA-256");
    // Unknown names get the realm's list, as everybody else.
    auto unknown = auth->challenge(false, t0, "nobody");
    REQUIRE(unknown.values.size() == 1);
    CHECK(param(unknown.values[0], "algorithm") == "SHA-256");

    Client old;
    old.user = "oldphone";
    old.password = "pw";
    old.take(mine.values[0]);
    CHECK(std::holds_alternative<verdict::Ok>(auth->verify("REGISTER", old.header(), t0)));

    // alice may not answer MD5 (not offered to her), oldphone may not answer SHA-256.
    Client a;
    a.take(others.values[0]);
    a.algorithm = Algorithm::md5;
    CHECK(failure(auth->verify("REGISTER", a.header(), t0)) == "Algorithm not offered");
    Client o2 = old;
    o2.algorithm = Algorithm::sha256;
    o2.nc = 2;
    CHECK(failure(auth->verify("REGISTER", o2.header(), t0)) == "Algorithm not offered");
}

TEST_CASE("a user's algorithm list is checked when the authenticator is built", "[authenticator]") {
    auto o = options();
    o.users = {{"x", "pw", "", "", {"SHA-1"}}};
    auto bad = Authenticator::create(o, test_secret());
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().find("unknown algorithm") != std::string::npos);

    // Only an MD5 HA1, but the user is offered SHA-256 only: unusable.
    o.users = {{"y", "", compute_ha1(Algorithm::md5, "y", "example.com", "pw").str(), "", {"SHA-256"}}};
    auto unusable = Authenticator::create(o, test_secret());
    REQUIRE_FALSE(unusable.has_value());
    CHECK(unusable.error().find("user y") != std::string::npos);
}

TEST_CASE("a nonce refuses the right password after too many failures on it",
          "[authenticator]") {
    auto auth = make();
    Client client;
    client.take(auth->challenge(false, t0).values[0]);
    Client wrong = client;
    wrong.password = "guess";
    for (unsigned i = 0; i < NonceFailureTable::default_limit; ++i) {
        wrong.nc = i + 1;
        CHECK(failure(auth->verify("REGISTER", wrong.header(), t0)) == "Incorrect response");
    }
    // Spent: the right password now gets only stale=true (a fresh nonce), never Ok.
    client.nc = 10;
    const Verdict v = auth->verify("REGISTER", client.header(), t0 + 1s);
    const auto& stale = as<verdict::Stale>(v);
    CHECK(stale.nonce_spent);
    CHECK(stale.user == "alice");
    // A fresh nonce works at once.
    Client fresh;
    fresh.take(auth->challenge(true, t0 + 1s).values[0]);
    CHECK(std::holds_alternative<verdict::Ok>(auth->verify("REGISTER", fresh.header(), t0 + 2s)));
}

TEST_CASE("fewer failures than the limit leave the nonce usable; the limit is an option",
          "[authenticator]") {
    auto o = options();
    o.max_nonce_failures = 2;
    auto auth = make(o);
    Client client;
    client.take(auth->challenge(false, t0).values[0]);
    Client wrong = client;
    wrong.password = "guess";
    CHECK(std::holds_alternative<verdict::Failed>(auth->verify("REGISTER", wrong.header(), t0)));
    CHECK(std::holds_alternative<verdict::Ok>(auth->verify("REGISTER", client.header(), t0)));
    wrong.nc = 5;
    CHECK(std::holds_alternative<verdict::Failed>(auth->verify("REGISTER", wrong.header(), t0)));
    client.nc = 6;
    CHECK(as<verdict::Stale>(auth->verify("REGISTER", client.header(), t0)).nonce_spent);
    // Unknown user names spend the nonce too (guessing the name is guessing).
    Client other;
    other.take(auth->challenge(false, t0).values[0]);
    Client nobody = other;
    nobody.user = "mallory";
    CHECK(failure(auth->verify("REGISTER", nobody.header(), t0)) == "Unknown user");
    nobody.nc = 2;
    CHECK(failure(auth->verify("REGISTER", nobody.header(), t0)) == "Unknown user");
    other.nc = 3;
    CHECK(as<verdict::Stale>(auth->verify("REGISTER", other.header(), t0)).nonce_spent);
}
