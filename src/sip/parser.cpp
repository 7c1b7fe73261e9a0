// The SIP message parser (RFC 3261 sections 7, 20, 25): one pass over one buffer, every
// value a view into it. Folded header lines are unfolded in place (CRLF replaced by two
// spaces) so a folded value stays one contiguous view.
#include <algorithm>
#include <cstring>
#include <limits>

#include "sip/message.hpp"
#include "sip/syntax.hpp"

namespace sip {
namespace {

using syntax::iequals;
using syntax::is_token;
using syntax::is_ws;
using syntax::trim;

constexpr std::size_t npos = std::string_view::npos;

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )   (RFC 3261 25.1)
std::optional<double> parse_q(std::string_view s) {
    if (s.empty() || (s[0] != '0' && s[0] != '1')) return std::nullopt;
    double v = s[0] - '0';
    if (s.size() == 1) return v;
    if (s[1] != '.' || s.size() > 5) return std::nullopt;
    double scale = 0.1;
    for (char c : s.substr(2)) {
        if (!syntax::is_digit(c)) return std::nullopt;
        v += (c - '0') * scale;
        scale /= 10;
    }
    if (v > 1.0) return std::nullopt;
    return v;
}

// The parameters the core reads, picked up while validating a generic-param list.
struct KnownParams {
    std::string_view tag;
    std::optional<std::string_view> q, expires;
};

// generic-param = token [ EQUAL gen-value ]; gen-value = token / host / quoted-string
bool valid_generic_param(const syntax::Param& p) {
    if (p.name.empty() || !syntax::all_of(p.name, syntax::kToken)) return false;
    if (!p.has_value) return true;
    if (p.value.empty()) return false;
    if (p.value.front() == '"') return syntax::skip_quoted(p.value, 0) == p.value.size();
    for (char c : p.value)
        if (!is_token(c) && c != ':' && c != '[' && c != ']') return false;
    return true;
}

bool scan_header_params(std::string_view params, KnownParams& known) {
    syntax::ParamList list(params);
    syntax::Param p;
    while (list.next(p)) {
        if (!valid_generic_param(p)) return false;
        switch (p.name.size()) {
            case 1:
                if (syntax::lower(p.name[0]) == 'q' && !known.q) known.q = p.value;
                break;
            case 3:
                if (iequals(p.name, "tag") && known.tag.empty()) {
                    if (!p.has_value) return false;
                    known.tag = p.value;
                }
                break;
            case 7:
                if (iequals(p.name, "expires") && !known.expires) known.expires = p.value;
                break;
            default:
                break;
        }
    }
    return true;
}

// name-addr / addr-spec followed by header parameters (RFC 3261 20.10, 25.1).
bool parse_name_addr(std::string_view v, NameAddr& na, KnownParams& known) {
    na.raw = v;
    if (v.empty()) return false;
    std::size_t open = npos;
    if (v[0] == '"') {
        std::size_t e = syntax::skip_quoted(v, 0);
        if (e == npos) return false;  // RFC 4475 3.1.2.6: unterminated quoted display name
        na.display_name = v.substr(1, e - 2);
        while (e < v.size() && is_ws(v[e])) ++e;
        if (e >= v.size() || v[e] != '<') return false;
        open = e;
    } else {
        // display-name = *(token LWS): anything else before '<' (RFC 4475 3.1.2.15) fails below
        std::size_t j = 0;
        while (j < v.size() && (is_token(v[j]) || is_ws(v[j]))) ++j;
        if (j < v.size() && v[j] == '<') {
            na.display_name = trim(v.substr(0, j));
            open = j;
        }
    }
    std::string_view rest;
    if (open != npos) {
        std::size_t close = v.find('>', open);
        if (close == npos) return false;
        std::string_view u = v.substr(open + 1, close - open - 1);
        // RFC 4475 3.1.2.14: no LWS inside the angle brackets
        if (u.empty() || is_ws(u.front()) || is_ws(u.back())) return false;
        auto uri = parse_uri(u);
        if (!uri) return false;
        na.uri = *uri;
        rest = v.substr(close + 1);
    } else {
        // addr-spec: a URI holding ',', '?' or ';' must be in <> (RFC 3261 20.10), so ';'
        // starts the header parameters (RFC 4475 3.1.2.13).
        std::size_t e = 0;
        while (e < v.size() && v[e] != ';' && !is_ws(v[e])) ++e;
        std::string_view u = v.substr(0, e);
        if (u.find('?') != npos) return false;
        auto uri = parse_uri(u);
        if (!uri) return false;
        na.uri = *uri;
        rest = v.substr(e);
    }
    rest = trim(rest);
    if (!rest.empty()) {
        if (rest[0] != ';') return false;
        na.params = rest.substr(1);
        if (!scan_header_params(na.params, known)) return false;
        na.tag = known.tag;
    }
    return true;
}

// via-parm = sent-protocol LWS sent-by *( SEMI via-params )   (RFC 3261 20.42, 25.1)
bool parse_via(std::string_view v, Via& via) {
    via.raw = v;
    std::size_t i = 0;
    auto skip_ws = [&] {
        while (i < v.size() && is_ws(v[i])) ++i;
    };
    auto token = [&] {
        std::size_t b = i;
        while (i < v.size() && is_token(v[i])) ++i;
        return v.substr(b, i - b);
    };
    auto slash = [&] {
        skip_ws();
        if (i >= v.size() || v[i] != '/') return false;
        ++i;
        skip_ws();
        return true;
    };
    std::size_t proto_begin = i;
    std::string_view name = token();
    if (name.empty() || !slash()) return false;
    std::string_view version = token();
    std::size_t proto_end = i;
    if (version.empty() || !slash()) return false;
    via.transport = token();
    if (via.transport.empty() || i >= v.size() || !is_ws(v[i])) return false;
    via.protocol = v.substr(proto_begin, proto_end - proto_begin);
    if (via.protocol.size() != name.size() + 1 + version.size() && iequals(name, "SIP") &&
        version == "2.0")
        via.protocol = "SIP/2.0";  // written with LWS around '/': report the canonical form
    skip_ws();
    std::size_t host_begin = i;
    if (i < v.size() && v[i] == '[') {
        std::size_t close = v.find(']', i);
        if (close == npos) return false;
        i = close + 1;
    } else {
        while (i < v.size() && syntax::is(v[i], syntax::kHostName)) ++i;
    }
    via.host = v.substr(host_begin, i - host_begin);
    if (!valid_host(via.host)) return false;
    skip_ws();
    if (i < v.size() && v[i] == ':') {
        ++i;
        skip_ws();
        std::size_t b = i;
        while (i < v.size() && syntax::is_digit(v[i])) ++i;
        auto port = syntax::parse_number(v.substr(b, i - b), 65535);
        if (!port || *port == 0 || *port > 65535) return false;
        via.port = static_cast<std::uint16_t>(*port);
        skip_ws();
    }
    if (i == v.size()) return true;
    if (v[i] != ';') return false;
    via.params = v.substr(i + 1);
    syntax::ParamList list(via.params);
    syntax::Param p;
    while (list.next(p)) {
        if (!valid_generic_param(p)) return false;
        const char first = p.name.size() >= 3 ? syntax::lower(p.name[0]) : '\0';
        if (first == 'b' && iequals(p.name, "branch")) {
            if (!p.has_value) return false;
            via.branch = p.value;
        } else if (first == 'r' && iequals(p.name, "received")) {
            // RFC 5118 4.5: accept an IPv6 address with or without its brackets.
            if (!p.has_value) return false;
            via.received = p.value;
        } else if (first == 'r' && iequals(p.name, "rport")) {
            via.has_rport = true;
            if (p.has_value) {
                auto port = syntax::parse_number(p.value, 65535);
                if (!port || *port > 65535) return false;
                via.rport = static_cast<std::uint16_t>(*port);
            }
        } else if (first == 'm' && iequals(p.name, "maddr")) {
            if (!p.has_value || !valid_host(p.value)) return false;
            via.maddr = p.value;
        } else if (first == 't' && iequals(p.name, "ttl")) {
            auto ttl = p.has_value ? syntax::parse_number(p.value, 255) : std::nullopt;
            if (!ttl || *ttl > 255) return false;
            via.ttl = static_cast<std::uint8_t>(*ttl);
        }
    }
    return true;
}

}  // namespace

class Parser {
  public:
    Parser(std::string bytes, bool stream, const Limits& limits)
        : bytes_(std::move(bytes)), stream_(stream), limits_(limits) {}

    ParseResult run();

  private:
    bool fail(std::string_view reason, int status = 400) {
        err_.status = status;
        err_.reason = reason;
        return false;
    }
    bool parse_all();
    bool check_version(std::string_view v, std::string_view malformed);
    bool start_line(std::string_view line);
    bool header(const HeaderField& h, std::uint16_t index);
    bool name_addr_list(std::string_view value, std::uint16_t index, std::vector<NameAddr>& out,
                        std::string_view reason);
    bool contacts(std::string_view value, std::uint16_t index);
    bool vias(std::string_view value, std::uint16_t index);

    std::string bytes_;
    bool stream_;
    const Limits& limits_;
    Message m_;
    ParseError err_;
    bool seen_from_ = false, seen_to_ = false, seen_call_id_ = false, seen_cseq_ = false;
};

bool Parser::check_version(std::string_view v, std::string_view malformed) {
    // SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT, "SIP" case-insensitive (RFC 3261 7.1)
    if (v.size() < 7 || !iequals(v.substr(0, 4), "SIP/")) return fail(malformed);
    std::string_view num = v.substr(4);
    std::size_t dot = num.find('.');
    if (dot == npos || !syntax::parse_number(num.substr(0, dot), 1000) ||
        !syntax::parse_number(num.substr(dot + 1), 1000))
        return fail(malformed);
    if (num != "2.0") return fail("Unsupported SIP version", 505);
    m_.version_ = v;
    return true;
}

bool Parser::start_line(std::string_view line) {
    if (line.size() >= 4 && iequals(line.substr(0, 4), "SIP/")) {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase   (RFC 3261 7.2)
        constexpr std::string_view bad = "Malformed Status-Line";
        m_.is_request_ = false;
        std::size_t sp = line.find(' ');
        if (sp == npos) return fail(bad);
        if (!check_version(line.substr(0, sp), bad)) return false;
        std::string_view code = line.substr(sp + 1, 3);
        auto status = syntax::parse_number(code, 999);
        if (code.size() != 3 || !status || *status < 100 || *status > 699) return fail(bad);
        std::size_t after = sp + 4;
        if (after < line.size() && line[after] != ' ') return fail(bad);
        m_.status_ = static_cast<int>(*status);
        m_.reason_ = after < line.size() ? line.substr(after + 1) : std::string_view{};
        return true;
    }
    // Request-Line = Method SP Request-URI SP SIP-Version: single SPs, nothing trailing
    // (RFC 4475 3.1.2.9, 3.1.2.10).
    constexpr std::string_view bad = "Malformed Request-Line";
    std::size_t sp1 = line.find(' ');
    std::size_t sp2 = line.rfind(' ');
    if (sp1 == npos || sp1 == 0 || sp2 == sp1 || is_ws(line.back()) || line[sp1 + 1] == ' ' ||
        line[sp2 - 1] == ' ')
        return fail(bad);
    m_.method_text_ = line.substr(0, sp1);
    if (!syntax::all_of(m_.method_text_, syntax::kToken)) return fail(bad);
    m_.method_ = method_from_name(m_.method_text_);
    if (!check_version(line.substr(sp2 + 1), bad)) return false;
    std::string_view uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
    auto parsed = parse_uri(uri);  // rejects embedded LWS and <> (RFC 4475 3.1.2.7, 3.1.2.8)
    if (!parsed) return fail("Malformed Request-URI");
    // RFC 3261 19.1.1: headers are not allowed in a Request-URI (RFC 4475 3.1.2.11).
    if (parsed->is_sip() && !parsed->headers.empty())
        return fail("Headers not allowed in Request-URI");
    m_.request_uri_ = *parsed;
    return true;
}

bool Parser::name_addr_list(std::string_view value, std::uint16_t index, std::vector<NameAddr>& out,
                            std::string_view reason) {
    syntax::ValueList list(value);
    std::string_view v;
    std::uint16_t vi = 0;
    if (out.capacity() == 0) out.reserve(4);
    while (list.next(v)) {
        NameAddr na;
        KnownParams known;
        if (!parse_name_addr(v, na, known)) return fail(reason);
        na.header_index = index;
        na.value_index = vi++;
        out.push_back(na);
    }
    return true;
}

bool Parser::contacts(std::string_view value, std::uint16_t index) {
    if (m_.contacts_.capacity() == 0) m_.contacts_.reserve(2);
    if (value == "*") {
        Contact c;
        c.star = true;
        c.addr.raw = value;
        c.addr.header_index = index;
        m_.contacts_.push_back(c);
        return true;
    }
    constexpr std::string_view bad = "Malformed Contact";
    syntax::ValueList list(value);
    std::string_view v;
    std::uint16_t vi = 0;
    while (list.next(v)) {
        Contact c;
        KnownParams known;
        if (!parse_name_addr(v, c.addr, known)) return fail(bad);
        c.addr.header_index = index;
        c.addr.value_index = vi++;
        if (auto q = known.q) {
            c.q = parse_q(*q);
            if (!c.q) return fail(bad);
        }
        if (auto e = known.expires) {
            // Overlarge values are clamped (RFC 4475 3.1.2.4 lets them default).
            auto n = syntax::parse_number(*e, std::numeric_limits<std::uint32_t>::max());
            if (!n) return fail(bad);
            c.expires = static_cast<std::uint32_t>(std::min<std::uint64_t>(*n, UINT32_MAX));
        }
        m_.contacts_.push_back(c);
    }
    return true;
}

bool Parser::vias(std::string_view value, std::uint16_t index) {
    if (m_.vias_.capacity() == 0) m_.vias_.reserve(4);
    syntax::ValueList list(value);
    std::string_view v;
    std::uint16_t vi = 0;
    while (list.next(v)) {
        Via via;
        if (!parse_via(v, via)) return fail("Malformed Via");  // RFC 4475 3.1.2.1
        via.header_index = index;
        via.value_index = vi++;
        m_.vias_.push_back(via);
    }
    return true;
}

bool Parser::header(const HeaderField& h, std::uint16_t index) {
    std::string_view v = h.value;
    switch (h.id) {
        case HeaderId::Via:
            return vias(v, index);
        case HeaderId::From:
            if (seen_from_) return fail("Multiple From headers");  // RFC 4475 3.3.8
            seen_from_ = true;
            if (KnownParams known; !parse_name_addr(v, m_.from_, known))
                return fail("Malformed From");
            m_.from_.header_index = index;
            return true;
        case HeaderId::To:
            if (seen_to_) return fail("Multiple To headers");
            seen_to_ = true;
            if (KnownParams known; !parse_name_addr(v, m_.to_, known)) return fail("Malformed To");
            m_.to_.header_index = index;
            return true;
        case HeaderId::CallId:
            if (seen_call_id_) return fail("Multiple Call-ID headers");
            seen_call_id_ = true;
            // callid = word [ "@" word ]; be lenient on the characters, never on LWS or CTLs.
            if (v.empty()) return fail("Malformed Call-ID");
            for (char c : v)
                if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
                    return fail("Malformed Call-ID");
            m_.call_id_ = v;
            return true;
        case HeaderId::CSeq: {
            if (seen_cseq_) return fail("Multiple CSeq headers");
            seen_cseq_ = true;
            // CSeq = 1*DIGIT LWS Method, the number below 2**31 (RFC 3261 8.1.1.5)
            std::size_t i = 0;
            while (i < v.size() && syntax::is_digit(v[i])) ++i;
            auto n = syntax::parse_number(v.substr(0, i), 0x7fffffff);
            if (!n || *n > 0x7fffffff || i >= v.size() || !is_ws(v[i]))
                return fail("Malformed CSeq");
            std::string_view method = trim(v.substr(i));
            if (method.empty() || !syntax::all_of(method, syntax::kToken))
                return fail("Malformed CSeq");
            m_.cseq_.number = static_cast<std::uint32_t>(*n);
            m_.cseq_.method_text = method;
            m_.cseq_.method = method_from_name(method);
            return true;
        }
        case HeaderId::MaxForwards: {
            if (m_.max_forwards_) return fail("Multiple Max-Forwards headers");
            auto n = syntax::parse_number(v, 255);
            if (!n || *n > 255) return fail("Malformed Max-Forwards");
            m_.max_forwards_ = static_cast<std::uint32_t>(*n);
            return true;
        }
        case HeaderId::Expires:
            // Not a peer error worth a 400: an unreadable Expires is treated as absent and an
            // overlarge one is clamped (RFC 4475 3.1.2.4).
            if (!m_.expires_) {
                if (auto n = syntax::parse_number(v, UINT32_MAX))
                    m_.expires_ =
                        static_cast<std::uint32_t>(std::min<std::uint64_t>(*n, UINT32_MAX));
            }
            return true;
        case HeaderId::ContentLength: {
            if (m_.content_length_)
                return fail("Multiple Content-Length headers");  // RFC 4475 3.3.9
            auto n = syntax::parse_number(v, UINT32_MAX);
            if (!n || *n > UINT32_MAX) return fail("Malformed Content-Length");  // RFC 4475 3.1.2.3
            m_.content_length_ = static_cast<std::size_t>(*n);
            return true;
        }
        case HeaderId::Contact:
            return contacts(v, index);
        case HeaderId::Route:
            return name_addr_list(v, index, m_.routes_, "Malformed Route");
        case HeaderId::RecordRoute:
            return name_addr_list(v, index, m_.record_routes_, "Malformed Record-Route");
        case HeaderId::Path:
            return name_addr_list(v, index, m_.paths_, "Malformed Path");
        default:
            return true;  // kept byte for byte
    }
}

bool Parser::parse_all() {
    if (bytes_.size() > limits_.max_message_size) return fail("Message Too Large", 513);
    // RFC 3261 7.5: CRLFs before the start line are ignored.
    std::size_t lead = 0;
    while (lead + 1 < bytes_.size() && bytes_[lead] == '\r' && bytes_[lead + 1] == '\n') lead += 2;
    if (lead > 0) bytes_.erase(0, lead);
    if (bytes_.empty()) return fail("Empty message");

    m_.buf_ = std::make_unique<std::string>(std::move(bytes_));
    char* d = m_.buf_->data();
    const std::size_t n = m_.buf_->size();

    const void* lf = std::memchr(d, '\n', n);
    if (!lf) return fail("Malformed start line");
    std::size_t e = static_cast<std::size_t>(static_cast<const char*>(lf) - d);
    if (e == 0 || d[e - 1] != '\r' || std::memchr(d, '\r', e - 1) != nullptr)
        return fail("Malformed start line");
    if (e - 1 > limits_.max_header_line) return fail("Start line too long");
    if (!start_line(std::string_view(d, e - 1))) return false;
    m_.start_line_end_ = e - 1;

    m_.headers_.reserve(std::min<std::size_t>(limits_.max_headers, 24));
    std::size_t pos = e + 1;
    std::size_t body = 0;
    for (;;) {
        if (pos >= n) return fail("Incomplete header section");
        if (d[pos] == '\r') {
            if (pos + 1 < n && d[pos + 1] == '\n') {
                body = pos + 2;
                break;
            }
            return fail("Malformed header field");
        }
        const std::size_t line_begin = pos;
        std::size_t scan = pos, content_end = 0;
        for (;;) {
            const void* f = std::memchr(d + scan, '\n', n - scan);
            if (!f) return fail("Incomplete header section");
            std::size_t i = static_cast<std::size_t>(static_cast<const char*>(f) - d);
            // Lines end in CRLF; a bare CR or LF inside a header is an error.
            if (i <= scan || d[i - 1] != '\r' ||
                std::memchr(d + scan, '\r', i - 1 - scan) != nullptr)
                return fail("Malformed line ending");
            if (i + 1 < n && is_ws(d[i + 1])) {  // a fold (RFC 3261 7.3.1): unfold in place
                d[i - 1] = ' ';
                d[i] = ' ';
                scan = i + 1;
                continue;
            }
            content_end = i - 1;
            pos = i + 1;
            break;
        }
        if (pos - line_begin > limits_.max_header_line) return fail("Header field too long");
        // Header indexes are 16-bit (NameAddr::header_index, Via::header_index).
        if (m_.headers_.size() >= std::min<std::size_t>(limits_.max_headers, 65535))
            return fail("Too many header fields");
        std::size_t j = line_begin;
        while (j < content_end && is_token(d[j])) ++j;
        if (j == line_begin) return fail("Malformed header field");
        std::string_view name(d + line_begin, j - line_begin);
        while (j < content_end && is_ws(d[j])) ++j;
        if (j >= content_end || d[j] != ':') return fail("Malformed header field");
        HeaderField h;
        h.id = header_id(name);
        h.name = name;
        h.value = trim(std::string_view(d + j + 1, content_end - j - 1));
        h.begin = static_cast<std::uint32_t>(line_begin);
        h.end = static_cast<std::uint32_t>(pos);
        auto index = static_cast<std::uint16_t>(m_.headers_.size());
        m_.headers_.push_back(h);
        if (!header(h, index)) return false;
    }

    // Framing (RFC 3261 18.3): on a datagram extra octets after Content-Length are dropped
    // (RFC 4475 3.1.1.8); a Content-Length beyond the datagram is an error (3.1.2.2).
    m_.body_offset_ = body;
    const std::size_t available = n - body;
    std::size_t body_len = available;
    if (m_.content_length_) {
        if (*m_.content_length_ > available) return fail("Content-Length exceeds message body");
        body_len = *m_.content_length_;
    } else if (stream_) {
        return fail("Missing Content-Length");
    }
    m_.size_ = body + body_len;
    m_.body_ = std::string_view(d + body, body_len);

    // RFC 3261 8.1.1: the mandatory header fields (RFC 4475 3.3.1).
    if (!seen_call_id_) return fail("Missing Call-ID");
    if (!seen_cseq_) return fail("Missing CSeq");
    if (!seen_from_) return fail("Missing From");
    if (!seen_to_) return fail("Missing To");
    if (m_.vias_.empty()) return fail("Missing Via");
    // RFC 3261 8.2 / RFC 4475 3.1.2.17-18: method names compare case-sensitively.
    if (m_.is_request_ && m_.cseq_.method_text != m_.method_text_)
        return fail("CSeq method does not match request method");
    return true;
}

ParseResult Parser::run() {
    if (parse_all()) return std::move(m_);
    // Hand the bytes back so the caller can still answer "400 <reason>" from them.
    ParseError e = err_;
    e.raw = m_.buf_ ? std::move(*m_.buf_) : std::move(bytes_);
    return sipproxy::Unexpected{std::move(e)};
}

ParseResult parse(std::string bytes, bool stream, const Limits& limits) {
    Parser parser(std::move(bytes), stream, limits);
    return parser.run();
}

// ---- Message and header-value queries ----------------------------------------------------

const HeaderField* Message::find(HeaderId id) const {
    for (const auto& h : headers_)
        if (h.id == id) return &h;
    return nullptr;
}

namespace {
// Compact forms whose long names the core does not enumerate (RFC 3265, 3515, 3891, 3892,
// 4028, 3841, 4474).
std::string_view expand_compact(std::string_view name) {
    if (name.size() != 1) return name;
    switch (syntax::lower(name[0])) {
        case 'u':
            return "Allow-Events";
        case 'r':
            return "Refer-To";
        case 'b':
            return "Referred-By";
        case 'x':
            return "Session-Expires";
        case 'a':
            return "Accept-Contact";
        case 'j':
            return "Reject-Contact";
        case 'd':
            return "Request-Disposition";
        case 'y':
            return "Identity";
        case 'n':
            return "Identity-Info";
        default:
            return name;
    }
}
}  // namespace

const HeaderField* Message::find(std::string_view name) const {
    HeaderId id = header_id(name);
    if (id != HeaderId::Other) return find(id);
    std::string_view want = expand_compact(name);
    for (const auto& h : headers_)
        if (h.id == HeaderId::Other && iequals(expand_compact(h.name), want)) return &h;
    return nullptr;
}

std::vector<std::string_view> Message::option_tags(HeaderId id) const {
    std::vector<std::string_view> tags;
    for (const auto& h : headers_) {
        if (h.id != id) continue;
        syntax::ValueList list(h.value);
        std::string_view v;
        while (list.next(v))
            if (!v.empty()) tags.push_back(v);
    }
    return tags;
}

std::optional<std::string_view> NameAddr::param(std::string_view name) const {
    return syntax::find_param(params, name);
}

std::optional<std::string_view> Via::param(std::string_view name) const {
    return syntax::find_param(params, name);
}

}  // namespace sip
