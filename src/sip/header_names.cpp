// Header field names: case-insensitive, with the compact forms of RFC 3261 7.3.3
// (and RFC 3265's "o" for Event).
#include <array>
#include <initializer_list>

#include "sip/message.hpp"
#include "sip/syntax.hpp"

namespace sip {
namespace {

struct HeaderName {
    std::string_view name;
    HeaderId id;
};
// Indexed by HeaderId; kept in enum order.
constexpr std::array<HeaderName, 33> kNames{{
    {"", HeaderId::Other},
    {"Via", HeaderId::Via},
    {"From", HeaderId::From},
    {"To", HeaderId::To},
    {"Call-ID", HeaderId::CallId},
    {"CSeq", HeaderId::CSeq},
    {"Max-Forwards", HeaderId::MaxForwards},
    {"Contact", HeaderId::Contact},
    {"Route", HeaderId::Route},
    {"Record-Route", HeaderId::RecordRoute},
    {"Path", HeaderId::Path},
    {"Expires", HeaderId::Expires},
    {"Min-Expires", HeaderId::MinExpires},
    {"Content-Type", HeaderId::ContentType},
    {"Content-Length", HeaderId::ContentLength},
    {"Content-Encoding", HeaderId::ContentEncoding},
    {"Require", HeaderId::Require},
    {"Proxy-Require", HeaderId::ProxyRequire},
    {"Supported", HeaderId::Supported},
    {"Unsupported", HeaderId::Unsupported},
    {"Allow", HeaderId::Allow},
    {"Authorization", HeaderId::Authorization},
    {"Proxy-Authorization", HeaderId::ProxyAuthorization},
    {"WWW-Authenticate", HeaderId::WwwAuthenticate},
    {"Proxy-Authenticate", HeaderId::ProxyAuthenticate},
    {"Authentication-Info", HeaderId::AuthenticationInfo},
    {"User-Agent", HeaderId::UserAgent},
    {"Server", HeaderId::Server},
    {"Retry-After", HeaderId::RetryAfter},
    {"Date", HeaderId::Date},
    {"Timestamp", HeaderId::Timestamp},
    {"Subject", HeaderId::Subject},
    {"Event", HeaderId::Event},
}};

HeaderId compact(char c) {
    switch (syntax::lower(c)) {
        case 'i':
            return HeaderId::CallId;
        case 'm':
            return HeaderId::Contact;
        case 'e':
            return HeaderId::ContentEncoding;
        case 'l':
            return HeaderId::ContentLength;
        case 'c':
            return HeaderId::ContentType;
        case 'f':
            return HeaderId::From;
        case 's':
            return HeaderId::Subject;
        case 'k':
            return HeaderId::Supported;
        case 't':
            return HeaderId::To;
        case 'v':
            return HeaderId::Via;
        case 'o':
            return HeaderId::Event;
        default:
            return HeaderId::Other;
    }
}

}  // namespace

HeaderId header_id(std::string_view name) {
    if (name.size() == 1) return compact(name[0]);
    // Dispatch on the first letter so a lookup costs one or two comparisons.
    if (name.empty()) return HeaderId::Other;
    auto is = [&](HeaderId id) { return syntax::iequals(name, kNames[static_cast<int>(id)].name); };
    auto pick = [&](std::initializer_list<HeaderId> ids) {
        for (HeaderId id : ids)
            if (is(id)) return id;
        return HeaderId::Other;
    };
    switch (syntax::lower(name[0])) {
        case 'a':
            return pick({HeaderId::Allow, HeaderId::Authorization, HeaderId::AuthenticationInfo});
        case 'c':
            return pick({HeaderId::CallId, HeaderId::CSeq, HeaderId::Contact, HeaderId::ContentType,
                         HeaderId::ContentLength, HeaderId::ContentEncoding});
        case 'd':
            return pick({HeaderId::Date});
        case 'e':
            return pick({HeaderId::Expires, HeaderId::Event});
        case 'f':
            return pick({HeaderId::From});
        case 'm':
            return pick({HeaderId::MaxForwards, HeaderId::MinExpires});
        case 'p':
            return pick({HeaderId::Path, HeaderId::ProxyRequire, HeaderId::ProxyAuthorization,
                         HeaderId::ProxyAuthenticate});
        case 'r':
            return pick(
                {HeaderId::Route, HeaderId::RecordRoute, HeaderId::Require, HeaderId::RetryAfter});
        case 's':
            return pick({HeaderId::Supported, HeaderId::Server, HeaderId::Subject});
        case 't':
            return pick({HeaderId::To, HeaderId::Timestamp});
        case 'u':
            return pick({HeaderId::Unsupported, HeaderId::UserAgent});
        case 'v':
            return pick({HeaderId::Via});
        case 'w':
            return pick({HeaderId::WwwAuthenticate});
        default:
            return HeaderId::Other;
    }
}

std::string_view header_name(HeaderId id) {
    auto i = static_cast<std::size_t>(id);
    return i < kNames.size() ? kNames[i].name : std::string_view{};
}

}  // namespace sip
