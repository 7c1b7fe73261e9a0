#include "cdr/cdr_line.hpp"

#include <charconv>
#include <chrono>

namespace sipproxy::cdr {

using proxy::CallRecord;

namespace {

char* put_2(char* p, unsigned v) {
    *p++ = static_cast<char>('0' + v / 10);
    *p++ = static_cast<char>('0' + v % 10);
    return p;
}

void append_rfc3339_ms(std::string& out, proxy::WallTime t) {
    using namespace std::chrono;
    const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
    std::int64_t secs = ms / 1000;
    long frac = static_cast<long>(ms % 1000);
    if (frac < 0) frac += 1000, --secs;
    const sys_days day{days{secs >= 0 ? secs / 86400 : (secs - 86399) / 86400}};
    const year_month_day ymd{day};
    // system_clock counts nanoseconds in 64 bits: years 1677 to 2262, always four digits
    const int y = static_cast<int>(ymd.year());
    const auto in_day = secs - static_cast<std::int64_t>(day.time_since_epoch().count()) * 86400;
    char buf[24];  // 2026-12-04T16:15:00.123Z
    char* p = put_2(buf, static_cast<unsigned>(y / 100));
    p = put_2(p, static_cast<unsigned>(y % 100));
    *p++ = '-';
    p = put_2(p, static_cast<unsigned>(ymd.month()));
    *p++ = '-';
    p = put_2(p, static_cast<unsigned>(ymd.day()));
    *p++ = 'T';
    p = put_2(p, static_cast<unsigned>(in_day / 3600));
    *p++ = ':';
    p = put_2(p, static_cast<unsigned>(in_day / 60 % 60));
    *p++ = ':';
    p = put_2(p, static_cast<unsigned>(in_day % 60));
    *p++ = '.';
    *p++ = static_cast<char>('0' + frac / 100);
    p = put_2(p, static_cast<unsigned>(frac % 100));
    *p++ = 'Z';
    out.append(buf, static_cast<std::size_t>(p - buf));
}

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629 section 4), 0 when the
// bytes there are not one; `valid_prefix` gets how many of them are a valid start of one
// (so a replacement covers them and decoding resumes at the first byte that broke it).
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::size_t& valid_prefix) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (b >= 0xC2 && b <= 0xDF) len = 2;
    else if (b == 0xE0) len = 3, lo = 0xA0;
    else if (b == 0xED) len = 3, hi = 0x9F;
    else if (b >= 0xE1 && b <= 0xEF) len = 3;
    else if (b == 0xF0) len = 4, lo = 0x90;
    else if (b == 0xF4) len = 4, hi = 0x8F;
    else if (b >= 0xF1 && b <= 0xF3) len = 4;
    else {
        valid_prefix = 1;  // not a lead byte: replaced on its own
        return 0;
    }
    for (std::size_t k = 1; k < len; ++k) {
        if (i + k >= s.size()) {
            valid_prefix = k;
            return 0;
        }
        const auto c = static_cast<unsigned char>(s[i + k]);
        const bool ok = k == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
        if (!ok) {
            valid_prefix = k;
            return 0;
        }
    }
    return len;
}

// A JSON string: quotes, backslashes and control characters escaped as JSON requires
// (RFC 8259 section 7), other text as is; each broken UTF-8 sequence becomes U+FFFD (a
// hostile User-Agent must not cost the record). The same bytes as nlohmann::json's
// dump(-1, ' ', false, error_handler_t::replace), which wrote these lines before.
void append_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t i = 0;
    while (i < s.size()) {
        // the run of plain ASCII in one append
        std::size_t j = i;
        while (j < s.size()) {
            const auto c = static_cast<unsigned char>(s[j]);
            if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
            ++j;
        }
        out.append(s.data() + i, j - i);
        i = j;
        if (i == s.size()) break;
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            std::size_t prefix = 0;
            if (const auto len = utf8_sequence(s, i, prefix)) {
                out.append(s.data() + i, len);
                i += len;
            } else {
                out += "\xEF\xBF\xBD";
                i += prefix;
            }
            continue;
        }
        out += '\\';
        switch (c) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '\b': out += 'b'; break;
            case '\t': out += 't'; break;
            case '\n': out += 'n'; break;
            case '\f': out += 'f'; break;
            case '\r': out += 'r'; break;
            default:
                out += "u00";
                out += hex[c >> 4];
                out += hex[c & 0xF];
        }
        ++i;
    }
    out += '"';
}

void append_int(std::string& out, std::int64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

// `,"key":` (the keys are plain ASCII), without the comma for the first.
void append_key(std::string& out, std::string_view key) {
    char buf[32];
    std::size_t n = 0;
    if (out.size() > 1) buf[n++] = ',';
    buf[n++] = '"';
    n += key.copy(buf + n, sizeof buf - n - 2);
    buf[n++] = '"';
    buf[n++] = ':';
    out.append(buf, n);
}

void text_or_null(std::string& out, std::string_view key, const std::string& s) {
    append_key(out, key);
    if (s.empty()) out += "null";
    else append_string(out, s);
}

void time_or_null(std::string& out, std::string_view key, const CallRecord& c,
                  const std::optional<proxy::SteadyTime>& t) {
    append_key(out, key);
    if (!t) {
        out += "null";
        return;
    }
    out += '"';
    append_rfc3339_ms(out, c.wall(*t));
    out += '"';
}

std::int64_t ms_between(proxy::SteadyTime a, proxy::SteadyTime b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

}  // namespace

std::string rfc3339_ms(proxy::WallTime t) {
    std::string out;
    append_rfc3339_ms(out, t);
    return out;
}

// Written by hand rather than through a JSON library: this runs once per call, and a
// document tree of 24 members cost more than the rest of the CDR path (bench/README.md).
std::string cdr_line(const CallRecord& c) {
    std::string out;
    out.reserve(512 + c.user_agent.size() + c.call_id.size() + c.caller.size() +
                c.callee.size() + c.target.size() + c.reason.size());
    out += '{';
    append_key(out, "record_id"), append_string(out, c.record_id);
    append_key(out, "call_id"), append_string(out, c.call_id);
    append_key(out, "from_tag"), append_string(out, c.from_tag);
    text_or_null(out, "to_tag", c.to_tag);
    append_key(out, "caller"), append_string(out, c.caller);
    append_key(out, "callee"), append_string(out, c.callee);
    text_or_null(out, "target", c.target);
    text_or_null(out, "route", c.route);
    text_or_null(out, "gateway", c.gateway);
    append_key(out, "source_ip"), append_string(out, c.source_ip);
    append_key(out, "source_port"), append_int(out, c.source_port);
    append_key(out, "transport"), append_string(out, c.transport);
    text_or_null(out, "auth_user", c.auth_user);
    text_or_null(out, "user_agent", c.user_agent);
    append_key(out, "created");
    out += '"';
    append_rfc3339_ms(out, c.created_wall);
    out += '"';
    time_or_null(out, "provisional", c, c.provisional);
    time_or_null(out, "answered", c, c.answered);
    time_or_null(out, "ended", c, c.ended);
    // setup: INVITE to its final response (the answer, or the failure); duration: answer
    // to end (0 for a call never answered: nothing to bill).
    const auto final_at = c.answered ? c.answered : c.ended;
    append_key(out, "setup_ms");
    if (final_at) append_int(out, ms_between(c.created, *final_at));
    else out += "null";
    append_key(out, "duration_ms");
    append_int(out, c.answered && c.ended ? ms_between(*c.answered, *c.ended) : 0);
    append_key(out, "status");
    if (c.status) append_int(out, c.status);
    else out += "null";
    text_or_null(out, "reason", c.reason);
    append_key(out, "outcome"), append_string(out, proxy::to_string(c.outcome));
    append_key(out, "ended_by");
    if (c.ended_by) append_string(out, proxy::to_string(*c.ended_by));
    else out += "null";
    out += "}\n";
    return out;
}

}  // namespace sipproxy::cdr
