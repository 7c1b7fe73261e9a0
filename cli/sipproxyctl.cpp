// sipproxyctl: the admin CLI. Parses the command line, sends one request over the control
// socket (docs/control-protocol.md) and prints the result for humans or, with --json, as
// is for scripts. Exit status: 0 ok, 1 the command failed, 2 usage error, 3 the daemon
// cannot be reached.
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "config_file.hpp"
#include "control_client.hpp"
#include "duration.hpp"
#include "list_registrations.hpp"
#include "render.hpp"
#include "table.hpp"
#include "trace.hpp"

#ifndef SIPPROXY_VERSION
#define SIPPROXY_VERSION "0.1.0"
#endif

namespace {

using nlohmann::json;

enum ExitStatus { exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_unreachable = 3 };

struct Options {
    std::string config_file;  // -c; empty: not given
    std::string socket;       // --socket; empty: not given
    bool json = false;
    double timeout_s = 5;
};

// What the command line asks for: a control request, or `config check`.
struct Invocation {
    std::string cmd;  // control command name, or "config check"
    json args = json::object();
    std::string check_file;
    std::optional<sipproxyctl::ListOptions> listing;  // show registrations without an AOR
};

void print_json(const json& value) {
    std::cout << sipproxyctl::json_text(value) << '\n';
}

std::optional<std::string> given(const std::string& value) {
    if (value.empty()) return std::nullopt;
    return value;
}

// `config check [FILE]`: validates locally, no daemon involved.
int config_check(const Options& options, const std::string& file_arg) {
    std::string file = !file_arg.empty()              ? file_arg
                       : !options.config_file.empty() ? options.config_file
                                                      : sipproxyctl::default_config_path().string();
    auto loaded = sipproxy::config::load_file(file);
    if (options.json) {
        json out{{"file", file}, {"ok", loaded.has_value()}};
        if (!loaded) {
            const auto& e = loaded.error();
            out["error"] = {{"file", e.file}, {"line", e.line},       {"column", e.column},
                            {"key", e.key},   {"message", e.message}, {"text", e.to_string()}};
        }
        print_json(out);
    } else if (loaded) {
        std::cout << file << ": OK\n";
    }
    // The warnings sipproxyd would log at start (e.g. no [auth]: nobody is authenticated).
    if (loaded)
        for (const auto& w : (*loaded)->warnings) std::cerr << file << ": warning: " << w << '\n';
    if (!loaded) {
        std::cerr << loaded.error().to_string() << '\n';
        return exit_failed;
    }
    return exit_ok;
}

int control_command(const Options& options, const Invocation& what) {
    if (what.cmd == "reload" && options.socket.empty()) {
        // The daemon would reject this file: say why here, not "cannot find the socket".
        const auto file = !options.config_file.empty() ? options.config_file
                                                       : sipproxyctl::default_config_path().string();
        auto loaded = sipproxy::config::load_file(file);
        if (!loaded) {
            std::cerr << "sipproxyctl: reload: " << loaded.error().to_string()
                      << " (nothing sent: sipproxyd keeps its running configuration)\n";
            return exit_failed;
        }
    }
    auto socket = sipproxyctl::find_socket(given(options.socket), given(options.config_file));
    if (!socket) {
        std::cerr << "sipproxyctl: " << socket.error() << '\n';
        return exit_failed;
    }
    try {
        auto timeout = std::chrono::milliseconds(static_cast<long long>(options.timeout_s * 1000));
        sipproxyctl::ControlClient client(*socket, timeout);
        if (what.listing) {
            auto listing = *what.listing;
            listing.json = options.json;
            sipproxyctl::list_registrations(client, listing, std::cout);
            return exit_ok;
        }
        if (what.cmd == "trace") {
            sipproxyctl::trace(client, what.args, options.json, std::cout);
            return exit_ok;  // Ctrl-C
        }
        json response = client.call(what.cmd, what.args);
        if (!response["ok"].get<bool>()) {
            const auto& error = response.value("error", json("(no message)"));
            std::cerr << "sipproxyctl: "
                      << sipproxyctl::printable(error.is_string() ? error.get<std::string>() : error.dump())
                      << '\n';
            return exit_failed;
        }
        json result = response.value("result", json::object());
        if (options.json)
            print_json(result);
        else
            sipproxyctl::print_human(what.cmd, what.args, result, std::cout);
        return exit_ok;
    } catch (const sipproxyctl::Unreachable& e) {
        std::cerr << "sipproxyctl: " << sipproxyctl::printable(e.what()) << '\n';
        return exit_unreachable;
    } catch (const sipproxyctl::BadReply& e) {
        std::cerr << "sipproxyctl: " << sipproxyctl::printable(e.what()) << '\n';
        return exit_failed;
    } catch (const sipproxyctl::CommandFailed& e) {
        std::cerr << "sipproxyctl: " << sipproxyctl::printable(e.what()) << '\n';
        return exit_failed;
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Control a running sipproxyd (SIP proxy and registrar) over its control socket.",
                 "sipproxyctl"};
    app.footer(
        "Exit status: 0 ok, 1 the command failed, 2 usage error, 3 sipproxyd unreachable.\n"
        "See sipproxyctl(8).");
    // Global options may also follow the command: `sipproxyctl show calls --json`.
    app.fallthrough();
    app.require_subcommand(1, 1);
    app.set_version_flag("--version", "sipproxyctl " SIPPROXY_VERSION);

    Options options;
    auto* config_opt =
        app.add_option("-c,--config", options.config_file,
                       "config file naming the control socket (default: ./conf/sipproxy.toml "
                       "if it exists, else the installed one: /etc/sipproxy/sipproxy.toml, or "
                       "PREFIX/etc/sipproxy/sipproxy.toml outside /usr)")
            ->type_name("FILE");
    app.add_option("--socket", options.socket, "control socket to use (overrides -c)")
        ->type_name("PATH")
        ->excludes(config_opt);
    app.add_flag("--json", options.json, "print the result as JSON, for scripts");
    app.add_option("--timeout", options.timeout_s,
                   "seconds to wait for sipproxyd to accept and answer (default 5)")
        ->type_name("SECONDS")
        ->check(CLI::PositiveNumber);

    Invocation what;
    auto set = [&what](std::string cmd) { return [&what, cmd] { what.cmd = cmd; }; };

    app.add_subcommand("status", "version, uptime, listeners and counts")->callback(set("status"));

    auto* show = app.add_subcommand("show", "show live state")->require_subcommand(1, 1);
    std::string aor_filter;
    sipproxyctl::ListOptions listing;
    auto* regs = show->add_subcommand("registrations", "bindings: AOR, contact, expires, q, ...");
    auto* aor_opt = regs->add_option("AOR", aor_filter, "only this address-of-record");
    regs->add_option("--limit", listing.limit,
                     "at most N addresses-of-record (each with all its bindings)")
        ->type_name("N")
        ->check(CLI::PositiveNumber)
        ->excludes(aor_opt);
    regs->add_option("--after", listing.after,
                     "only addresses-of-record after this one (the \"next\" of an earlier "
                     "--json listing)")
        ->type_name("AOR")
        ->excludes(aor_opt);
    regs->add_option("--page-size", listing.page_size,
                     "addresses-of-record fetched per request (default 1000)")
        ->type_name("N")
        ->check(CLI::PositiveNumber)
        ->excludes(aor_opt);
    regs->callback([&] {
        what.cmd = "show_registrations";
        if (!aor_filter.empty())
            what.args["aor"] = aor_filter;
        else
            what.listing = listing;
    });
    show->add_subcommand("routes", "route table in match order")->callback(set("show_routes"));
    show->add_subcommand("gateways", "gateways, state and last probe")
        ->callback(set("show_gateways"));
    show->add_subcommand("calls", "active calls (dialogs)")->callback(set("show_calls"));
    show->add_subcommand("stats", "counters")->callback(set("show_stats"));
    show->add_subcommand("bans", "banned sources: network, reason, since, until, hits")
        ->callback(set("show_bans"));
    std::string limits_user;
    auto* limits = show->add_subcommand(
        "limits", "fraud-limit counters per user and route: value, warning, critical");
    limits->add_option("USER", limits_user, "only this user's limits (zeros when idle)");
    limits->callback([&] {
        what.cmd = "show_limits";
        if (!limits_user.empty()) what.args["user"] = limits_user;
    });

    app.add_subcommand("reload", "re-read the config file; print what changed or the error")
        ->callback(set("reload"));

    auto* registration =
        app.add_subcommand("registration", "add or remove bindings")->require_subcommand(1, 1);
    std::string reg_aor, reg_contact;
    long long expires = -1;
    auto* add = registration->add_subcommand("add", "add a static binding");
    add->add_option("AOR", reg_aor, "address-of-record, e.g. sip:alice@example.test")->required();
    add->add_option("CONTACT", reg_contact, "contact URI, e.g. sip:alice@192.0.2.10:5060")
        ->required();
    add->add_option("--expires", expires, "seconds (default: registrar.default_expires)")
        ->type_name("N")
        ->check(CLI::NonNegativeNumber);
    add->callback([&] {
        what.cmd = "registration_add";
        what.args = {{"aor", reg_aor}, {"contact", reg_contact}};
        if (expires >= 0) what.args["expires"] = expires;
    });
    auto* remove = registration->add_subcommand("remove", "remove one binding, or all of an AOR");
    remove->add_option("AOR", reg_aor, "address-of-record")->required();
    remove->add_option("CONTACT", reg_contact, "only this contact");
    remove->callback([&] {
        what.cmd = "registration_remove";
        what.args = {{"aor", reg_aor}};
        if (!reg_contact.empty()) what.args["contact"] = reg_contact;
    });

    auto* gateway =
        app.add_subcommand("gateway", "enable or disable a gateway")->require_subcommand(1, 1);
    std::string gateway_name;
    auto* enable =
        gateway->add_subcommand("enable", "use the gateway again (probes decide up/down)");
    enable->add_option("NAME", gateway_name, "gateway name")->required();
    enable->callback([&] {
        what.cmd = "gateway_enable";
        what.args = {{"name", gateway_name}};
    });
    auto* disable = gateway->add_subcommand("disable", "stop routing to the gateway");
    disable->add_option("NAME", gateway_name, "gateway name")->required();
    disable->callback([&] {
        what.cmd = "gateway_disable";
        what.args = {{"name", gateway_name}};
    });

    auto* call = app.add_subcommand("call", "calls in the daemon's table")->require_subcommand(1, 1);
    std::string call_id;
    auto* call_end = call->add_subcommand(
        "end", "remove a call whose BYE bypassed the proxy (its record ends; no BYE is sent)");
    call_end->add_option("CALL-ID", call_id, "the Call-ID, as show calls prints it")->required();
    call_end->callback([&] {
        what.cmd = "call_end";
        what.args = {{"call_id", call_id}};
    });

    // Users in the daemon's user database (HA1 only; the password is read from standard
    // input, never from the command line where `ps` shows it).
    auto* user = app.add_subcommand("user", "users in the user database (users.db)")
                     ->require_subcommand(1, 1);
    std::string user_name, ha1_md5, ha1_sha256;
    bool password_stdin = false;
    bool password_error = false;
    auto credentials = [&](CLI::App* sub) {
        auto* pw = sub->add_flag("--password-stdin", password_stdin,
                                 "read the password from the first line of standard input");
        sub->add_option("--ha1-md5", ha1_md5, "MD5 of user:realm:password (32 hex digits)")
            ->type_name("HEX")
            ->excludes(pw);
        sub->add_option("--ha1-sha256", ha1_sha256,
                        "SHA-256 of user:realm:password (64 hex digits)")
            ->type_name("HEX")
            ->excludes(pw);
    };
    auto user_args = [&](const char* cmd) {
        what.cmd = cmd;
        what.args = {{"user", user_name}};
        if (password_stdin) {
            std::string password;
            if (!std::getline(std::cin, password) || password.empty()) password_error = true;
            if (!password.empty() && password.back() == '\r') password.pop_back();
            what.args["password"] = password;
        } else {
            if (!ha1_md5.empty()) what.args["ha1_md5"] = ha1_md5;
            if (!ha1_sha256.empty()) what.args["ha1_sha256"] = ha1_sha256;
            if (ha1_md5.empty() && ha1_sha256.empty()) password_error = true;
        }
    };
    auto* user_add = user->add_subcommand("add", "add a user");
    user_add->add_option("USER", user_name, "user name (the user part of its address)")->required();
    credentials(user_add);
    user_add->callback([&] { user_args("user_add"); });
    auto* user_passwd = user->add_subcommand("passwd", "change a user's password or HA1s");
    user_passwd->add_option("USER", user_name, "user name")->required();
    credentials(user_passwd);
    user_passwd->callback([&] { user_args("user_passwd"); });
    auto* user_remove = user->add_subcommand("remove", "remove a user");
    user_remove->add_option("USER", user_name, "user name")->required();
    user_remove->callback([&] {
        what.cmd = "user_remove";
        what.args = {{"user", user_name}};
    });
    user->add_subcommand("list", "users of the config file and of the database")
        ->callback(set("user_list"));
    auto* ban = app.add_subcommand("ban", "ban or unban a source (address or CIDR)")
                    ->require_subcommand(1, 1);
    std::string ban_network, ban_for, ban_reason;
    auto* ban_add = ban->add_subcommand("add", "drop everything from a network, on every worker");
    ban_add->add_option("CIDR", ban_network, "address or network, e.g. 192.0.2.7 or 192.0.2.0/24")
        ->required();
    ban_add->add_option("--for", ban_for,
                        "how long: 300, 90s, 10m, 2h, 7d (default: until `ban remove`)")
        ->type_name("DURATION");
    ban_add->add_option("--reason", ban_reason, "a note shown by `show bans`")->type_name("TEXT");
    ban_add->callback([&] {
        what.cmd = "ban_add";
        what.args = {{"network", ban_network}};
        if (!ban_for.empty()) {
            auto seconds = sipproxyctl::parse_duration(ban_for);
            if (!seconds) throw CLI::ValidationError("--for", "expected a duration such as 300, 90s, 10m, 2h or 7d, got '" + ban_for + "'");
            what.args["duration"] = *seconds;
        }
        if (!ban_reason.empty()) what.args["reason"] = ban_reason;
    });
    auto* ban_remove = ban->add_subcommand("remove", "lift a ban at once");
    ban_remove->add_option("CIDR", ban_network, "the banned address or network, as `show bans` shows it")
        ->required();
    ban_remove->callback([&] {
        what.cmd = "ban_remove";
        what.args = {{"network", ban_network}};
    });

    auto* trace = app.add_subcommand(
        "trace", "live SIP messages in and out of sipproxyd, until Ctrl-C (filters: all must hold)");
    std::string trace_call_id, trace_user, trace_source;
    trace->add_option("--call-id", trace_call_id, "only this call (exact Call-ID)")->type_name("ID");
    trace->add_option("--user", trace_user,
                      "only calls whose From or To URI has this user part, e.g. alice")
        ->type_name("USER");
    trace->add_option("--source", trace_source,
                      "only calls whose messages come from this network, e.g. 192.0.2.0/24")
        ->type_name("CIDR");
    trace->callback([&] {
        what.cmd = "trace";
        if (!trace_call_id.empty()) what.args["call_id"] = trace_call_id;
        if (!trace_user.empty()) what.args["user"] = trace_user;
        if (!trace_source.empty()) what.args["source"] = trace_source;
    });

    auto* config = app.add_subcommand("config", "configuration files")->require_subcommand(1, 1);
    auto* check = config->add_subcommand(
        "check", "validate a config file locally (default: -c FILE or the default config)");
    check->add_option("FILE", what.check_file, "config file to check");
    check->callback([&] { what.cmd = "config check"; });

    try {
        app.parse(argc, argv);
    } catch (const CLI::RequiredError& e) {
        // CLI11 says "A subcommand is required" for a mistyped command too: name the word
        // it did not know, and the commands there are.
        const CLI::App* at = &app;
        for (auto* sub = at->get_subcommands().empty() ? nullptr : at->get_subcommands().front();
             sub; sub = sub->get_subcommands().empty() ? nullptr : sub->get_subcommands().front())
            at = sub;
        std::string known;
        for (const auto* sub : at->get_subcommands({}))
            known += (known.empty() ? "" : ", ") + sub->get_name();
        const auto extra = app.remaining(true);
        if (!extra.empty())
            std::cerr << "sipproxyctl: unknown command '" << sipproxyctl::printable(extra.front())
                      << "' (one of: " << known << ")\n";
        else
            std::cerr << "sipproxyctl: " << (at == &app ? std::string("a command") : at->get_name() +
                                                 ": a subcommand") << " is required (one of: "
                      << known << ")\n";
        std::cerr << "Run with --help for more information.\n";
        return exit_usage;
    } catch (const CLI::ParseError& e) {
        // --help and --version are "errors" with exit code 0; every real one is a usage error.
        return app.exit(e) == 0 ? exit_ok : exit_usage;
    }

    if (password_error) {
        std::cerr << "sipproxyctl: " << what.cmd.substr(5)
                  << ": give --password-stdin (and a password on standard input) or "
                     "--ha1-md5/--ha1-sha256\n";
        return exit_usage;
    }
    if (what.cmd == "config check") return config_check(options, what.check_file);
    return control_command(options, what);
}
