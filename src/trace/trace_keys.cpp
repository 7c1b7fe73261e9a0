#include "trace/trace_keys.hpp"

#include "sip/message.hpp"
#include "sip/uri.hpp"

namespace sipproxy::trace {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// The user of a From/To value: `"Name" <sip:user@host;p>;tag=x` or `sip:user@host;tag=x`
// (without angle brackets, everything after ';' is a header parameter: RFC 3261 20.10).
std::string_view user_of(std::string_view value) {
    std::string_view uri;
    if (auto open = value.find('<'); open != std::string_view::npos) {
        auto close = value.find('>', open);
        if (close == std::string_view::npos) return {};
        uri = value.substr(open + 1, close - open - 1);
    } else {
        uri = value.substr(0, value.find(';'));
    }
    auto parsed = sip::parse_uri(trim(uri));
    if (!parsed) return {};
    return parsed->user;
}

}  // namespace

TraceKeys trace_keys(std::string_view bytes) {
    TraceKeys keys;
    auto eol = bytes.find('\n');  // past the start line
    if (eol == std::string_view::npos) return keys;
    std::size_t at = eol + 1;
    while (at < bytes.size()) {
        eol = bytes.find('\n', at);
        std::string_view line =
            bytes.substr(at, eol == std::string_view::npos ? bytes.npos : eol - at);
        at = eol == std::string_view::npos ? bytes.size() : eol + 1;
        if (trim(line).empty()) break;                              // end of the headers
        if (line.front() == ' ' || line.front() == '\t') continue;  // a folded continuation
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const auto id = sip::header_id(trim(line.substr(0, colon)));
        const auto value = trim(line.substr(colon + 1));
        if (id == sip::HeaderId::CallId && keys.call_id.empty())
            keys.call_id = value;
        else if (id == sip::HeaderId::From && keys.from_user.empty())
            keys.from_user = user_of(value);
        else if (id == sip::HeaderId::To && keys.to_user.empty())
            keys.to_user = user_of(value);
    }
    return keys;
}

}  // namespace sipproxy::trace
