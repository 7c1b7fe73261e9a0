#include "transport/via_stamp.hpp"

namespace sipproxy::transport {

std::string stamp_via(const sip::Via& via, const Peer& source) {
    const std::string src = address_text(source.address);
    const bool need_received = strip_brackets(via.host) != src;
    const bool need_rport = via.has_rport && !via.rport;
    if (!need_received && !need_rport) return {};
    std::string out;
    std::string_view raw = via.raw;
    if (need_rport) {
        // Fill the empty ";rport" with the source port (RFC 3581 4).
        auto params_at = static_cast<std::size_t>(via.params.data() - raw.data());
        std::size_t pos = params_at;
        for (;;) {
            auto found = raw.find("rport", pos);
            if (found == std::string_view::npos) break;
            const bool starts = found > 0 && (raw[found - 1] == ';' || raw[found - 1] == ' ');
            const std::size_t after = found + 5;
            const bool ends = after >= raw.size() || raw[after] == ';' || raw[after] == ' ' ||
                              raw[after] == ',';
            if (starts && ends) {
                out.append(raw.substr(0, after));
                out += "=" + std::to_string(source.port);
                raw = raw.substr(after);
                break;
            }
            pos = after;
        }
    }
    out.append(raw);
    // RFC 3581: with rport the received param is always added.
    if ((need_received || need_rport) && via.received.empty()) out += ";received=" + src;
    return out;
}

ViaReturn stamped_return(const sip::Via& via, const Peer& source) {
    // The same decisions as stamp_via().
    const std::string src = address_text(source.address);
    const bool need_received = strip_brackets(via.host) != src;
    const bool need_rport = via.has_rport && !via.rport;
    ViaReturn r;
    if (!via.received.empty()) r.received = std::string(via.received);
    else if (need_received || need_rport) r.received = src;
    if (via.rport) r.rport = via.rport;
    else if (need_rport) r.rport = source.port;
    return r;
}

std::string stamp_response_via(std::string response, const sip::Message& request,
                               const Peer& source) {
    if (request.vias().empty()) return response;
    const auto& top = request.vias().front();
    auto stamped = stamp_via(top, source);
    if (stamped.empty()) return response;
    // The response copied the request's Via lines; the first copy of the top value is it.
    const auto at = response.find(top.raw);
    if (at != std::string::npos) response.replace(at, top.raw.size(), stamped);
    return response;
}

}  // namespace sipproxy::transport
