#include "transport/framing.hpp"

#include "sip/framer.hpp"

namespace sipproxy::transport {

namespace {
class SipStreamFraming final : public Framing {
public:
    explicit SipStreamFraming(const sip::Limits& limits) : framer_(limits) {}

    void append(std::string_view data) override { framer_.append(data); }

    Result next() override {
        auto r = framer_.next();
        switch (r.event) {
        case sip::StreamFramer::Event::NeedMore: return {};
        case sip::StreamFramer::Event::Ping: return {Event::Reply, "\r\n", {}};  // RFC 5626 3.5.1 pong
        case sip::StreamFramer::Event::Message: return {Event::Message, std::move(r.message), {}};
        case sip::StreamFramer::Event::Error: break;
        }
        return {Event::Error, {}, std::move(r.error)};
    }

    bool partial() const override { return framer_.partial(); }

private:
    sip::StreamFramer framer_;
};
}  // namespace

std::unique_ptr<Framing> make_sip_stream_framing(const sip::Limits& limits) {
    return std::make_unique<SipStreamFraming>(limits);
}

std::unique_ptr<Framing> make_framing(Protocol protocol, bool inbound, const sip::Limits& limits,
                                      const WebSocketOptions& websocket) {
    switch (traits(protocol).stream) {
    case StreamKind::Tcp:
    case StreamKind::Tls: return make_sip_stream_framing(limits);
    case StreamKind::Ws:
    case StreamKind::Wss:
        // The proxy never opens a WebSocket connection (connectable() is false).
        if (inbound) return make_websocket_framing(limits, websocket);
        break;
    case StreamKind::None: break;
    }
    return nullptr;
}

}  // namespace sipproxy::transport
