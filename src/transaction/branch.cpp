#include "transaction/branch.hpp"


namespace sipproxy::transaction {

namespace {
constexpr std::string_view kPrefix = "z9hG4bK-sp";

std::uint32_t fnv1a(std::uint32_t h, std::string_view s) {
    for (unsigned char c : s) {
        h ^= c;
        h *= 16777619u;
    }
    h ^= 0xff;  // field separator
    h *= 16777619u;
    return h;
}

bool hex_value(std::string_view s, std::uint64_t& out) {
    out = 0;
    if (s.empty()) return false;
    for (char c : s) {
        int v;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else return false;
        out = out * 16 + static_cast<std::uint64_t>(v);
    }
    return true;
}
}  // namespace

// Hex digits by hand: snprintf cost ~1.9 k instructions a branch, three branches a call.
std::string make_branch(unsigned worker, std::uint32_t loop, std::uint64_t counter) {
    static constexpr char digits[] = "0123456789abcdef";
    // "z9hG4bK-sp" WW LLLLLLLL "." counter in hex without leading zeros
    char buf[kPrefix.size() + 2 + 8 + 1 + 16];
    std::size_t n = kPrefix.copy(buf, kPrefix.size());
    buf[n++] = digits[(worker >> 4) & 0xf];
    buf[n++] = digits[worker & 0xf];
    for (int shift = 28; shift >= 0; shift -= 4) buf[n++] = digits[(loop >> shift) & 0xf];
    buf[n++] = '.';
    int top = 60;
    while (top > 0 && ((counter >> top) & 0xf) == 0) top -= 4;
    for (; top >= 0; top -= 4) buf[n++] = digits[(counter >> top) & 0xf];
    return std::string(buf, n);
}

std::string branch_with_token(std::string branch, std::string_view token) {
    if (token.empty()) return branch;
    branch += '.';
    branch += token;
    return branch;
}

std::string_view branch_token(std::string_view b) {
    if (b.substr(0, kPrefix.size()) != kPrefix || b.size() < kPrefix.size() + 10) return {};
    const auto counter_at = b.find('.', kPrefix.size() + 10);
    if (counter_at == std::string_view::npos) return {};
    const auto token_at = b.find('.', counter_at + 1);
    if (token_at == std::string_view::npos) return {};
    return b.substr(token_at + 1);
}

std::optional<unsigned> branch_worker(std::string_view b) {
    if (b.substr(0, kPrefix.size()) != kPrefix || b.size() < kPrefix.size() + 10)
        return std::nullopt;
    std::uint64_t v;
    if (!hex_value(b.substr(kPrefix.size(), 2), v)) return std::nullopt;
    return static_cast<unsigned>(v);
}

std::optional<std::uint32_t> branch_loop_hash(std::string_view b) {
    if (b.substr(0, kPrefix.size()) != kPrefix || b.size() < kPrefix.size() + 10)
        return std::nullopt;
    std::uint64_t v;
    if (!hex_value(b.substr(kPrefix.size() + 2, 8), v)) return std::nullopt;
    return static_cast<std::uint32_t>(v);
}

std::uint32_t loop_hash(const sip::Message& r) {
    std::uint32_t h = 2166136261u;
    h = fnv1a(h, r.request_uri().raw);
    h = fnv1a(h, r.from().tag);
    h = fnv1a(h, r.to().tag);
    h = fnv1a(h, r.call_id());
    h = fnv1a(h, std::to_string(r.cseq().number));
    if (const auto* pr = r.find(sip::HeaderId::ProxyRequire)) h = fnv1a(h, pr->value);
    return h;
}

}  // namespace sipproxy::transaction
