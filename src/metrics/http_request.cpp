#include "metrics/http_request.hpp"

#include <algorithm>
#include <cctype>

namespace sipproxy::metrics {

namespace {

bool is_tchar(char c) {  // RFC 9110 5.6.2 token characters
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

HttpParse bad(std::string why) {
    HttpParse p;
    p.status = HttpParse::Status::Bad;
    p.error = std::move(why);
    return p;
}

}  // namespace

bool http_iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view http_trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool http_list_contains(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        auto comma = list.find(',');
        if (http_iequals(http_trim(list.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

std::string HttpRequest::field(std::string_view name) const {
    std::string out;
    for (const auto& [n, v] : fields) {
        if (!http_iequals(n, name)) continue;
        if (!out.empty()) out += ", ";
        out += v;
    }
    return out;
}

HttpParse parse_http_request(std::string_view bytes, std::size_t max_size) {
    const auto end = bytes.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        HttpParse p;
        p.status =
            bytes.size() > max_size ? HttpParse::Status::TooLarge : HttpParse::Status::Incomplete;
        return p;
    }
    if (end + 4 > max_size) {
        HttpParse p;
        p.status = HttpParse::Status::TooLarge;
        return p;
    }
    std::string_view head = bytes.substr(0, end);

    // request-line = method SP request-target SP HTTP-version
    const auto eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    const auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) return bad("malformed request line");
    const auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return bad("malformed request line");
    const auto method = line.substr(0, sp1);
    const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const auto version = line.substr(sp2 + 1);
    if (!std::all_of(method.begin(), method.end(), is_tchar)) return bad("malformed method");
    if (target.front() != '/') return bad("request target must be an absolute path");
    for (char c : target)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            return bad("malformed request target");
    HttpParse p;
    if (version == "HTTP/1.1")
        p.request.keep_alive = true;
    else if (version == "HTTP/1.0")
        p.request.keep_alive = false;
    else
        return bad("unsupported HTTP version");
    p.request.method = std::string(method);
    p.request.path = std::string(target.substr(0, target.find('?')));

    // field-line = field-name ":" OWS field-value OWS
    std::string_view rest =
        eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    bool host = false;
    while (!rest.empty()) {
        const auto next = rest.find("\r\n");
        std::string_view field = rest.substr(0, next);
        rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 2);
        const auto colon = field.find(':');
        if (colon == std::string_view::npos || colon == 0) return bad("malformed header field");
        const auto name = field.substr(0, colon);
        if (!std::all_of(name.begin(), name.end(), is_tchar))
            return bad("malformed header field name");
        const auto value = http_trim(field.substr(colon + 1));
        for (char c : value)
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
                return bad("control character in a header field");
        p.request.fields.emplace_back(name, value);
        if (http_iequals(name, "Host"))
            host = true;
        else if (http_iequals(name, "Connection")) {
            if (http_list_contains(value, "close"))
                p.request.keep_alive = false;
            else if (http_list_contains(value, "keep-alive"))
                p.request.keep_alive = true;
        } else if (http_iequals(name, "Transfer-Encoding")) {
            return bad("a request body is not accepted");
        } else if (http_iequals(name, "Content-Length")) {
            if (value != "0") return bad("a request body is not accepted");
        }
    }
    // RFC 9112 3.2: a 1.1 request without Host is answered 400.
    if (version == "HTTP/1.1" && !host) return bad("missing Host");
    p.status = HttpParse::Status::Ok;
    p.consumed = end + 4;
    return p;
}

}  // namespace sipproxy::metrics
