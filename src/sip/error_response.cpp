#include "sip/error_response.hpp"

#include <strings.h>

#include <array>

namespace sip {

namespace {

bool name_is(std::string_view name, std::string_view longform, char compact) {
    if (name.size() == 1) return (name[0] | 0x20) == compact;
    return name.size() == longform.size() &&
           strncasecmp(name.data(), longform.data(), longform.size()) == 0;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string make_error_response(std::string_view raw, int status, std::string_view reason) {
    // The request line: "METHOD SP URI SP SIP/2.0"; a response starts with "SIP/".
    if (raw.size() < 8 || raw.substr(0, 4) == "SIP/") return {};
    const auto first_eol = raw.find('\n');
    if (first_eol == std::string_view::npos) return {};
    std::string vias, others;
    bool has_to_tag = false;
    std::string to_line;
    std::size_t pos = first_eol + 1;
    std::size_t lines = 0;
    while (pos < raw.size() && lines++ < 256) {
        auto eol = raw.find('\n', pos);
        std::string_view line = raw.substr(pos, eol == std::string_view::npos ? raw.size() - pos : eol - pos);
        pos = eol == std::string_view::npos ? raw.size() : eol + 1;
        if (trim(line).empty()) break;  // end of the header section
        if (line.front() == ' ' || line.front() == '\t') continue;  // folded: skipped
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        auto name = trim(line.substr(0, colon));
        auto value = trim(line.substr(colon + 1));
        if (value.size() > 1024) continue;
        if (name_is(name, "Via", 'v')) {
            vias.append("Via: ").append(value).append("\r\n");
        } else if (name_is(name, "From", 'f')) {
            others.append("From: ").append(value).append("\r\n");
        } else if (name_is(name, "To", 't')) {
            to_line.assign("To: ").append(value);
            has_to_tag = value.find(";tag=") != std::string_view::npos;
        } else if (name_is(name, "Call-ID", 'i')) {
            others.append("Call-ID: ").append(value).append("\r\n");
        } else if (name_is(name, "CSeq", '\0')) {
            others.append("CSeq: ").append(value).append("\r\n");
        }
    }
    if (vias.empty()) return {};
    if (!to_line.empty()) {
        if (!has_to_tag) to_line += ";tag=sp-bad-request";
        others.append(to_line).append("\r\n");
    }
    std::string out = "SIP/2.0 " + std::to_string(status) + " ";
    out.append(reason).append("\r\n").append(vias).append(others);
    out.append("Server: sipproxy\r\nContent-Length: 0\r\n\r\n");
    return out;
}

}  // namespace sip
