// The metrics endpoint's content: the counters of `show stats` as Prometheus families
// (labels instead of names: requests by method, responses by code, refusals by reason),
// the gauges, the call-timing histograms, the process and the build.
#include <algorithm>
#include <asio/ip/address.hpp>
#include <map>

#include "base/log.hpp"
#include "daemon/daemon.hpp"
#include "metrics/exposition.hpp"
#include "metrics/process.hpp"

namespace sipproxy::daemon {

using metrics::Family;
using metrics::MetricType;

namespace {

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "auth.failures" -> "sipproxy_auth_failures_total"
std::string counter_name(std::string_view dotted) {
    std::string n = "sipproxy_";
    for (char c : dotted) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        n += ok ? c : '_';
    }
    return n + "_total";
}

Family counter(std::string name, std::string help) {
    return Family{std::move(name), std::move(help), MetricType::Counter, {}, {}};
}

Family gauge(std::string name, std::string help, double v) {
    return Family{std::move(name), std::move(help), MetricType::Gauge, {{{}, v}}, {}};
}

}  // namespace

std::unique_ptr<MetricsServer> Daemon::open_metrics(const config::Config& cfg) {
    if (cfg.metrics.listen.empty()) return nullptr;
    asio::error_code ec;
    const auto address = asio::ip::make_address(cfg.metrics.host, ec);
    if (ec) throw std::runtime_error("metrics.listen: bad address " + cfg.metrics.listen);
    try {
        auto server = std::make_unique<MetricsServer>(
            main_io_, asio::ip::tcp::endpoint(address, cfg.metrics.port),
            [this]() { return render_metrics(); });
        log::info("metrics at http://{}/metrics", cfg.metrics.listen);
        return server;
    } catch (const std::system_error& e) {
        throw std::runtime_error("cannot listen on metrics.listen " + cfg.metrics.listen + ": " +
                                 e.code().message());
    }
}

std::string Daemon::render_metrics() const {
    std::vector<Family> out;
    auto requests = counter("sipproxy_requests_total", "SIP requests received, by method.");
    auto responses = counter("sipproxy_responses_total", "SIP responses sent, by status code.");
    auto refused = counter("sipproxy_refused_total",
                           "Requests and responses refused by the relay rules, by reason.");
    std::vector<Family> others;
    // Help for the counters whose name says less than it should; the rest get their name.
    static const std::map<std::string, std::string, std::less<>> help = {
        {"calls.started", "Calls (INVITEs out of dialog) accepted for routing."},
        {"calls.answered", "Calls answered (2xx)."},
        {"calls.failed", "Calls that ended without an answer (incl. cancelled)."},
        {"auth.challenges", "Digest challenges sent (401/407)."},
        {"auth.failures", "Digest credentials that failed verification."},
        {"auth.successes", "Digest credentials verified."},
        {"messages.parse_errors", "Messages that did not parse."},
        {"responses.forwarded_stateless", "Responses forwarded without a transaction."},
        {"registrar.registers_accepted", "REGISTER requests accepted."},
    };
    for (const auto& [k, v] : services_.stats.snapshot()) {
        const auto dot = k.find('.');
        const std::string_view family = std::string_view(k).substr(0, dot);
        const std::string_view rest = std::string_view(k).substr(dot + 1);
        const double value = static_cast<double>(v);
        if (family == "requests") {
            requests.samples.push_back({{{"method", std::string(rest)}}, value});
        } else if (family == "responses" && all_digits(rest)) {
            responses.samples.push_back(
                {{{"code", std::string(rest)}, {"class", std::string(1, rest.front()) + "xx"}},
                 value});
        } else if (family == "refused") {
            refused.samples.push_back({{{"reason", std::string(rest)}}, value});
        } else {
            auto h = help.find(k);
            auto f = counter(counter_name(k), h != help.end() ? h->second : k);
            f.samples.push_back({{}, value});
            others.push_back(std::move(f));
        }
    }
    out.push_back(std::move(requests));
    out.push_back(std::move(responses));
    out.push_back(std::move(refused));
    for (auto& f : others) out.push_back(std::move(f));

    auto outcomes = counter("sipproxy_call_attempts_total",
                            "Call attempts that ended (one CDR each), by outcome.");
    for (const auto& [name, n] : services_.call_metrics.outcomes())
        outcomes.samples.push_back({{{"outcome", std::string(name)}}, static_cast<double>(n)});
    out.push_back(std::move(outcomes));
    auto cdr_written =
        counter("sipproxy_cdr_written_total", "Call records written to the CDR file.");
    cdr_written.samples.push_back({{}, static_cast<double>(cdr_.written())});
    out.push_back(std::move(cdr_written));
    auto cdr_dropped = counter("sipproxy_cdr_dropped_total",
                               "Call records lost (queue full or CDR file not writable).");
    cdr_dropped.samples.push_back({{}, static_cast<double>(cdr_.dropped())});
    out.push_back(std::move(cdr_dropped));

    std::size_t transactions = 0, failures = 0;
    for (const auto& w : workers_) {
        transactions += w->layer().live();
        failures += w->failures();
    }
    auto exceptions = counter("sipproxy_worker_exceptions_total",
                              "Exceptions caught on the worker threads (never expected).");
    exceptions.samples.push_back({{}, static_cast<double>(failures)});
    out.push_back(std::move(exceptions));
    out.push_back(gauge("sipproxy_calls_active",
                        "Calls in progress (from INVITE to the BYE's 200).",
                        static_cast<double>(services_.call_events.active())));
    out.push_back(gauge("sipproxy_registrar_bindings", "Registered contacts.",
                        static_cast<double>(store_->count())));
    out.push_back(gauge("sipproxy_registrar_aors", "Addresses of record with a registered contact.",
                        static_cast<double>(store_->aor_count())));
    out.push_back(gauge("sipproxy_transactions_active", "Live SIP transactions.",
                        static_cast<double>(transactions)));
    out.push_back(gauge(
        "sipproxy_tcp_connections", "Open SIP TCP connections.",
        workers_.empty() ? 0.0 : static_cast<double>(workers_.front()->transport().connections())));

    // Abuse protection (the ingress): what it dropped, by reason, and the bans.
    auto blocked = counter("sipproxy_blocked_total",
                           "Messages and connections dropped by the ingress, by reason.");
    auto bans_added = counter("sipproxy_bans_added_total", "Sources banned (any reason).");
    for (const auto& [k, v] : admission_.counters().snapshot()) {
        if (k.rfind("blocked.", 0) == 0)
            blocked.samples.push_back({{{"reason", k.substr(8)}}, static_cast<double>(v)});
        else if (k == "bans.added")
            bans_added.samples.push_back({{}, static_cast<double>(v)});
    }
    out.push_back(std::move(blocked));
    out.push_back(std::move(bans_added));
    out.push_back(gauge("sipproxy_bans_active", "Sources banned now.",
                        static_cast<double>(admission_.bans().size())));

    Family setup{"sipproxy_call_setup_seconds",
                 "Time from INVITE to its 2xx, answered calls.",
                 MetricType::Histogram,
                 {},
                 {{{}, services_.call_metrics.setup_time.snapshot()}}};
    out.push_back(std::move(setup));
    Family pdd{"sipproxy_call_post_dial_delay_seconds",
               "Time from INVITE to its first 18x (post-dial delay).",
               MetricType::Histogram,
               {},
               {{{}, services_.call_metrics.post_dial_delay.snapshot()}}};
    out.push_back(std::move(pdd));

    for (auto& f : metrics::process_families()) out.push_back(std::move(f));
    out.push_back(Family{"sipproxy_build_info",
                         "sipproxyd build: version.",
                         MetricType::Gauge,
                         {{{{"version", SIPPROXY_VERSION}}, 1}},
                         {}});
    return metrics::render(out);
}

using nlohmann::json;

json Daemon::show_stats() const {
    json stats = json::object();
    for (const auto& [k, v] : services_.stats.snapshot()) stats[k] = v;
    std::size_t transactions = 0, failures = 0;
    for (const auto& w : workers_) {
        transactions += w->layer().live();
        failures += w->failures();
    }
    stats["workers.exceptions"] = failures;
    for (const auto& [k, v] : admission_.counters().snapshot()) stats[k] = v;
    stats["bans.active"] = admission_.bans().size();
    std::uint64_t accept_failures = 0, message_timeouts = 0;
    for (const auto& w : workers_) {
        accept_failures += w->transport().accept_failures();
        message_timeouts += w->transport().message_timeouts();
    }
    stats["tcp.accept_failures"] = accept_failures;
    stats["tcp.message_timeouts"] = message_timeouts;
    stats["tcp.connections"] = workers_.empty() ? 0 : workers_.front()->transport().connections();
    stats["transactions.active"] = transactions;
    stats["transactions.pending"] = workers_.empty() ? 0 : workers_.front()->layer().pending();
    stats["calls.active"] = services_.call_events.active();
    stats["registrar.bindings"] = store_->count();
    stats["cdr.written"] = cdr_.written();
    stats["cdr.dropped"] = cdr_.dropped();
    return {{"stats", stats}};
}

}  // namespace sipproxy::daemon
