// The log line of a refusal: one per source and reason per 10 s, with the count since the
// last line (services.refusals).
#include "base/log.hpp"
#include "proxy/pipeline.hpp"

namespace sipproxy::proxy {

void refuse(Services& services, Refusal reason, const transport::Peer& from,
            std::string_view what) {
    services.stats.refused(reason);
    std::string key(refusal_name(reason));
    key += '|';
    key += transport::address_text(from.address);
    if (auto n = services.refusals.note(key, ThrottledLog::Clock::now())) {
        if (*n == 1)
            log::info("refused ({}) from {}: {}", refusal_name(reason), from.to_string(), what);
        else
            log::info("refused ({}) from {}: {} ({} times since the last line)",
                      refusal_name(reason), from.to_string(), what, *n);
    }
}

}  // namespace sipproxy::proxy
