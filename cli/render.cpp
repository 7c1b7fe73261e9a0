#include "render.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <string>

#include "table.hpp"

namespace sipproxyctl {

namespace {

using nlohmann::json;

// The array `result[key]`, or an empty one.
const json& list(const json& result, const char* key) {
    static const json empty = json::array();
    if (!result.is_object()) return empty;
    auto it = result.find(key);
    return it != result.end() && it->is_array() ? *it : empty;
}

const json& field(const json& object, const char* key) {
    static const json null;
    if (!object.is_object()) return null;
    auto it = object.find(key);
    return it == object.end() ? null : *it;
}

void print_table_or(const Table& table, const char* nothing, std::ostream& out) {
    if (table.empty())
        out << nothing << '\n';
    else
        table.print(out);
}

// "sqlite", or "redis redis://h:6379/0 connected, peers a, b" / "... DOWN: <error>";
// with Sentinel "redis redis+sentinel://s:26379/m/0 connected to primary h:6380 (from
// Sentinel), peers a".
std::string store_text(const json& s) {
    if (!s.is_object()) return "-";
    std::string t = cell(s, "kind");
    if (!s.contains("url")) return t;
    t += " " + cell(s, "url");
    const auto& up = field(s, "connected");
    if (up.is_boolean() && up.get<bool>()) {
        t += " connected";
        if (cell(s, "primary_from") == "sentinel" && field(s, "primary").is_string())
            t += " to primary " + cell(s, "primary") + " (from Sentinel)";
    } else {
        t += " DOWN";
        const auto& e = field(s, "last_error");
        if (e.is_string()) t += ": " + e.get<std::string>();
    }
    std::string peers;
    for (const auto& p : list(s, "peers")) peers += (peers.empty() ? "" : ", ") + cell(p);
    t += ", peers " + (peers.empty() ? std::string("none seen") : peers);
    return t;
}

void status(const json&, const json& r, std::ostream& out) {
    const auto& counts = field(r, "counts");
    std::string listeners;
    for (const auto& l : list(r, "listeners"))
        listeners += (listeners.empty() ? "" : ", ") + cell(l);
    const auto& auth = field(r, "auth_enabled");
    std::vector<std::pair<std::string, std::string>> rows{
        {"version", cell(r, "version")},
        {"pid", cell(r, "pid")},
        {"uptime", duration(field(r, "uptime_s"))},
        {"config", cell(r, "config_file")},
        {"workers", cell(r, "workers")},
        {"auth", auth.is_boolean() ? (auth.get<bool>() ? "enabled" : "disabled") : "-"},
        {"listeners", listeners.empty() ? "-" : listeners},
        {"node", cell(r, "node_id")},
        {"store", store_text(field(r, "store"))},
        {"registrations",
         cell(counts, "registrations") + " AORs, " + cell(counts, "bindings") + " bindings"},
        {"transactions", cell(counts, "transactions")},
        {"calls", cell(counts, "calls")},
    };
    // One line per TLS certificate served, with its expiry.
    for (const auto& c : list(r, "tls_certificates")) {
        const auto& name = field(c, "name");
        const auto& left = field(c, "expires_in_s");
        std::string line = cell(c, "file");
        if (name.is_string()) line += " (SNI " + name.get<std::string>() + ")";
        line += " until " + cell(c, "not_after");
        if (left.is_number_integer())
            line += left.get<long long>() < 0 ? " EXPIRED"
                                              : " (" + std::to_string(left.get<long long>() / 86400) + " days)";
        rows.emplace_back("certificate", line);
    }
    std::size_t width = 0;
    for (const auto& [k, v] : rows) width = std::max(width, k.size());
    for (const auto& [k, v] : rows)
        out << k << ':' << std::string(width - k.size() + 2, ' ') << v << '\n';
}

void registrations(const json& args, const json& r, std::ostream& out) {
    Table t = registrations_table();
    for (const auto& b : list(r, "registrations")) t.add_row(registration_row(b));
    std::string nothing = "no registrations";
    if (args.contains("aor")) nothing += " for " + cell(args["aor"]);
    print_table_or(t, nothing.c_str(), out);
}

void routes(const json&, const json& r, std::ostream& out) {
    Table t({"NAME", "MATCH", "STRIP", "PREFIX", "GATEWAYS", "STRATEGY"});
    t.align_right(2);
    for (const auto& route : list(r, "routes"))
        t.add_row({cell(route, "name"), cell(route, "match"), cell(route, "strip"),
                   cell(route, "prefix"), cell(route, "gateways"), cell(route, "strategy")});
    print_table_or(t, "no routes", out);
}

void gateways(const json&, const json& r, std::ostream& out) {
    Table t({"NAME", "URI", "STATE", "LAST-PROBE", "LAST-RESULT"});
    for (const auto& g : list(r, "gateways"))
        t.add_row({cell(g, "name"), cell(g, "uri"), cell(g, "state"), cell(g, "last_probe"),
                   cell(g, "last_result")});
    print_table_or(t, "no gateways", out);
}

void calls(const json&, const json& r, std::ostream& out) {
    Table t({"CALL-ID", "CALLER", "CALLEE", "STATE", "DURATION"});
    t.align_right(4);
    for (const auto& c : list(r, "calls"))
        t.add_row({cell(c, "call_id"), cell(c, "caller"), cell(c, "callee"), cell(c, "state"),
                   duration(field(c, "duration_s"))});
    print_table_or(t, "no calls", out);
}

void stats(const json&, const json& r, std::ostream& out) {
    Table t({"COUNTER", "VALUE"});
    t.align_right(1);
    const auto& counters = field(r, "stats");
    if (counters.is_object())
        for (const auto& [name, value] : counters.items())
            t.add_row({cell(json(name)), cell(value)});
    print_table_or(t, "no counters", out);
}

void bans(const json&, const json& r, std::ostream& out) {
    Table t({"NETWORK", "REASON", "SINCE", "UNTIL", "EXPIRES", "HITS", "ORIGIN", "NOTE"});
    t.align_right(4);
    t.align_right(5);
    for (const auto& b : list(r, "bans")) {
        const auto& until = field(b, "until");
        t.add_row({cell(b, "network"), cell(b, "reason"), cell(b, "since"),
                   until.is_null() ? "never" : cell(until),
                   until.is_null() ? "-" : duration(field(b, "expires_in")), cell(b, "hits"),
                   cell(b, "origin"), cell(b, "note")});
    }
    print_table_or(t, "no bans", out);
}

void limits(const json& args, const json& r, std::ostream& out) {
    Table t({"USER", "ROUTE", "SCOPE", "LIMIT", "VALUE", "WARNING", "CRITICAL"});
    for (std::size_t c : {4, 5, 6}) t.align_right(c);
    for (const auto& l : list(r, "limits"))
        t.add_row({cell(l, "user"), cell(l, "route"), cell(l, "scope"), cell(l, "limit"),
                   cell(l, "value"), cell(l, "warning"), cell(l, "critical")});
    std::string nothing = "no fraud limits";
    nothing += args.contains("user") ? " for " + cell(args["user"]) : " counting";
    print_table_or(t, nothing.c_str(), out);
}

void ban_add(const json& args, const json& r, std::ostream& out) {
    out << "banned " << cell(r, "network");
    if (args.contains("duration"))
        out << " for " << duration(args["duration"]);
    else
        out << " until removed";
    out << '\n';
}

void ban_remove(const json&, const json& r, std::ostream& out) {
    out << "ban on " << cell(r, "network") << " lifted\n";
}

// One value of a reload change as the daemon's log writes it: true/false, [a, b].
std::string change_value(const json& v) {
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_array()) {
        std::string s = "[";
        for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + cell(v[i]);
        return s + "]";
    }
    return cell(v);
}

// {key, old, new} -> "key: old -> new", "key: added X" (old null), "key: removed X".
std::string change_text(const json& c) {
    if (!c.is_object()) return cell(c);
    const std::string key = cell(c, "key");
    const auto& before = field(c, "old");
    const auto& after = field(c, "new");
    if (before.is_null()) return key + ": added " + change_value(after);
    if (after.is_null()) return key + ": removed " + change_value(before);
    if (before == "<hidden>" && after == "<hidden>") return key + ": changed";
    return key + ": " + change_value(before) + " -> " + change_value(after);
}

void reload(const json&, const json& r, std::ostream& out) {
    const auto& changed = list(r, "changed");
    if (changed.empty()) {
        out << "reloaded: no changes\n";
    } else {
        out << "reloaded: " << changed.size() << (changed.size() == 1 ? " change\n" : " changes\n");
        for (const auto& c : changed) out << "  " << change_text(c) << '\n';
    }
    // Keys read only at start: the running daemon still uses the old value.
    for (const auto& key : list(r, "restart_needed"))
        out << "restart needed: " << cell(key) << " changed: takes effect at the next start\n";
}

void registration_add(const json& args, const json&, std::ostream& out) {
    out << "added " << cell(args, "contact") << " to " << cell(args, "aor") << '\n';
}

void registration_remove(const json& args, const json& r, std::ostream& out) {
    const auto& n = field(r, "removed");
    out << "removed " << cell(n) << (n == 1 ? " binding" : " bindings") << " of "
        << cell(args, "aor") << '\n';
}

void gateway_enable(const json& args, const json&, std::ostream& out) {
    out << "gateway " << cell(args, "name") << " enabled\n";
}

void gateway_disable(const json& args, const json&, std::ostream& out) {
    out << "gateway " << cell(args, "name") << " disabled\n";
}

void users(const json&, const json& r, std::ostream& out) {
    Table t({"USER", "SOURCE", "MD5", "SHA-256"});
    for (const auto& u : list(r, "users"))
        t.add_row({cell(u, "user"), cell(u, "source"), cell(u, "md5"), cell(u, "sha256")});
    print_table_or(t, "no users", out);
}

void user_changed(const char* what, const json& args, std::ostream& out) {
    out << "user " << cell(args, "user") << ' ' << what << '\n';
}

using Renderer = std::function<void(const json& args, const json& result, std::ostream&)>;

const std::map<std::string_view, Renderer>& renderers() {
    static const std::map<std::string_view, Renderer> table{
        {"status", status},
        {"show_registrations", registrations},
        {"show_routes", routes},
        {"show_gateways", gateways},
        {"show_calls", calls},
        {"show_stats", stats},
        {"show_bans", bans},
        {"show_limits", limits},
        {"ban_add", ban_add},
        {"ban_remove", ban_remove},
        {"reload", reload},
        {"registration_add", registration_add},
        {"registration_remove", registration_remove},
        {"gateway_enable", gateway_enable},
        {"gateway_disable", gateway_disable},
        {"user_list", users},
        {"call_end",
         [](const json& a, const json&, std::ostream& o) {
             o << "call " << cell(a, "call_id") << " ended\n";
         }},
        {"user_add", [](const json& a, const json&, std::ostream& o) { user_changed("added", a, o); }},
        {"user_passwd",
         [](const json& a, const json&, std::ostream& o) { user_changed("changed", a, o); }},
        {"user_remove",
         [](const json& a, const json&, std::ostream& o) { user_changed("removed", a, o); }},
    };
    return table;
}

}  // namespace

std::string q_value(const json& q) {
    if (!q.is_number()) return cell(q);
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", q.get<double>());
    std::string s = text;
    while (s.size() > 3 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
    return s;
}

Table registrations_table() {
    Table t({"AOR", "CONTACT", "EXPIRES", "Q", "TRANSPORT", "SOURCE", "NODE", "USER-AGENT"});
    t.align_right(2);
    return t;
}

std::vector<std::string> registration_row(const json& b) {
    return {cell(b, "aor"),         cell(b, "contact"),   duration(field(b, "expires_in")),
            q_value(field(b, "q")), cell(b, "transport"), cell(b, "source"),
            cell(b, "node"),        cell(b, "user_agent")};
}

void print_human(std::string_view cmd, const json& args, const json& result, std::ostream& out) {
    const auto& all = renderers();
    if (auto it = all.find(cmd); it != all.end())
        it->second(args, result, out);
    else
        out << json_text(result) << '\n';
}

}  // namespace sipproxyctl
