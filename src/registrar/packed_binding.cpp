#include "registrar/packed_binding.hpp"

#include <cstring>

namespace sipproxy::registrar::detail {

namespace {

constexpr std::size_t kMaxField = 0xffff;  // longer strings are cut (a SIP message is < 64 KiB)

std::size_t field_size(std::string_view s) {
    return 2 + std::min(s.size(), kMaxField);
}

char* put(char* p, std::string_view s) {
    auto n = static_cast<std::uint16_t>(std::min(s.size(), kMaxField));
    std::memcpy(p, &n, 2);
    std::memcpy(p + 2, s.data(), n);
    return p + 2 + n;
}

const char* get(const char* p, std::string& out) {
    std::uint16_t n;
    std::memcpy(&n, p, 2);
    out.assign(p + 2, n);
    return p + 2 + n;
}

}  // namespace

std::int64_t to_ms(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimePoint from_ms(std::int64_t ms) {
    return TimePoint(std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(ms)));
}

PackedBinding::PackedBinding(const Binding& b)
    : expires_ms_(to_ms(b.expires_at)),
      registered_ms_(to_ms(b.registered_at)),
      flow_id_(b.flow_id),
      cseq_(b.cseq),
      reg_id_(b.reg_id),
      q_permille_(b.q_permille),
      source_port_(b.source_port) {
    std::size_t npath = std::min(b.path.size(), kMaxField);
    std::size_t size = field_size(b.contact) + field_size(b.call_id) + field_size(b.transport) +
                       field_size(b.source_address) + field_size(b.user_agent) +
                       field_size(b.instance) + field_size(b.node) + 2;
    for (std::size_t i = 0; i < npath; ++i) size += field_size(b.path[i]);
    strings_ = std::make_unique_for_overwrite<char[]>(size);
    char* p = strings_.get();
    p = put(p, b.contact);
    p = put(p, b.call_id);
    p = put(p, b.transport);
    p = put(p, b.source_address);
    p = put(p, b.user_agent);
    p = put(p, b.instance);
    p = put(p, b.node);
    auto n = static_cast<std::uint16_t>(npath);
    std::memcpy(p, &n, 2);
    p += 2;
    for (std::size_t i = 0; i < npath; ++i) p = put(p, b.path[i]);
}

bool PackedBinding::live(TimePoint now) const {
    return expires_ms_ > to_ms(now);
}

Binding PackedBinding::unpack(std::string_view aor) const {
    Binding b;
    b.aor = aor;
    b.expires_at = from_ms(expires_ms_);
    b.registered_at = from_ms(registered_ms_);
    b.flow_id = flow_id_;
    b.cseq = cseq_;
    b.reg_id = reg_id_;
    b.q_permille = q_permille_;
    b.source_port = source_port_;
    if (!strings_) return b;
    const char* p = strings_.get();
    p = get(p, b.contact);
    p = get(p, b.call_id);
    p = get(p, b.transport);
    p = get(p, b.source_address);
    p = get(p, b.user_agent);
    p = get(p, b.instance);
    p = get(p, b.node);
    std::uint16_t n;
    std::memcpy(&n, p, 2);
    p += 2;
    b.path.resize(n);
    for (auto& hop : b.path) p = get(p, hop);
    return b;
}

}  // namespace sipproxy::registrar::detail
