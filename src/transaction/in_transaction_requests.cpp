#include "transaction/in_transaction_requests.hpp"

namespace sipproxy::transaction {

namespace {

// The common part: start line, top Via, Route set, From, To, Call-ID, CSeq.
std::optional<std::string> build(std::string_view sent, std::string_view method,
                                 const sip::Message* response) {
    auto parsed = sip::parse(std::string(sent));
    if (!parsed) return std::nullopt;
    const sip::Message& req = *parsed;
    const auto* from = req.find(sip::HeaderId::From);
    const auto* to = response ? response->find(sip::HeaderId::To) : req.find(sip::HeaderId::To);
    if (req.vias().empty() || !from || !to) return std::nullopt;

    std::string out;
    out.reserve(512);
    out.append(method).append(" ").append(req.request_uri().raw).append(" SIP/2.0\r\n");
    out.append("Via: ").append(req.vias().front().raw).append("\r\n");
    for (const auto& h : req.headers())
        if (h.id == sip::HeaderId::Route) out.append("Route: ").append(h.value).append("\r\n");
    out.append("From: ").append(from->value).append("\r\n");
    out.append("To: ").append(to->value).append("\r\n");
    out.append("Call-ID: ").append(req.call_id()).append("\r\n");
    out.append("CSeq: ").append(std::to_string(req.cseq().number)).append(" ").append(method);
    out.append("\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
    return out;
}

}  // namespace

std::optional<std::string> make_ack_for_non2xx(std::string_view sent,
                                               const sip::Message& response) {
    return build(sent, "ACK", &response);
}

std::optional<std::string> make_cancel(std::string_view sent) {
    return build(sent, "CANCEL", nullptr);
}

}  // namespace sipproxy::transaction
