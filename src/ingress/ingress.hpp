#pragma once
// The door of one worker: every datagram and every framed TCP message passes here before
// anything else looks at it. In order:
//   1. admission, before any copy or parse: allow-listed sources skip every limit;
//      denied and banned sources are dropped silently;
//   2. the flood limit: requests per source over a sliding window; over it, the source
//      is banned on every worker and its traffic dropped;
//   3. parsing: a message that does not parse goes to the parse-error handler (400 as
//      before), logged at most once per source, reason and interval;
//   4. scanners: a request whose User-Agent matches security.scanner_user_agents is
//      dropped silently and its source banned;
//   5. dispatch to the transaction layer.
// It also decides whether a TCP connection may be accepted (deny, ban, per-source cap;
// each accept counts as a request for the flood limit).
// One per worker, used only from that worker's thread; what it shares with the other
// workers (policy, bans, rates, counters) is in Admission.
#include <asio/ip/address.hpp>

#include <chrono>
#include <functional>

#include "ingress/admission.hpp"
#include "ingress/reject_log.hpp"
#include "sip/message.hpp"
#include "transport/transport.hpp"

namespace sipproxy::ingress {

class Ingress {
public:
    using Clock = std::chrono::steady_clock;
    using MessageHandler = std::function<void(sip::Message, const transport::Peer& from,
                                              const transport::Local& local)>;
    // A message that does not parse: the proxy answers 400 (or 505, 513) when it can.
    using ParseErrorHandler = std::function<void(std::string_view raw, const sip::ParseError&,
                                                 const transport::Peer& from)>;

    struct Options {
        sip::Limits limits;
        RejectLog::Options log;
    };
    Ingress(Admission& admission, Options options);

    void on_message(MessageHandler h) { on_message_ = std::move(h); }
    void on_parse_error(ParseErrorHandler h) { on_parse_error_ = std::move(h); }

    // The transport's receive handler.
    void receive(const transport::Inbound& in);
    // Whether `from` is exempt from every limit (security.allow, auth.trusted), for the
    // limits kept past the ingress (the transaction layer's fair shares).
    bool exempt(const asio::ip::address& from);
    // The transport's accept filter.
    bool admit_connection(const asio::ip::address& from, std::size_t open_from_source);
    // Once a second or so: writes the rejection counts of an interval that ended.
    void tick(Clock::time_point now = Clock::now()) { rejects_.tick(now); }


private:
    enum class Verdict { Pass, Allowed, Drop };
    // Steps 1 and 2 for one request (or connection) from `key`.
    Verdict admit(const AddressKey& key, bool count, Clock::time_point now);
    void refresh();
    bool scanner(const sip::Message& m) const;
    void ban(const AddressKey& source, const char* reason, std::string note);

    Admission& admission_;
    Counters& counters_;
    Options options_;
    Admission::View view_;
    RejectLog rejects_;
    MessageHandler on_message_;
    ParseErrorHandler on_parse_error_;
};

}  // namespace sipproxy::ingress
