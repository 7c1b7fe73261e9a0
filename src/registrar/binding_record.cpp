#include "registrar/binding_record.hpp"

#include <vector>

#include "base/parse_number.hpp"
#include "registrar/packed_binding.hpp"

namespace sipproxy::registrar {

namespace {

void put(std::string& out, std::string_view s) {
    if (!out.empty()) out += '\t';
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '\t') out += "\\t";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
}

void put(std::string& out, std::int64_t v) { put(out, std::to_string(v)); }

std::optional<std::string> unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        if (++i == s.size()) return std::nullopt;
        if (s[i] == '\\') out += '\\';
        else if (s[i] == 't') out += '\t';
        else if (s[i] == 'n') out += '\n';
        else return std::nullopt;
    }
    return out;
}

}  // namespace

std::string encode_binding(const Binding& b, std::string_view node) {
    std::string out;
    put(out, "1");
    put(out, b.contact);
    put(out, detail::to_ms(b.expires_at));
    put(out, b.q_permille);
    put(out, b.call_id);
    put(out, b.cseq);
    put(out, b.transport);
    put(out, b.source_address);
    put(out, b.source_port);
    put(out, b.user_agent);
    put(out, b.instance);
    put(out, b.reg_id);
    put(out, detail::to_ms(b.registered_at));
    put(out, node);
    for (const auto& hop : b.path) put(out, hop);
    return out;
}

std::optional<Binding> decode_binding(std::string_view aor, std::string_view text,
                                      std::string* node) {
    std::vector<std::string> f;
    for (;;) {
        auto tab = text.find('\t');
        auto u = unescape(text.substr(0, tab));
        if (!u) return std::nullopt;
        f.push_back(std::move(*u));
        if (tab == std::string_view::npos) break;
        text.remove_prefix(tab + 1);
    }
    if (f.size() < 14 || f[0] != "1") return std::nullopt;
    Binding b;
    b.aor = std::string(aor);
    b.contact = f[1];
    std::int64_t expires = 0, registered = 0;
    if (!parse_number(f[2], expires) || !parse_number(f[3], b.q_permille) || !parse_number(f[5], b.cseq) ||
        !parse_number(f[8], b.source_port) || !parse_number(f[11], b.reg_id) || !parse_number(f[12], registered))
        return std::nullopt;
    b.expires_at = detail::from_ms(expires);
    b.registered_at = detail::from_ms(registered);
    b.call_id = f[4];
    b.transport = f[6];
    b.source_address = f[7];
    b.user_agent = f[9];
    b.instance = f[10];
    b.node = f[13];
    if (node) *node = f[13];
    for (std::size_t i = 14; i < f.size(); ++i) b.path.push_back(f[i]);
    return b;
}

std::string binding_key(const Binding& b) {
    std::string k;
    put(k, b.contact);
    put(k, b.instance);
    put(k, b.reg_id);
    return k;
}

}  // namespace sipproxy::registrar
