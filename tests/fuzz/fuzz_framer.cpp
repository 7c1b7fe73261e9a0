// Fuzzes the stream framer: the same bytes fed whole, byte by byte, and split at points taken
// from the input must produce the same events; every framed message goes to the parser.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sip/framer.hpp"

namespace {

struct Event {
    sip::StreamFramer::Event kind;
    std::string message;
    std::string_view reason;
    bool operator==(const Event& o) const {
        return kind == o.kind && message == o.message && reason == o.reason;
    }
};

std::vector<Event> run(std::string_view data, const std::vector<std::size_t>& cuts,
                       const sip::Limits& limits) {
    sip::StreamFramer f(limits);
    std::vector<Event> events;
    std::size_t pos = 0;
    auto drain = [&] {
        for (;;) {
            auto r = f.next();
            if (r.event == sip::StreamFramer::Event::NeedMore) return true;
            events.push_back({r.event, r.message, r.error.reason});
            if (r.event == sip::StreamFramer::Event::Error) return false;
            if (r.event == sip::StreamFramer::Event::Message)
                (void)sip::parse(std::move(r.message), true, limits);
        }
    };
    for (std::size_t cut : cuts) {
        if (cut <= pos || cut > data.size()) continue;
        f.append(data.substr(pos, cut - pos));
        pos = cut;
        if (!drain()) return events;
    }
    f.append(data.substr(pos));
    drain();
    return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    sip::Limits limits;
    limits.max_message_size = 4096;
    auto whole = run(in, {}, limits);

    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < size; ++i) every.push_back(i);
    if (run(in, every, limits) != whole) std::abort();

    // Split points derived from the input itself.
    std::vector<std::size_t> cuts;
    std::size_t at = 0;
    for (std::size_t i = 0; i < size && i < 16; ++i) {
        at += 1 + static_cast<std::uint8_t>(in[i]) % 61;
        cuts.push_back(at);
    }
    if (run(in, cuts, limits) != whole) std::abort();
    return 0;
}
