// Fuzzes the notices the nodes of a cluster exchange through Redis (cluster/abuse_notice.hpp):
// whatever decodes must encode and decode again to the same value.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cluster/abuse_notice.hpp"

using namespace sipproxy::cluster;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto n = decode_ban_notice(text)) {
        auto again = decode_ban_notice(encode_ban_notice(*n));
        if (!again || !(*again == *n)) std::abort();
        auto rec = decode_ban_record(n->network, encode_ban_record(*n));
        if (n->add && (!rec || rec->until_ms != n->until_ms || rec->origin != n->origin ||
                       rec->note != n->note))
            std::abort();
    }
    if (auto b = decode_abuse_batch(text)) {
        AbuseBatch all;
        for (const auto& m : encode_abuse_batch(*b, 512)) {
            auto d = decode_abuse_batch(m);
            if (!d || d->node != b->node) std::abort();
            all.node = d->node;
            using Counts = std::vector<AbuseBatch::Count> AbuseBatch::*;
            for (Counts v : {&AbuseBatch::sources, &AbuseBatch::users, &AbuseBatch::calls,
                            &AbuseBatch::concurrent})
                (all.*v).insert((all.*v).end(), ((*d).*v).begin(), ((*d).*v).end());
        }
        all.node = b->node;
        if (!(all == *b)) std::abort();
    }
    return 0;
}
