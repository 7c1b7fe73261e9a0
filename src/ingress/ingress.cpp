#include "ingress/ingress.hpp"

#include <fmt/format.h>


namespace sipproxy::ingress {

namespace {

// Responses are not counted for the flood limit: they answer requests this proxy sent,
// and their number follows from those (a stray one creates no state).
bool is_response(std::string_view bytes) { return bytes.substr(0, 4) == "SIP/"; }

// The User-Agent in lower case, once, into a buffer on the stack (patterns are lower case
// already); a scanner's name is near the start, so 256 bytes are enough.
std::string_view lower_prefix(std::string_view text, char (&buf)[256]) {
    const std::size_t n = text.size() < sizeof buf ? text.size() : sizeof buf;
    for (std::size_t i = 0; i < n; ++i) {
        const char c = text[i];
        buf[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
    }
    return {buf, n};
}

}  // namespace

Ingress::Ingress(Admission& admission, Options options)
    : admission_(admission), counters_(admission.counters()), options_(options),
      rejects_(options.log) {
    refresh();
}

void Ingress::refresh() { view_ = admission_.view(); }

void Ingress::ban(const AddressKey& source, const char* reason, std::string note) {
    BanTable::Request r;
    r.network = source_cidr(source);
    r.reason = reason;
    r.note = std::move(note);
    r.duration = view_.policy->ban_time;
    if (admission_.bans().add(r)) {
        Counters::bump(counters_.bans);
        admission_.rates().forget(source_of(source));  // counted afresh when the ban ends
    }
    refresh();
}

Ingress::Verdict Ingress::admit(const AddressKey& key, bool count, Clock::time_point now) {
    if (admission_.version() != view_.version) refresh();
    const Policy& p = *view_.policy;
    if (!p.allow.empty() && p.allow.contains(key)) return Verdict::Allowed;
    if (!p.deny.empty() && p.deny.contains(key)) {
        Counters::bump(counters_.deny);
        rejects_.record(key, "denied", now);
        return Verdict::Drop;
    }
    if (!view_.bans->empty()) {
        if (const auto* b = view_.bans->find(key)) {
            (*b)->hits.fetch_add(1, std::memory_order_relaxed);
            Counters::bump(counters_.banned);
            rejects_.record(key, "banned", now);
            return Verdict::Drop;
        }
    }
    if (count && p.flood_requests) {
        const auto n = admission_.rates().count(source_of(key), now, p.flood_window);
        if (n > p.flood_requests) {
            Counters::bump(counters_.flood);  // the ban line says why; then "banned"
            ban(key, "flood",
                fmt::format("requests={} window={}s", n,
                            std::chrono::duration<double>(p.flood_window).count()));
            return Verdict::Drop;
        }
    }
    return Verdict::Pass;
}

void Ingress::receive(const transport::Inbound& in) {
    const auto now = Clock::now();
    const auto key = transport::address_key(in.from.address);
    if (in.stream_error) {
        rejects_.record(key, in.stream_error->reason, now);
        return;
    }
    const auto verdict = admit(key, !is_response(in.bytes), now);
    if (verdict == Verdict::Drop) return;

    auto parsed = sip::parse(in.take(), in.stream, options_.limits);
    if (!parsed) {
        rejects_.record(key, parsed.error().reason, now);
        if (on_parse_error_) on_parse_error_(parsed.error().raw, parsed.error(), in.from);
        return;
    }
    if (verdict != Verdict::Allowed && parsed->is_request() && scanner(*parsed)) {
        Counters::bump(counters_.scanner);  // the ban line says it
        const auto* ua = parsed->find(sip::HeaderId::UserAgent);
        std::string agent(ua ? ua->value.substr(0, 64) : std::string_view{});
        for (char& c : agent)
            if (c == '"' || static_cast<unsigned char>(c) < 0x20) c = '?';
        ban(key, "scanner", "user_agent=\"" + agent + "\"");
        return;
    }
    if (on_message_) on_message_(std::move(parsed.value()), in.from, in.local);
}

bool Ingress::scanner(const sip::Message& m) const {
    const auto& patterns = view_.policy->scanner_user_agents;
    if (patterns.empty()) return false;
    for (const auto& h : m.headers()) {
        if (h.id != sip::HeaderId::UserAgent) continue;
        char buf[256];
        const auto agent = lower_prefix(h.value, buf);
        for (const auto& p : patterns)
            if (agent.find(p) != std::string_view::npos) return true;
    }
    return false;
}

bool Ingress::exempt(const asio::ip::address& from) {
    if (admission_.version() != view_.version) refresh();
    const auto& allow = view_.policy->allow;
    return !allow.empty() && allow.contains(transport::address_key(from));
}

bool Ingress::admit_connection(const asio::ip::address& from, std::size_t open_from_source) {
    const auto now = Clock::now();
    const auto key = transport::address_key(from);
    const auto verdict = admit(key, true, now);
    if (verdict == Verdict::Drop) return false;
    const auto cap = view_.policy->max_connections_per_source;
    if (verdict == Verdict::Pass && cap && open_from_source >= cap) {
        Counters::bump(counters_.connections);
        rejects_.record(key, "too many TCP connections", now);
        return false;
    }
    return true;
}

}  // namespace sipproxy::ingress
