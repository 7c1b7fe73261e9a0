#include "cluster/abuse_notice.hpp"


#include "base/parse_number.hpp"

namespace sipproxy::cluster {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The next space-separated word of `s` (consumed with its space).
std::string_view word(std::string_view& s) {
    const auto sp = s.find(' ');
    auto w = s.substr(0, sp);
    s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
    return w;
}

// One word on the wire: escaped, "-" for empty.
std::string token(std::string_view s) { return s.empty() ? std::string("-") : escape(s); }
std::optional<std::string> untoken(std::string_view s) {
    if (s == "-") return std::string();
    if (s.empty()) return std::nullopt;
    return unescape(s);
}

bool flag(std::string_view s, bool& v) {
    if (s != "0" && s != "1") return false;
    v = s == "1";
    return true;
}

// Notes are free text: one line, no escaping needed beyond line breaks.
std::string one_line(std::string_view s) {
    std::string out(s.substr(0, 512));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return out;
}

}  // namespace

std::string escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (c <= 0x20 || c >= 0x7f || c == '%') {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::optional<std::string> unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            if (static_cast<unsigned char>(s[i]) <= 0x20) return std::nullopt;
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

std::string encode_ban_notice(const BanNotice& n) {
    if (!n.add) return "remove " + token(n.network) + " " + token(n.origin);
    return "add " + token(n.network) + " " + token(n.origin) + " " + std::to_string(n.until_ms) +
           " " + (n.automatic ? "1" : "0") + " " + token(n.reason) + " " + one_line(n.note);
}

std::optional<BanNotice> decode_ban_notice(std::string_view text) {
    BanNotice n;
    const auto verb = word(text);
    auto network = untoken(word(text));
    if (!network || network->empty()) return std::nullopt;
    n.network = std::move(*network);
    if (verb == "remove") {
        auto origin = untoken(word(text));
        if (!origin || !text.empty()) return std::nullopt;
        n.add = false;
        n.origin = std::move(*origin);
        return n;
    }
    if (verb != "add") return std::nullopt;
    auto record = decode_ban_record(n.network, [&] {
        // The record's field order: until, automatic, origin, reason, note.
        auto origin = word(text);
        auto until = word(text);
        auto automatic = word(text);
        return std::string(until) + " " + std::string(automatic) + " " + std::string(origin) +
               " " + std::string(text);
    }());
    return record;
}

std::string encode_ban_record(const BanNotice& n) {
    return std::to_string(n.until_ms) + " " + (n.automatic ? "1" : "0") + " " + token(n.origin) +
           " " + token(n.reason) + " " + one_line(n.note);
}

std::optional<BanNotice> decode_ban_record(std::string_view network, std::string_view value) {
    BanNotice n;
    if (network.empty()) return std::nullopt;
    n.network = std::string(network);
    if (!parse_number(word(value), n.until_ms) || n.until_ms < 0) return std::nullopt;
    if (!flag(word(value), n.automatic)) return std::nullopt;
    auto origin = untoken(word(value));
    auto reason = untoken(word(value));
    if (!origin || !reason) return std::nullopt;
    n.origin = std::move(*origin);
    n.reason = std::move(*reason);
    n.note = one_line(value);
    return n;
}

std::vector<std::string> encode_abuse_batch(const AbuseBatch& b, std::size_t max_bytes) {
    std::vector<std::string> out;
    const std::string header = "abuse1 " + token(b.node) + "\n";
    std::string cur = header;
    auto line = [&](char kind, const AbuseBatch::Count& c) {
        std::string l(1, kind);
        l += ' ';
        l += token(c.key);
        l += ' ';
        l += std::to_string(c.n);
        if (c.reset) l += " r";
        l += '\n';
        if (cur.size() > header.size() && cur.size() + l.size() > max_bytes) {
            out.push_back(std::move(cur));
            cur = header;
        }
        cur += l;
    };
    for (const auto& c : b.sources) line('s', c);
    for (const auto& c : b.users) line('u', c);
    for (const auto& c : b.calls) line('c', c);
    for (const auto& c : b.concurrent) line('h', c);
    if (cur.size() > header.size()) out.push_back(std::move(cur));
    return out;
}

std::optional<AbuseBatch> decode_abuse_batch(std::string_view text) {
    auto nl = text.find('\n');
    auto head = text.substr(0, nl);
    if (word(head) != "abuse1") return std::nullopt;
    auto node = untoken(word(head));
    if (!node || node->empty() || !head.empty()) return std::nullopt;
    AbuseBatch b;
    b.node = std::move(*node);
    while (nl != std::string_view::npos) {
        text.remove_prefix(nl + 1);
        nl = text.find('\n');
        auto l = text.substr(0, nl);
        if (l.empty()) continue;
        const auto kind = word(l);
        auto key = untoken(word(l));
        AbuseBatch::Count c;
        if (!key || key->empty() || !parse_number(word(l), c.n)) continue;
        c.key = std::move(*key);
        if (l == "r" && kind == "s") {
            c.reset = true;
        } else if (!l.empty()) {
            continue;
        }
        if (kind == "s")
            b.sources.push_back(std::move(c));
        else if (kind == "u")
            b.users.push_back(std::move(c));
        else if (kind == "c")
            b.calls.push_back(std::move(c));
        else if (kind == "h")
            b.concurrent.push_back(std::move(c));
    }
    return b;
}

}  // namespace sipproxy::cluster
