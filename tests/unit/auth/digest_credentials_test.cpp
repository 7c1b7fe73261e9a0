#include "auth/digest_credentials.hpp"

#include <catch2/catch.hpp>

using namespace sipproxy::auth;
using Code = CredentialsError::Code;

namespace {
Code error_of(std::string_view v) {
    auto r = parse_digest_credentials(v);
    REQUIRE_FALSE(r.has_value());
    return r.error().code;
}
}  // namespace

TEST_CASE("parses the RFC 7616 3.9.1 Authorization header", "[credentials]") {
    std::string v =
        "Digest username=\"Mufasa\",\r\n"
        "    realm=\"http-auth@example.org\",\r\n"
        "    uri=\"/dir/index.html\",\r\n"
        "    algorithm=SHA-256,\r\n"
        "    nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n"
        "    nc=00000001,\r\n"
        "    cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\r\n"
        "    qop=auth,\r\n"
        "    response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\",\r\n"
        "    opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    auto r = parse_digest_credentials(v);
    REQUIRE(r.has_value());
    CHECK(r->username == "Mufasa");
    CHECK(r->realm == "http-auth@example.org");
    CHECK(r->uri == "/dir/index.html");
    CHECK(r->algorithm == Algorithm::sha256);
    CHECK(r->nonce == "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
    CHECK(r->nc == "00000001");
    CHECK(r->nonce_count == 1);
    CHECK(r->cnonce == "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
    CHECK(r->qop == "auth");
    CHECK(r->opaque == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
    CHECK_FALSE(r->userhash);
    CHECK(r->unescaped.empty());  // no escapes: no allocation
}

TEST_CASE("typical SIP header, no spaces, views point into the value", "[credentials]") {
    std::string v =
        "Digest username=\"alice\",realm=\"example.com\",nonce=\"n1\",uri=\"sip:example.com\","
        "response=\"0123456789abcdef0123456789abcdef\",algorithm=MD5,cnonce=\"c\",nc=0000000a,"
        "qop=auth,opaque=\"o\"";
    auto r = parse_digest_credentials(v);
    REQUIRE(r.has_value());
    CHECK(r->username == "alice");
    CHECK(r->username.data() >= v.data());
    CHECK(r->username.data() < v.data() + v.size());
    CHECK(r->algorithm == Algorithm::md5);
    CHECK(r->nonce_count == 10);
}

TEST_CASE("spacing, case and ordering variants", "[credentials]") {
    auto r = parse_digest_credentials(
        "  digest   USERNAME = \"bob\" ,  Realm=\"r\",NONCE=\"n\" , uri = \"sip:r\","
        " response=\"x\",  ALGORITHM=sha-256 , QOP=\"auth\", NC=00000002, CNONCE=\"cn\"  ");
    REQUIRE(r.has_value());
    CHECK(r->username == "bob");
    CHECK(r->realm == "r");
    CHECK(r->algorithm == Algorithm::sha256);
    CHECK(r->qop == "auth");  // quoted qop (old clients) is accepted
    CHECK(r->nonce_count == 2);
    CHECK(r->cnonce == "cn");
    CHECK_FALSE(r->opaque);
}

TEST_CASE("absent algorithm means MD5 and absent qop is RFC 2069 form", "[credentials]") {
    auto r = parse_digest_credentials(
        "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:r\", response=\"x\"");
    REQUIRE(r.has_value());
    CHECK(r->algorithm == Algorithm::md5);
    CHECK_FALSE(r->qop);
    CHECK_FALSE(r->nc);
    CHECK(r->nonce_count == 0);
}

TEST_CASE("escaped quotes are unescaped into owned storage that survives a move", "[credentials]") {
    std::string v =
        "Digest username=\"a\\\"b\\\\c\", realm=\"r\", nonce=\"n\", uri=\"sip:r\", "
        "response=\"x\", unknown=\"has \\\" quote, and comma\"";
    auto r = parse_digest_credentials(v);
    REQUIRE(r.has_value());
    CHECK(r->username == "a\"b\\c");
    DigestCredentials moved = std::move(r.value());
    CHECK(moved.username == "a\"b\\c");
    CHECK(moved.realm == "r");
}

TEST_CASE("commas inside quoted strings and empty list elements", "[credentials]") {
    auto r = parse_digest_credentials(
        "Digest ,username=\"x,y\",, realm=\"r,s\", nonce=\"n\", uri=\"sip:a,b\", "
        "response=\"x\",");
    REQUIRE(r.has_value());
    CHECK(r->username == "x,y");
    CHECK(r->realm == "r,s");
    CHECK(r->uri == "sip:a,b");
}

TEST_CASE("unknown parameters are ignored", "[credentials]") {
    auto r = parse_digest_credentials(
        "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:r\", response=\"x\", "
        "foo=bar, baz=\"q\", auts=\"abc\"");
    REQUIRE(r.has_value());
    CHECK(r->username == "u");
}

TEST_CASE("userhash parameter", "[credentials]") {
    auto base = std::string(
        "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:r\", response=\"x\", ");
    auto t = parse_digest_credentials(base + "userhash=true");
    REQUIRE(t.has_value());
    CHECK(t->userhash);
    auto f = parse_digest_credentials(base + "userhash=FALSE");
    REQUIRE(f.has_value());
    CHECK_FALSE(f->userhash);
    CHECK(error_of(base + "userhash=maybe") == Code::malformed);
}

TEST_CASE("missing required parameters are named", "[credentials]") {
    CHECK(error_of("Digest realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"") ==
          Code::missing_username);
    CHECK(error_of("Digest username=\"a\", nonce=\"n\", uri=\"u\", response=\"x\"") ==
          Code::missing_realm);
    CHECK(error_of("Digest username=\"a\", realm=\"r\", uri=\"u\", response=\"x\"") ==
          Code::missing_nonce);
    CHECK(error_of("Digest username=\"a\", realm=\"r\", nonce=\"n\", response=\"x\"") ==
          Code::missing_uri);
    CHECK(error_of("Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\"") ==
          Code::missing_response);
    auto r =
        parse_digest_credentials("Digest username=\"a\", realm=\"r\", uri=\"u\", response=\"x\"");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().reason() == "Missing nonce");
}

TEST_CASE("qop requires nc and cnonce; only qop=auth", "[credentials]") {
    std::string base = "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"";
    CHECK(error_of(base + ", qop=auth, nc=00000001") == Code::missing_cnonce);
    CHECK(error_of(base + ", qop=auth, nc=00000001, cnonce=\"\"") == Code::missing_cnonce);
    CHECK(error_of(base + ", qop=auth, cnonce=\"c\"") == Code::missing_nc);
    CHECK(error_of(base + ", qop=auth-int, nc=00000001, cnonce=\"c\"") == Code::unsupported_qop);
    CHECK(error_of(base + ", qop=auth, nc=xyz, cnonce=\"c\"") == Code::malformed_nc);
    CHECK(error_of(base + ", qop=auth, nc=000000001, cnonce=\"c\"") == Code::malformed_nc);
    auto ok = parse_digest_credentials(base + ", qop=auth, nc=ffffffff, cnonce=\"c\"");
    REQUIRE(ok.has_value());
    CHECK(ok->nonce_count == 0xffffffffu);
}

TEST_CASE("unsupported algorithms", "[credentials]") {
    std::string base = "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"";
    CHECK(error_of(base + ", algorithm=MD5-sess") == Code::unsupported_algorithm);
    CHECK(error_of(base + ", algorithm=SHA-512-256") == Code::unsupported_algorithm);
    CHECK(error_of(base + ", algorithm=\"AKAv1-MD5\"") == Code::unsupported_algorithm);
    auto r = parse_digest_credentials(base + ", algorithm=MD5-sess");
    CHECK(r.error().reason() == "Unsupported algorithm");
}

TEST_CASE("other schemes are not Digest", "[credentials]") {
    CHECK(error_of("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") == Code::not_digest);
    CHECK(error_of("Bearer abc") == Code::not_digest);
    CHECK(error_of("Digestive username=\"a\"") == Code::not_digest);
}

TEST_CASE("malformed headers are errors, never crashes", "[credentials]") {
    const char* bad[] = {
        "",
        "   ",
        "Digest",
        "Digest ",  // no parameters at all
        "Digest username",
        "Digest username=",
        "Digest username=\"unterminated",
        "Digest username=\"ends with backslash\\",
        "Digest username=\"a\" realm=\"r\"",  // missing comma
        "Digest =\"a\"",
        "Digest username=\"a\"\"b\"",
        "Digest username=\"ctl\x01\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"",
        "Digest username=a=b",
        "\"Digest\" username=\"a\"",
        "Digest,username=\"a\"",
        "Digest username=\"esc\\\r\\\n\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"",
    };
    for (const char* v : bad) {
        INFO(v);
        auto r = parse_digest_credentials(v);
        CHECK_FALSE(r.has_value());
    }
    CHECK(error_of("Digest") == Code::malformed);
    CHECK(error_of("Digest ") == Code::missing_username);
    auto r = parse_digest_credentials("Digest username=\"unterminated");
    CHECK(r.error().reason() == "Malformed Authorization header");
}

TEST_CASE("duplicate known parameters are refused", "[credentials]") {
    CHECK(error_of("Digest username=\"a\", username=\"b\", realm=\"r\", nonce=\"n\", uri=\"u\", "
                   "response=\"x\"") == Code::duplicate_parameter);
    CHECK(error_of("Digest username=\"a\", realm=\"r\", REALM=\"s\", nonce=\"n\", uri=\"u\", "
                   "response=\"x\"") == Code::duplicate_parameter);
}

TEST_CASE("every prefix of a valid header parses or fails cleanly", "[credentials]") {
    std::string v =
        "Digest username=\"a\\\"b\", realm=\"r\", nonce=\"n\", uri=\"sip:r\", "
        "response=\"0123\", algorithm=SHA-256, cnonce=\"c\", nc=00000001, qop=auth, "
        "opaque=\"o\", userhash=false";
    // Until the response parameter is complete a required parameter is missing or cut:
    // every such prefix is refused. After it, a prefix may parse (a shorter opaque, an
    // algorithm cut to "SHA"), but then with the parameters it really holds.
    const std::size_t response_end = v.find("response=\"0123\"") + std::string("response=\"0123\"").size();
    std::size_t parsed = 0;
    for (std::size_t n = 0; n <= v.size(); ++n) {
        auto r = parse_digest_credentials(std::string_view(v).substr(0, n));
        INFO("prefix of " << n << " bytes");
        if (n < response_end) {
            CHECK_FALSE(r.has_value());
            continue;
        }
        if (!r) continue;
        ++parsed;
        CHECK(r->username == "a\"b");
        CHECK(r->realm == "r");
        CHECK(r->nonce == "n");
        CHECK(r->uri == "sip:r");
        CHECK(r->response == "0123");
    }
    CHECK(parsed >= 2);  // at least the end of response=... and the whole header
    auto whole = parse_digest_credentials(v);
    REQUIRE(whole.has_value());
    CHECK(whole->opaque == std::optional<std::string_view>("o"));
    CHECK(whole->nonce_count == 1u);
}
