// Fuzzes the text form of a binding read back from Redis (registrar/binding_record.hpp):
// whatever decodes must encode and decode again to the same binding.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "registrar/binding_record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string node;
    auto b = sipproxy::registrar::decode_binding("a@example.test", text, &node);
    if (!b) return 0;
    std::string node2;
    auto again = sipproxy::registrar::decode_binding(
        "a@example.test", sipproxy::registrar::encode_binding(*b, node), &node2);
    if (!again || node2 != node || again->contact != b->contact ||
        again->expires_at != b->expires_at || again->call_id != b->call_id ||
        again->path != b->path || again->user_agent != b->user_agent ||
        again->source_port != b->source_port || again->instance != b->instance ||
        sipproxy::registrar::binding_key(*again) != sipproxy::registrar::binding_key(*b))
        std::abort();
    return 0;
}
