// The RFC 4475 and RFC 5118 torture messages (tests/vectors/torture/), each asserted on what
// it exercises. Every file in that folder must have an entry in kVectors below, so a new
// vector cannot be skipped silently.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "sip/message.hpp"
#include "sip/response.hpp"
#include "sip/rewrite.hpp"

namespace {

namespace fs = std::filesystem;
using sip::HeaderId;
using sip::Method;
using sip::Uri;

fs::path torture_dir() {
    return fs::path(SIPPROXY_TEST_DATA) / "vectors" / "torture";
}

std::string load(std::string_view name) {
    fs::path p = torture_dir() / (std::string(name) + ".dat");
    std::ifstream in(p, std::ios::binary);
    REQUIRE(in.good());
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

sip::Message parse_ok(std::string_view name) {
    auto r = sip::parse(load(name));
    INFO(name << ": " << (r ? "" : std::string(r.error().reason)));
    REQUIRE(r.has_value());
    return std::move(r).value();
}

enum class Expect {
    Valid,       // parses; the message is fine
    Invalid,     // refused by the parser with `status` and `reason`
    ProxyLevel,  // parses (the syntax is fine); a later stage refuses or treats it specially
};

struct Vector {
    std::string_view name;
    std::string_view rfc;  // section that describes it
    Expect expect;
    int status = 0;
    std::string_view reason = {};
};

// clang-format off
const Vector kVectors[] = {
    // RFC 4475 3.1.1: valid messages
    {"wsinv", "4475 3.1.1.1", Expect::Valid},
    {"intmeth", "4475 3.1.1.2", Expect::Valid},
    {"esc01", "4475 3.1.1.3", Expect::Valid},
    {"escnull", "4475 3.1.1.4", Expect::Valid},
    {"esc02", "4475 3.1.1.5", Expect::Valid},
    {"lwsdisp", "4475 3.1.1.6", Expect::Valid},
    {"longreq", "4475 3.1.1.7", Expect::Valid},
    {"dblreq", "4475 3.1.1.8", Expect::Valid},
    {"semiuri", "4475 3.1.1.9", Expect::Valid},
    {"transports", "4475 3.1.1.10", Expect::Valid},
    {"mpart01", "4475 3.1.1.11", Expect::Valid},
    {"unreason", "4475 3.1.1.12", Expect::Valid},
    {"noreason", "4475 3.1.1.13", Expect::Valid},
    // RFC 4475 3.1.2: invalid messages
    {"badinv01", "4475 3.1.2.1", Expect::Invalid, 400, "Malformed Via"},
    {"clerr", "4475 3.1.2.2", Expect::Invalid, 400, "Content-Length exceeds message body"},
    {"ncl", "4475 3.1.2.3", Expect::Invalid, 400, "Malformed Content-Length"},
    {"scalar02", "4475 3.1.2.4", Expect::Invalid, 400, "Malformed CSeq"},
    {"scalarlg", "4475 3.1.2.5", Expect::Invalid, 400, "Malformed CSeq"},
    {"quotbal", "4475 3.1.2.6", Expect::Invalid, 400, "Malformed To"},
    {"ltgtruri", "4475 3.1.2.7", Expect::Invalid, 400, "Malformed Request-URI"},
    {"lwsruri", "4475 3.1.2.8", Expect::Invalid, 400, "Malformed Request-URI"},
    {"lwsstart", "4475 3.1.2.9", Expect::Invalid, 400, "Malformed Request-Line"},
    {"trws", "4475 3.1.2.10", Expect::Invalid, 400, "Malformed Request-Line"},
    {"escruri", "4475 3.1.2.11", Expect::Invalid, 400, "Headers not allowed in Request-URI"},
    // The RFC allows ignoring the bad Date; a proxy neither reads nor rewrites Date, so it
    // passes through untouched (see the baddate test case).
    {"baddate", "4475 3.1.2.12", Expect::ProxyLevel},
    {"regbadct", "4475 3.1.2.13", Expect::Invalid, 400, "Malformed Contact"},
    {"badaspec", "4475 3.1.2.14", Expect::Invalid, 400, "Malformed To"},
    // Also has no empty line after its headers; the From line fails first.
    {"baddn", "4475 3.1.2.15", Expect::Invalid, 400, "Malformed From"},
    {"badvers", "4475 3.1.2.16", Expect::Invalid, 505, "Unsupported SIP version"},
    {"mismatch01", "4475 3.1.2.17", Expect::Invalid, 400, "CSeq method does not match request method"},
    {"mismatch02", "4475 3.1.2.18", Expect::Invalid, 400, "CSeq method does not match request method"},
    {"bigcode", "4475 3.1.2.19", Expect::Invalid, 400, "Malformed Status-Line"},
    // RFC 4475 3.2: transaction layer
    {"badbranch", "4475 3.2.1", Expect::ProxyLevel},
    // RFC 4475 3.3: application layer
    {"insuf", "4475 3.3.1", Expect::Invalid, 400, "Missing Call-ID"},
    {"unkscm", "4475 3.3.2", Expect::ProxyLevel},
    {"novelsc", "4475 3.3.3", Expect::ProxyLevel},
    {"unksm2", "4475 3.3.4", Expect::ProxyLevel},
    {"bext01", "4475 3.3.5", Expect::ProxyLevel},
    {"invut", "4475 3.3.6", Expect::ProxyLevel},
    {"regaut01", "4475 3.3.7", Expect::ProxyLevel},
    {"multi01", "4475 3.3.8", Expect::Invalid, 400, "Multiple CSeq headers"},
    {"mcl01", "4475 3.3.9", Expect::Invalid, 400, "Multiple Content-Length headers"},
    {"bcast", "4475 3.3.10", Expect::ProxyLevel},
    {"zeromf", "4475 3.3.11", Expect::ProxyLevel},
    {"cparam01", "4475 3.3.12", Expect::Valid},
    {"cparam02", "4475 3.3.13", Expect::Valid},
    {"regescrt", "4475 3.3.14", Expect::ProxyLevel},
    {"sdp01", "4475 3.3.15", Expect::ProxyLevel},
    // RFC 4475 3.4: backward compatibility
    {"inv2543", "4475 3.4.1", Expect::Valid},
    // In the RFC 4475 archive, described by no section: no SIP-Version in its Request-Line.
    {"test", "4475 archive", Expect::Invalid, 400, "Malformed Request-Line"},
    // RFC 5118 section 4
    {"ipv6-good", "5118 4.1", Expect::Valid},
    {"ipv6-bad", "5118 4.2", Expect::Invalid, 400, "Malformed Request-URI"},
    {"port-ambiguous", "5118 4.3", Expect::Valid},
    {"port-unambiguous", "5118 4.4", Expect::Valid},
    {"via-received-param-with-delim", "5118 4.5", Expect::Valid},
    {"via-received-param-no-delim", "5118 4.5", Expect::Valid},
    {"ipv6-in-sdp", "5118 4.6", Expect::Valid},
    {"mult-ip-in-header", "5118 4.7", Expect::Valid},
    {"mult-ip-in-sdp", "5118 4.8", Expect::Valid},
    {"ipv4-mapped-ipv6", "5118 4.9", Expect::Valid},
    {"ipv6-bug-abnf-3-colons", "5118 4.10", Expect::Valid},
    {"ipv6-correct-abnf-2-colons", "5118 4.10", Expect::Valid},
};
// clang-format on

const Vector* find_vector(std::string_view name) {
    for (const auto& v : kVectors)
        if (v.name == name) return &v;
    return nullptr;
}

}  // namespace

TEST_CASE("every torture vector on disk is classified, and every classified one exists",
          "[torture]") {
    std::set<std::string> on_disk;
    for (const auto& e : fs::directory_iterator(torture_dir())) {
        if (e.path().filename() == "SHA256SUMS") continue;
        INFO("unexpected file " << e.path().filename().string());
        REQUIRE(e.path().extension() == ".dat");
        on_disk.insert(e.path().stem().string());
    }
    for (const auto& name : on_disk) {
        INFO("vector without a test entry: " << name);
        CHECK(find_vector(name) != nullptr);
    }
    for (const auto& v : kVectors) {
        INFO("test entry without a vector: " << v.name);
        CHECK(on_disk.count(std::string(v.name)) == 1);
    }
    CHECK(on_disk.size() == std::size(kVectors));
    CHECK(on_disk.size() == 62);

    // SHA256SUMS names exactly these files.
    std::ifstream sums(torture_dir() / "SHA256SUMS");
    std::set<std::string> summed;
    std::string hash, file;
    while (sums >> hash >> file) summed.insert(fs::path(file).stem().string());
    CHECK(summed == on_disk);
}

TEST_CASE("torture vectors parse or fail as classified", "[torture]") {
    for (const auto& v : kVectors) {
        INFO(v.name << " (RFC " << v.rfc << ")");
        auto r = sip::parse(load(v.name));
        if (v.expect == Expect::Invalid) {
            REQUIRE_FALSE(r.has_value());
            CHECK(r.error().status == v.status);
            CHECK(r.error().reason == v.reason);
            CHECK_FALSE(r.error().raw.empty());  // handed back for the error answer
        } else {
            INFO((r ? "" : std::string(r.error().reason)));
            REQUIRE(r.has_value());
            // Whatever parses can be forwarded and answered without trouble.
            sip::Rewrite rw(*r);
            if (r->is_request())
                rw.max_forwards(10).push_top("Via", "SIP/2.0/UDP p.example;branch=z9hG4bKx");
            std::string out = rw.write();
            auto again = sip::parse(out);
            INFO(out);
            CHECK(again.has_value());
            if (r->is_request()) CHECK_FALSE(sip::make_response(*r, 400).empty());
        }
    }
}

// ---- RFC 4475 3.1.1: valid messages -----------------------------------------------------

TEST_CASE("wsinv: a short tortuous INVITE", "[torture]") {
    auto m = parse_ok("wsinv");
    CHECK(m.method() == Method::Invite);
    CHECK(m.request_uri().user == "vivekg");
    CHECK(m.request_uri().host == "chair-dnrc.example.com");
    CHECK(m.request_uri().params == "unknownparam");
    // Folded values are unfolded into spaces: one contiguous view, no CR or LF.
    CHECK(m.to().uri.raw == "sip:vivekg@chair-dnrc.example.com");
    CHECK(m.to().tag == "1918181833n");
    CHECK(m.from().display_name == R"(J Rosenberg \\\")");
    CHECK(m.from().uri.user == "jdrosen");
    CHECK(m.from().tag == "98asjd8");
    CHECK(m.max_forwards() == 68u);
    CHECK(m.call_id() == "wsinv.ndaksdj@192.0.2.1");
    CHECK(m.cseq().number == 9);
    CHECK(m.cseq().method == Method::Invite);
    REQUIRE(m.vias().size() == 3);
    CHECK(m.vias()[0].protocol == "SIP/2.0");
    CHECK(m.vias()[0].transport == "UDP");
    CHECK(m.vias()[0].host == "192.0.2.2");
    CHECK(m.vias()[0].branch == "390skdjuw");
    CHECK_FALSE(m.vias()[0].rfc3261_branch());
    CHECK(m.vias()[1].transport == "TCP");
    CHECK(m.vias()[1].host == "spindle.example.com");
    CHECK(m.vias()[1].branch == "z9hG4bK9ikj8");
    CHECK(m.vias()[1].value_index == 0);
    CHECK(m.vias()[2].host == "192.168.255.111");
    CHECK(m.vias()[2].branch == "z9hG4bK30239");
    CHECK(m.vias()[2].value_index == 1);
    CHECK(m.vias()[1].header_index == m.vias()[2].header_index);
    REQUIRE(m.routes().size() == 1);
    CHECK(m.routes()[0].uri.lr());
    CHECK(m.routes()[0].uri.param("unknownwith") == "value");
    REQUIRE(m.contacts().size() == 1);
    const auto& c = m.contacts()[0];
    CHECK(c.addr.display_name == R"(Quoted string \"\")");
    CHECK(c.q == Approx(0.33));
    CHECK(c.addr.param("newparam") == "newvalue");
    CHECK(c.addr.param("secondparam") == "");
    CHECK(m.content_length() == 150u);
    CHECK(m.body().size() == 150);
    const auto* nf = m.find("NewFangledHeader");
    REQUIRE(nf);
    CHECK(nf->value.find('\r') == std::string_view::npos);
    CHECK(nf->value.substr(0, 16) == "newfangled value");
    CHECK(nf->value.substr(nf->value.size() - 26) == "continued newfangled value");
    const auto* subject = m.find(HeaderId::Subject);  // "s :" with an empty value
    REQUIRE(subject);
    CHECK(subject->name == "s");
    CHECK(subject->value.empty());
    CHECK(m.find("UnknownHeaderWithUnusualValue")->value == ";;,,;;,;");
}

TEST_CASE("intmeth: a wide range of valid characters", "[torture]") {
    auto m = parse_ok("intmeth");
    CHECK(m.method() == Method::Unknown);
    CHECK(m.method_text() == "!interesting-Method0123456789_*+`.%indeed'~");
    CHECK(m.cseq().method_text == m.method_text());
    CHECK(m.cseq().number == 139122385);
    CHECK(m.request_uri().user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    CHECK(m.request_uri().password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    CHECK(m.request_uri().host == "example.com");
    CHECK(m.vias()[0].branch == "z9hG4bK-.!%66*_+`'~");
    // quoted-pairs escaping BEL, NUL and DEL stay in the view (with their backslashes).
    CHECK(m.to().display_name.size() == 20);
    CHECK(m.to().display_name.find('\0') != std::string_view::npos);
    CHECK(m.to().uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    CHECK(m.from().display_name == "token1~` token2'+_ token3*%!.-");
    CHECK(m.from().tag == "_token~1'+`*%!-.");
    CHECK(m.from().param("fromParam''~+*_!.-%").has_value());
    CHECK(m.call_id() == R"(intmeth.word%ZK-!.*_+'@word`~)(><:\/"][?}{)");
    CHECK(m.max_forwards() == 255u);
    const auto* ext = m.find("extensionHeader-!.%*+_`'~");
    REQUIRE(ext);
    CHECK(ext->value == "\xEF\xBB\xBF\xE5\xA4\xA7\xE5\x81\x9C\xE9\x9B\xBB");
}

TEST_CASE("esc01: valid use of %-escapes", "[torture]") {
    auto m = parse_ok("esc01");
    CHECK(m.request_uri().user == "sips%3Auser%40example.com");
    CHECK(sip::unescape(m.request_uri().user) == "sips:user@example.com");
    CHECK(m.request_uri().host == "example.net");
    CHECK(sip::unescape(m.to().uri.user) == "user");
    CHECK(sip::unescape(m.from().uri.user) == "I have spaces");
    CHECK(m.call_id() == "esc01.239409asdfakjkn23onasd0-3234");  // compact "i"
    CHECK(m.find(HeaderId::ContentType)->name == "C");           // compact "c"
    REQUIRE(m.contacts().size() == 1);
    const Uri& c = m.contacts()[0].addr.uri;
    CHECK(sip::unescape(c.user) == "caller");
    CHECK(c.params == "%6C%72;n%61me=v%61lue%25%34%31");
    CHECK(m.body().size() == 150);
}

TEST_CASE("escnull: escaped NULs in URIs", "[torture]") {
    auto m = parse_ok("escnull");
    CHECK(m.method() == Method::Register);
    CHECK(sip::unescape(m.to().uri.user) == std::string("null-\0-null", 11));
    REQUIRE(m.contacts().size() == 2);
    CHECK(sip::unescape(m.contacts()[0].addr.uri.user) == std::string(1, '\0'));
    CHECK(sip::unescape(m.contacts()[1].addr.uri.user) == std::string(2, '\0'));
    CHECK(m.contacts()[1].addr.header_index != m.contacts()[0].addr.header_index);
    CHECK(m.content_length() == 0u);  // "L:0"
}

TEST_CASE("esc02: % where it is not an escape", "[torture]") {
    auto m = parse_ok("esc02");
    CHECK(m.method() == Method::Unknown);  // RE%47IST%45R is an extension method, not REGISTER
    CHECK(m.method_text() == "RE%47IST%45R");
    CHECK(m.cseq().method_text == "RE%47IST%45R");
    CHECK(m.to().display_name == "%Z%45");
    CHECK(m.vias()[0].transport == "TCP");
    CHECK(m.vias()[0].branch == "z9hG4bK209%fzsnel234");
    // "C%6Fntact" is an unknown header, not Contact.
    REQUIRE(m.contacts().size() == 2);
    CHECK(m.contacts()[0].addr.uri.host == "host1.example.com");
    CHECK(m.contacts()[1].addr.uri.host == "host3.example.com");
    const auto* odd = m.find("C%6Fntact");
    REQUIRE(odd);
    CHECK(odd->id == HeaderId::Other);
}

TEST_CASE("lwsdisp: no LWS between display name and <", "[torture]") {
    auto m = parse_ok("lwsdisp");
    CHECK(m.from().display_name == "caller");
    CHECK(m.from().uri.user == "caller");
    CHECK(m.from().tag == "323");
}

TEST_CASE("longreq: long values in header fields", "[torture]") {
    auto m = parse_ok("longreq");
    REQUIRE(m.vias().size() == 34);  // Via in every case, compact and with SP before ':'
    CHECK(m.vias()[0].host == "sip33.example.com");
    CHECK(m.vias()[11].host == "sip22.example.com");  // "V :  SIP/2.0/TCP ..."
    CHECK(m.vias()[33].host == "host.example.com");
    CHECK(m.vias()[33].received == "192.0.2.5");
    CHECK(m.vias()[33].branch.size() == 215);
    CHECK(m.to().uri.port == 6000);
    CHECK(m.to().uri.param(
              "longparamnamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamename"
              "namenamenamenamenamenamenamename") == "shortvalue");
    CHECK(m.from().tag.size() == 155);
    CHECK(
        m.from()
            .param("unknownheaderparamnamenamenamenamenamenamenamenamenamenamenamenamenamenamename"
                   "namenamenamenamename")
            .has_value());
    CHECK(m.call_id().size() == 141);
    CHECK(m.cseq().number == 3882340);
    REQUIRE(m.contacts().size() == 1);
    CHECK(m.contacts()[0].addr.uri.user.size() == 115);
    CHECK(m.content_length() == 150u);  // "l: 150"
}

TEST_CASE("dblreq: extra trailing octets in a UDP datagram are ignored", "[torture]") {
    auto m = parse_ok("dblreq");
    CHECK(m.method() == Method::Register);
    CHECK(m.call_id() == "dblreq.0ha0isndaksdj99sdfafnl3lk233412");  // "I:"
    CHECK(m.body().empty());
    CHECK(m.bytes().find("INVITE") == std::string_view::npos);
    CHECK(m.bytes().substr(m.bytes().size() - 4) == "\r\n\r\n");
    // Forwarding carries only the REGISTER.
    std::string out = sip::Rewrite(m).write();
    CHECK(out.find("INVITE") == std::string::npos);
}

TEST_CASE("semiuri: semicolons in the user part", "[torture]") {
    auto m = parse_ok("semiuri");
    CHECK(m.request_uri().user == "user;par=u%40example.net");
    CHECK(m.request_uri().host == "example.com");
    CHECK(m.request_uri().params.empty());
    CHECK_FALSE(m.request_uri().param("par").has_value());
    const auto* accept = m.find("Accept");
    REQUIRE(accept);
    CHECK(accept->value.find("message/sipfrag") != std::string_view::npos);
    CHECK(accept->value.find('\n') == std::string_view::npos);
}

TEST_CASE("transports: varied and unknown transports", "[torture]") {
    auto m = parse_ok("transports");
    REQUIRE(m.vias().size() == 5);
    CHECK(m.vias()[0].transport == "UDP");
    CHECK(m.vias()[1].transport == "SCTP");
    CHECK(m.vias()[2].transport == "TLS");
    CHECK(m.vias()[3].transport == "UNKNOWN");
    CHECK(m.vias()[4].transport == "TCP");
    CHECK(m.call_id() == "transports.kijh4akdnaqjkwendsasfdj");
}

TEST_CASE("mpart01: multipart MIME body with binary content", "[torture]") {
    auto m = parse_ok("mpart01");
    CHECK(m.method() == Method::Message);
    CHECK(m.content_length() == 553u);
    CHECK(m.body().size() == 553);
    CHECK(m.body().substr(0, 18) == "--7a9cbec02ceef655");
    CHECK(m.vias()[0].has_rport);
    CHECK_FALSE(m.vias()[0].rport.has_value());
    CHECK(m.vias()[0].port == 5070);
    REQUIRE(m.routes().size() == 1);
    CHECK(m.routes()[0].uri.host == "127.0.0.1");
    CHECK(m.routes()[0].uri.port == 5080);
    CHECK(m.find(HeaderId::ContentType)->value == "multipart/mixed;boundary=7a9cbec02ceef655");
    CHECK(m.find(HeaderId::UserAgent)->value == "SIPimp.org/0.2.5 (curses)");
}

TEST_CASE("unreason: unusual reason phrase", "[torture]") {
    auto m = parse_ok("unreason");
    CHECK(m.is_response());
    CHECK(m.status() == 200);
    CHECK(m.reason().substr(0, 14) == "= 2**3 * 5**2 ");
    CHECK(m.reason().size() == 74);
    CHECK(m.cseq().method == Method::Invite);
    CHECK(m.body().size() == 154);
}

TEST_CASE("noreason: empty reason phrase", "[torture]") {
    auto m = parse_ok("noreason");
    CHECK(m.status() == 100);
    CHECK(m.reason().empty());
    CHECK(m.to().tag == "902jndnke3");
}

// ---- RFC 4475 3.1.2.12 and 3.2 / 3.3: parse, then a later stage decides ----------------

TEST_CASE("baddate: a non-GMT Date passes through untouched", "[torture]") {
    // RFC 4475 3.1.2.12 lets an element ignore the malformed Date; the proxy never reads it.
    auto m = parse_ok("baddate");
    CHECK(m.find(HeaderId::Date)->value == "Fri, 01 Jan 2010 16:00:00 EST");
    CHECK(m.body().size() == 150);
}

TEST_CASE("badbranch: a branch that is only the magic cookie", "[torture]") {
    // Transaction layer (RFC 4475 3.2.1): no usable RFC 3261 transaction id; reject 400 or
    // fall back to RFC 2543 matching.
    auto m = parse_ok("badbranch");
    CHECK(m.top_branch() == "z9hG4bK");
    CHECK(m.vias()[0].rfc3261_branch());
    CHECK(m.max_forwards() == 3u);
}

TEST_CASE("unkscm / novelsc: Request-URI with a scheme the proxy does not serve", "[torture]") {
    // Proxy: 416 Unsupported URI Scheme (RFC 3261 8.2.2.1).
    auto a = parse_ok("unkscm");
    CHECK(a.request_uri().scheme == Uri::Scheme::Other);
    CHECK(a.request_uri().scheme_text == "nobodyKnowsThisScheme");
    CHECK(a.request_uri().raw == "nobodyKnowsThisScheme:totallyopaquecontent");
    auto b = parse_ok("novelsc");
    CHECK(b.request_uri().scheme == Uri::Scheme::Other);
    CHECK(b.request_uri().scheme_text == "soap.beep");
}

TEST_CASE("unksm2: unknown schemes in To, From and Contact", "[torture]") {
    // Registrar: 416 for the Contact/To schemes (RFC 4475 3.3.4).
    auto m = parse_ok("unksm2");
    CHECK(m.to().uri.scheme == Uri::Scheme::Other);
    CHECK(m.to().uri.scheme_text == "isbn");
    CHECK(m.from().uri.scheme_text == "http");
    CHECK(m.from().tag == "3234233");
    REQUIRE(m.contacts().size() == 1);
    CHECK(m.contacts()[0].addr.uri.scheme_text == "name");
}

TEST_CASE("bext01: unknown Proxy-Require and Require", "[torture]") {
    // Proxy: 420 Bad Extension listing the Proxy-Require tags (RFC 3261 16.3 step 4);
    // Require is the UAS's business.
    auto m = parse_ok("bext01");
    auto preq = m.option_tags(HeaderId::ProxyRequire);
    REQUIRE(preq.size() == 2);
    CHECK(preq[0] == "noProxiesSupportThis");
    CHECK(preq[1] == "norDoAnyProxiesSupportThis");
    auto req = m.option_tags(HeaderId::Require);
    REQUIRE(req.size() == 2);
    CHECK(req[1] == "nothingSupportsThisEither");
    CHECK(m.vias()[0].transport == "TLS");
}

TEST_CASE("invut / sdp01: unknown body type, unacceptable Accept", "[torture]") {
    // UAS-level (415); the proxy forwards the body untouched.
    auto a = parse_ok("invut");
    CHECK(a.find(HeaderId::ContentType)->value == "application/unknownformat");
    CHECK(a.body().size() == 40);
    auto b = parse_ok("sdp01");
    CHECK(b.find("Accept")->value == "text/nobodyKnowsThis");
    CHECK(b.body().size() == 150);
}

TEST_CASE("regaut01: unknown Authorization scheme is kept raw", "[torture]") {
    // Auth module: the scheme is not Digest, so 401 with a fresh challenge (RFC 4475 3.3.7).
    auto m = parse_ok("regaut01");
    CHECK(m.find(HeaderId::Authorization)->value == "NoOneKnowsThisScheme opaque-data=here");
    CHECK(m.content_length() == 0u);
}

TEST_CASE("bcast: a response whose next Via is a broadcast address", "[torture]") {
    // Proxy: after removing its own Via it must not send to 255.255.255.255 (RFC 4475 3.3.10).
    auto m = parse_ok("bcast");
    CHECK(m.is_response());
    REQUIRE(m.vias().size() == 2);
    CHECK(m.vias()[1].host == "255.255.255.255");
    CHECK(m.vias()[1].branch == "z9hG4bK1saber23");
}

TEST_CASE("zeromf: Max-Forwards of zero", "[torture]") {
    // Proxy: 483 Too Many Hops instead of forwarding (RFC 3261 16.3 step 3).
    auto m = parse_ok("zeromf");
    CHECK(m.max_forwards() == 0u);
    CHECK(m.method() == Method::Options);
}

TEST_CASE("cparam01 / cparam02: header parameter versus url-parameter", "[torture]") {
    auto a = parse_ok("cparam01");
    REQUIRE(a.contacts().size() == 1);
    CHECK(a.contacts()[0].addr.uri.params.empty());
    CHECK(a.contacts()[0].addr.param("unknownparam") == "");
    CHECK(a.contacts()[0].addr.uri.user == "+19725552222");
    auto b = parse_ok("cparam02");
    REQUIRE(b.contacts().size() == 1);
    CHECK(b.contacts()[0].addr.uri.param("unknownparam") == "");
    CHECK(b.contacts()[0].addr.params.empty());
}

TEST_CASE("regescrt: Contact URI with an escaped header", "[torture]") {
    // Registrar-level (RFC 4475 3.3.14): the binding keeps the URI with its header.
    auto m = parse_ok("regescrt");
    REQUIRE(m.contacts().size() == 1);
    CHECK(m.contacts()[0].addr.uri.headers == "Route=%3Csip:sip.example.com%3E");
    CHECK(m.find(HeaderId::Contact)->name == "M");
}

TEST_CASE("inv2543: RFC 2543 syntax", "[torture]") {
    // Transaction layer: no branch, so RFC 2543 matching (RFC 3261 17.2.3).
    auto m = parse_ok("inv2543");
    CHECK(m.vias()[0].branch.empty());
    CHECK(m.top_branch().empty());
    CHECK_FALSE(m.max_forwards().has_value());  // the proxy treats it as 70
    CHECK(m.from().tag.empty());
    CHECK(m.from().uri.param("user") == "phone");
    CHECK_FALSE(m.content_length().has_value());
    CHECK(m.body().size() == 105);  // datagram: the rest
    REQUIRE(m.record_routes().size() == 1);
    CHECK(m.record_routes()[0].uri.maddr() == "ss1.example.com");
    // Forwarding onto a stream needs a Content-Length.
    std::string out = sip::Rewrite(m).ensure_content_length().write();
    CHECK(out.find("Content-Length: 105\r\n\r\n") != std::string::npos);
}

// ---- RFC 5118 ---------------------------------------------------------------------------

TEST_CASE("ipv6-good and the port cases", "[torture][ipv6]") {
    auto m = parse_ok("ipv6-good");
    CHECK(m.request_uri().host == "[2001:db8::10]");
    CHECK(m.request_uri().user.empty());
    CHECK(m.vias()[0].host == "[2001:db8::9:1]");
    CHECK(m.contacts()[0].addr.uri.host == "[2001:db8::1]");
    auto amb = parse_ok("port-ambiguous");  // well-formed, port 5070 was not meant as an address
    CHECK(amb.request_uri().host == "[2001:db8::10:5070]");
    CHECK(amb.request_uri().port == 0);
    auto unamb = parse_ok("port-unambiguous");
    CHECK(unamb.request_uri().host == "[2001:db8::10]");
    CHECK(unamb.request_uri().port == 5070);
}

TEST_CASE("via received with and without IPv6 delimiters", "[torture][ipv6]") {
    auto a = parse_ok("via-received-param-with-delim");
    CHECK(a.vias()[0].received == "[2001:db8::9:255]");
    CHECK(a.method() == Method::Bye);
    auto b = parse_ok("via-received-param-no-delim");
    CHECK(b.vias()[0].received == "2001:db8::9:255");
    CHECK(sip::host_equal(a.vias()[0].received, b.vias()[0].received));
}

TEST_CASE("IPv6 in SDP bodies", "[torture][ipv6]") {
    auto a = parse_ok("ipv6-in-sdp");
    CHECK(a.body().size() == 251);
    CHECK(a.body().find("c=IN IP6 2001:db8::20") != std::string_view::npos);
    auto b = parse_ok("mult-ip-in-sdp");
    CHECK(b.body().size() == 189);
    CHECK(b.contacts()[0].addr.uri.host == "[2001:db8::9:1]");
}

TEST_CASE("mult-ip-in-header: IPv4 and IPv6 Vias", "[torture][ipv6]") {
    auto m = parse_ok("mult-ip-in-header");
    REQUIRE(m.vias().size() == 3);
    CHECK(m.vias()[0].host == "[2001:db8::9:1]");
    CHECK(m.vias()[0].port == 6050);
    CHECK(m.vias()[1].host == "192.0.2.1");
    CHECK(m.vias()[2].transport == "TCP");
    CHECK(m.vias()[2].host == "[2001:db8::9:255]");
    CHECK(m.vias()[2].received == "192.0.2.200");
}

TEST_CASE("ipv4-mapped-ipv6", "[torture][ipv6]") {
    auto m = parse_ok("ipv4-mapped-ipv6");
    CHECK(m.vias()[0].host == "[::ffff:192.0.2.10]");
    CHECK(m.vias()[0].port == 19823);
    CHECK(m.vias()[1].host == "[::ffff:192.0.2.2]");
    CHECK(m.contacts()[0].addr.uri.host == "[::ffff:192.0.2.2]");
    CHECK(m.contacts()[0].addr.display_name == "T. desk phone");
    CHECK(m.body().size() == 245);
}

TEST_CASE("the RFC 3261 ABNF's three-colon IPv6 reference is tolerated", "[torture][ipv6]") {
    auto three = parse_ok("ipv6-bug-abnf-3-colons");
    auto two = parse_ok("ipv6-correct-abnf-2-colons");
    CHECK(three.request_uri().host == "[2001:db8:::192.0.2.1]");
    CHECK(two.request_uri().host == "[2001:db8::192.0.2.1]");
    CHECK(sip::host_equal(three.request_uri().host, two.request_uri().host));
    CHECK(sip::uri_equal(three.to().uri, two.to().uri));
}
