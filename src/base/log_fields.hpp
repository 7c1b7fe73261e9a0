#pragma once
// The key=value fields of the stable log lines (calls, registrations: sipproxyd(8)), so
// that fail2ban, grep and scripts can parse them: every field always there.
#include <string>
#include <string_view>

namespace sipproxy::log {

// " key=value" for a value without spaces (a URI, a name): "-" when absent; a space or a
// quote inside becomes '?'.
inline void field(std::string& out, std::string_view key, std::string_view value) {
    out += ' ';
    out += key;
    out += '=';
    if (value.empty()) {
        out += '-';
        return;
    }
    for (char c : value) out += (c == ' ' || c == '"') ? '?' : c;
}

// " key=\"text\"" for free text (a reason phrase, a User-Agent): a quote inside becomes '
// so that the line stays parseable. Control characters are the logger's business ('?').
inline void quoted(std::string& out, std::string_view key, std::string_view value) {
    out += ' ';
    out += key;
    out += "=\"";
    for (char c : value) out += c == '"' ? '\'' : c;
    out += '"';
}

}  // namespace sipproxy::log
