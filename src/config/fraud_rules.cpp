// [[fraud]]: who (user = "*" or a name), which calls (route, or every call), counted how
// (scope = "user": each user apart; "total": all users together), and the limits, each
// an inline table { warning = N, critical = M }.
#include "config/fraud_rules.hpp"

#include <algorithm>

namespace sipproxy::config::detail {

namespace {

constexpr std::int64_t kMaxThreshold = 1000000000;

int line_of(const toml::node* n) {
    return n && n->source().begin ? static_cast<int>(n->source().begin.line) : 0;
}

// `key = { warning = N, critical = M }`: at least one of the two; warning <= critical.
void threshold(Errors& errors, TableReader& t, const char* key, FraudThreshold& out) {
    const toml::table* table = sub_table(t, key);
    if (!table) return;
    TableReader l(errors, table, t.key_path(key));
    l.get_uint("warning", out.warning, 1, kMaxThreshold);
    l.get_uint("critical", out.critical, 1, kMaxThreshold);
    if (table->empty())
        t.fail(key, "expected { warning = N, critical = M } (one of them at least)");
    else if (out.warning && out.critical && out.warning > out.critical)
        l.fail("warning", "must be at most critical (" + std::to_string(out.critical) + ")");
    l.finish();
}

}  // namespace

void read_fraud_rules(Errors& errors, TableReader& root, Config& config) {
    auto tables = table_array(root, "fraud");
    for (std::size_t i = 0; i < tables.size(); ++i) {
        TableReader t(errors, tables[i], "fraud[" + std::to_string(i) + "]");
        FraudRule r;
        r.line = line_of(tables[i]);
        if (t.get("user", r.user) &&
            (r.user.empty() ||
             (r.user != "*" && r.user.find_first_of(":\"@ \t*") != std::string::npos)))
            t.fail("user", "expected \"*\" (every user) or a user name, got '" + r.user + "'");
        if (t.get("route", r.route) &&
            !std::any_of(config.routes.begin(), config.routes.end(),
                         [&](const Route& x) { return x.name == r.route; }))
            t.fail("route", "names route '" + r.route + "', which is not defined in [[routes]]");
        std::string scope = "user";
        if (t.get("scope", scope)) {
            if (scope == "total")
                r.total = true;
            else if (scope != "user")
                t.fail("scope",
                       "expected \"user\" (each user apart) or \"total\" (all users "
                       "together), got '" +
                           scope + "'");
        }
        if (r.total && r.user != "*")
            t.fail("user",
                   "scope = \"total\" counts every user's calls together: user must be "
                   "\"*\" (or leave scope out to limit " +
                       r.user + " alone)");
        threshold(errors, t, "calls_per_minute", r.calls_per_minute);
        threshold(errors, t, "calls_per_day", r.calls_per_day);
        threshold(errors, t, "concurrent_calls", r.concurrent_calls);
        // No limit key at all (an unknown key such as calls_per_hour is reported as such).
        if (std::none_of(tables[i]->begin(), tables[i]->end(),
                         [](const auto& kv) {
                             const auto k = kv.first.str();
                             return k == "calls_per_minute" || k == "calls_per_day" ||
                                    k == "concurrent_calls";
                         }) &&
            std::all_of(tables[i]->begin(), tables[i]->end(), [](const auto& kv) {
                const auto k = kv.first.str();
                return k == "user" || k == "route" || k == "scope";
            }))
            t.fail("", "sets no limit (calls_per_minute, calls_per_day or concurrent_calls)");
        if (!config.auth)
            t.fail("",
                   "needs an [auth] section (fraud limits apply to authenticated users; "
                   "without [auth] nobody is)");
        auto same = std::find_if(config.fraud.begin(), config.fraud.end(), [&](const FraudRule& o) {
            return o.user == r.user && o.route == r.route && o.total == r.total;
        });
        if (same != config.fraud.end())
            t.fail("", "a second rule for the same user, route and scope (the first is at line " +
                           std::to_string(same->line) + ")");
        t.finish();
        config.fraud.push_back(std::move(r));
    }
}

}  // namespace sipproxy::config::detail
