// `sipproxyctl show registrations`, `registration add|remove`: the location store seen and
// changed by the operator.
#include "daemon/daemon.hpp"

#include <limits>

#include "base/log.hpp"
#include "proxy/pending_commit.hpp"
#include "proxy/registration_log.hpp"
#include "registrar/registrar.hpp"

namespace sipproxy::daemon {

using nlohmann::json;

namespace {

std::string aor_argument(std::string s) {
    if (s.rfind("sip:", 0) == 0) s = s.substr(4);
    if (s.find('@') == std::string::npos)
        throw control::CommandError("AOR must be user@domain, got '" + s + "'");
    return registrar::canonical_aor(s);
}

// A REGISTER made by the operator for one contact: a fresh Call-ID each time, so the
// registrar's Call-ID/CSeq ordering never refuses it.
registrar::RegisterRequest operator_register(std::string aor, std::string contact,
                                             std::optional<std::uint32_t> expires) {
    if (contact.size() > 2 && contact.front() == '<' && contact.back() == '>')
        contact = contact.substr(1, contact.size() - 2);
    registrar::RegisterRequest req;
    req.aor = std::move(aor);
    registrar::ContactSpec c;
    c.uri = std::move(contact);
    c.expires = expires;
    req.contacts.push_back(std::move(c));
    req.call_id = "sipproxyctl-" +
                  std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    req.cseq = 1;
    req.source.transport = "udp";
    req.user_agent = "sipproxyctl";
    return req;
}

// A LocationStore::Committed callback completing `commit`.
registrar::LocationStore::Committed completes(const std::shared_ptr<proxy::PendingCommit>& commit) {
    return [commit](const std::string& error) { commit->complete(error); };
}

// Waits, without blocking the control loop, until the change is on disk; a failed write
// (undone by the store) is the command's failure.
asio::awaitable<void> wait_until_saved(std::shared_ptr<proxy::PendingCommit> commit) {
    std::string error = co_await commit->wait();
    if (!error.empty())
        throw control::CommandError("not saved: location store write failed: " + error);
}


}  // namespace

json Daemon::show_registrations(const json& args) const {
    // Without `aor` the listing pages by AOR: `limit` AORs after the `after` cursor, and
    // `next` to continue from (docs/control-protocol.md).
    auto aor = control::optional_string(args, "aor");
    auto after = control::optional_string(args, "after");
    auto limit = control::optional_integer(args, "limit");
    if (limit && *limit < 1) throw control::CommandError("limit must be at least 1");
    const auto now = std::chrono::system_clock::now();
    std::vector<registrar::Binding> list;
    json next = nullptr;
    if (aor) {
        list = store_->lookup(aor_argument(*aor), now);
    } else {
        auto page = store_->list_after(
            after ? aor_argument(*after) : std::string(), now,
            limit ? static_cast<std::size_t>(*limit) : std::numeric_limits<std::size_t>::max());
        list = std::move(page.bindings);
        if (!page.next.empty()) next = "sip:" + page.next;
    }
    json regs = json::array();
    for (const auto& b : list) {
        json path = json::array();
        for (const auto& p : b.path) path.push_back(p);
        std::string source;
        if (!b.source_address.empty())
            source = (b.source_address.find(':') != std::string::npos ? "[" + b.source_address + "]"
                                                                       : b.source_address) +
                     ":" + std::to_string(b.source_port);
        regs.push_back({{"aor", "sip:" + b.aor},
                        {"contact", b.contact},
                        {"expires_in", b.expires_in(now)},
                        {"q", b.q_permille / 1000.0},
                        {"transport", b.transport},
                        {"source", control::text_or_null(source)},
                        {"user_agent", control::text_or_null(b.user_agent)},
                        {"instance", control::text_or_null(b.instance)},
                        {"path", path},
                        {"node", b.node.empty() ? config_->server.node_id : b.node}});
    }
    json result{{"registrations", regs}};
    // Only a client that pages gets `next`: the answer to the old request is unchanged.
    if (!aor && (limit || after)) result["next"] = next;
    return result;
}


asio::awaitable<json> Daemon::registration_add(json args) {
    std::optional<std::uint32_t> expires;
    if (auto e = control::optional_integer(args, "expires")) {
        if (*e <= 0 || *e > 0xffffffffll) throw control::CommandError("expires must be > 0");
        expires = static_cast<std::uint32_t>(*e);
    }
    auto req = operator_register(aor_argument(control::required_string(args, "aor")),
                                 control::required_string(args, "contact"), expires);
    const auto& uri = req.contacts.front().uri;
    if (uri.rfind("sip:", 0) != 0 && uri.rfind("sips:", 0) != 0)
        throw control::CommandError("contact must be a sip: or sips: URI, got '" + uri + "'");
    auto commit = std::make_shared<proxy::PendingCommit>();
    auto r = services_.snapshots.get()->registrar->handle(req, completes(commit));
    if (!r.ok())
        throw control::CommandError(std::to_string(r.status) + " " + r.reason +
                                    (r.status == 423 ? " (min_expires " +
                                                           std::to_string(r.min_expires) + ")"
                                                     : ""));
    co_await wait_until_saved(commit);
    for (const auto& line : proxy::change_lines(r.changes, "-", req.user_agent, "operator"))
        log::info("{}", line);
    co_return json::object();
}

asio::awaitable<json> Daemon::registration_remove(json args) {
    const auto aor = aor_argument(control::required_string(args, "aor"));
    auto contact = control::optional_string(args, "contact");
    auto commit = std::make_shared<proxy::PendingCommit>();
    std::size_t removed = 0;
    std::vector<std::string> lines;
    if (!contact) {
        for (const auto& b : store_->lookup(aor, std::chrono::system_clock::now()))
            lines.push_back(proxy::registration_log_line("removed", b, 0, "-", "sipproxyctl",
                                                         "operator"));
        removed = store_->remove_aor(aor, completes(commit));
        if (removed == 0) lines.clear();
    } else {
        const auto now = std::chrono::system_clock::now();
        const auto before = store_->lookup(aor, now).size();
        auto r = services_.snapshots.get()->registrar->handle(operator_register(aor, *contact, 0),
                                                              completes(commit));
        if (!r.ok()) throw control::CommandError(std::to_string(r.status) + " " + r.reason);
        removed = before - r.bindings.size();
        lines = proxy::change_lines(r.changes, "-", "sipproxyctl", "operator");
    }
    co_await wait_until_saved(commit);
    for (const auto& line : lines) log::info("{}", line);
    co_return json{{"removed", removed}};
}

}  // namespace sipproxy::daemon
