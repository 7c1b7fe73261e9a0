// `sipproxyctl show bans`, `ban add|remove`: the ingress's ban table seen and changed by
// the operator.
#include "daemon/daemon.hpp"

#include <algorithm>
#include <ctime>

namespace sipproxy::daemon {

using nlohmann::json;

namespace {

std::string utc_text(ingress::WallClock::time_point t) {
    std::time_t tt = ingress::WallClock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

Cidr cidr_argument(const json& args) {
    auto text = control::required_string(args, "network");
    auto c = Cidr::parse(text);
    if (!c) throw control::CommandError(c.error());
    return *c;
}

}  // namespace

json Daemon::show_bans() const {
    json bans = json::array();
    const auto now = ingress::WallClock::now();
    auto list = admission_.bans().list();
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.since < b.since; });
    for (const auto& b : list) {
        json until = nullptr, left = nullptr;
        if (!b.forever) {
            until = utc_text(b.until);
            left = std::max<long long>(
                0, std::chrono::duration_cast<std::chrono::seconds>(b.until - now).count());
        }
        bans.push_back({{"network", b.network},
                        {"reason", b.reason},
                        {"note", control::text_or_null(b.note)},
                        {"since", utc_text(b.since)},
                        {"until", until},
                        {"expires_in", left},
                        {"hits", b.hits},
                        {"origin", control::text_or_null(b.origin)}});
    }
    return {{"bans", bans}};
}

json Daemon::ban_add(const json& args) {
    ingress::BanTable::Request r;
    r.network = cidr_argument(args);
    r.reason = "operator";
    r.note = control::optional_string(args, "reason").value_or("");
    r.automatic = false;
    if (auto d = control::optional_integer(args, "duration")) {
        if (*d < 0 || *d > 10LL * 365 * 86400)
            throw control::CommandError("duration must be 0 (until removed) to 3650 days, in seconds");
        r.duration = std::chrono::seconds(*d);
    }
    admission_.bans().add(r);
    save_bans(true);
    return {{"network", ingress::network_text(r.network)}};
}

json Daemon::ban_remove(const json& args) {
    const auto network = cidr_argument(args);
    if (!admission_.bans().remove(network))
        throw control::CommandError("no ban on " + ingress::network_text(network));
    save_bans(true);
    return {{"network", ingress::network_text(network)}};
}

}  // namespace sipproxy::daemon
