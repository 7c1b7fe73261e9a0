#include "registrar/registrar.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

#include "registrar/contact_uri.hpp"

namespace sipproxy::registrar {

namespace {

RegisterResult failure(int status, std::string reason) {
    RegisterResult r;
    r.status = status;
    r.reason = std::move(reason);
    return r;
}

std::string unquote(std::string_view s) {
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    return std::string(s);
}

// A Contact of the request with what the registrar decided for it.
struct Update {
    const ContactSpec* spec;
    std::string instance;
    std::uint32_t reg_id;
    std::uint32_t expires;  // after default and max_expires; 0 = remove
};

// A binding the request refreshes is still reached as before: same contact URI (byte for
// byte), source, transport, flow, Path, instance, reg-id and q.
bool reached_the_same_way(const Binding& b, const Update& u, const RegisterRequest& req) {
    return b.contact == u.spec->uri && b.q_permille == u.spec->q_permille.value_or(1000) &&
           b.transport == req.source.transport && b.source_address == req.source.address &&
           b.source_port == req.source.port && b.flow_id == req.source.flow_id &&
           b.path == req.path && b.instance == u.instance && b.reg_id == u.reg_id &&
           b.node.empty();
}

// Which stored binding a Contact refers to. RFC 5626 6: with +sip.instance and reg-id the key
// is (instance, reg-id), so each flow of a device has its own binding; RFC 5627 6 / RFC 5626 6:
// with an instance only, the instance. Otherwise RFC 3261 10.3 step 7: the Contact URI.
bool refers_to(const Binding& b, const Update& u) {
    if (!u.instance.empty()) {
        return b.instance == u.instance && b.reg_id == u.reg_id;
    }
    return b.reg_id == 0 && same_contact_uri(b.contact, u.spec->uri);
}

std::vector<CurrentBinding> current(std::vector<Binding> bindings, TimePoint now) {
    sort_by_preference(bindings);
    std::vector<CurrentBinding> out;
    out.reserve(bindings.size());
    for (auto& b : bindings) {
        auto left = b.expires_in(now);
        out.push_back({std::move(b), left});
    }
    return out;
}

}  // namespace

Registrar::Registrar(LocationStore& store, RegistrarOptions options)
    : store_(store), options_(options) {
    // A request that names no interval must not earn a 423 or exceed the maximum.
    if (options_.max_expires < options_.min_expires) options_.max_expires = options_.min_expires;
    options_.default_expires =
        std::clamp(options_.default_expires, options_.min_expires, options_.max_expires);
}

std::vector<Binding> Registrar::lookup(std::string_view aor, TimePoint now) const {
    return store_.lookup(canonical_aor(aor), now);
}

RegisterResult Registrar::handle(const RegisterRequest& req, LocationStore::Committed committed) {
    RegisterResult result = decide(req, committed);
    if (committed) committed("");  // nothing was handed to the store
    return result;
}

RegisterResult Registrar::decide(const RegisterRequest& req, LocationStore::Committed& committed) {
    const std::string aor = canonical_aor(req.aor);
    if (aor.empty()) return failure(400, "Missing address-of-record");
    const TimePoint now = req.now;

    // RFC 3261 10.3 step 6: "*" only alone and only with Expires: 0.
    if (req.star) {
        if (!req.contacts.empty()) return failure(400, "Invalid Contact: * with other contacts");
        if (!req.expires || *req.expires != 0) return failure(400, "* requires Expires: 0");
    }

    // RFC 3261 10.3 step 7: the interval of each Contact, checked before anything changes.
    std::vector<Update> updates;
    updates.reserve(req.contacts.size());
    for (const auto& c : req.contacts) {
        if (c.uri.empty()) return failure(400, "Invalid Contact");
        std::uint32_t expires = c.expires     ? *c.expires
                                : req.expires ? *req.expires
                                              : options_.default_expires;
        if (expires != 0 && expires < options_.min_expires) {
            RegisterResult r = failure(423, "Interval Too Brief");
            r.min_expires = options_.min_expires;
            return r;
        }
        expires = std::min(expires, options_.max_expires);  // a registrar may shorten it
        Update u{&c, unquote(c.instance), c.reg_id, expires};
        if (u.instance.empty()) u.reg_id = 0;  // RFC 5626 6: reg-id means nothing without it
        updates.push_back(std::move(u));
    }

    // A query: no Contact, nothing changes (RFC 3261 10.2.3).
    if (!req.star && updates.empty()) {
        RegisterResult r;
        r.bindings = current(store_.lookup(aor, now), now);
        return r;
    }

    RegisterResult result;
    const std::uint32_t max_contacts = options_.max_contacts;
    auto mutate = [&](std::vector<Binding>& bindings) -> Mutated {
        // RFC 3261 10.3 steps 6 and 7: a binding from the same Call-ID changes only with a
        // higher CSeq; otherwise the whole request fails and nothing changes.
        auto out_of_order = [&](const Binding& b) {
            return b.call_id == req.call_id && req.cseq <= b.cseq;
        };

        if (req.star) {
            if (std::any_of(bindings.begin(), bindings.end(), out_of_order)) {
                result = failure(500, "Out of order CSeq");
                return false;
            }
            for (auto& b : bindings)
                result.changes.push_back({BindingChange::Kind::Removed, std::move(b), 0});
            bindings.clear();
            result.bindings.clear();
            return true;
        }

        bool refresh_only = true;
        // Bindings this request has already added or refreshed: a second Contact for the
        // same binding in one request is not "out of order".
        std::vector<bool> touched(bindings.size(), false);
        std::vector<bool> removed(bindings.size(), false);
        // Per binding: Added or Updated when this request made it a change to log; Evicted
        // stands for "refreshed or untouched" here.
        std::vector<BindingChange::Kind> change(bindings.size(), BindingChange::Kind::Evicted);
        for (const auto& u : updates) {
            std::size_t i = 0;
            for (; i < bindings.size(); ++i)
                if (!removed[i] && refers_to(bindings[i], u)) break;

            if (i < bindings.size() && !touched[i] && out_of_order(bindings[i])) {
                result = failure(500, "Out of order CSeq");
                return false;
            }
            if (u.expires == 0) {  // remove (nothing to do if there is no such binding)
                if (i < bindings.size()) {
                    refresh_only = false;
                    removed[i] = true;
                    result.changes.push_back({BindingChange::Kind::Removed, bindings[i], 0});
                }
                continue;
            }
            if (i == bindings.size()) {
                bindings.emplace_back();
                touched.push_back(false);
                removed.push_back(false);
                change.push_back(BindingChange::Kind::Added);
            } else if (!touched[i] && !same_contact_uri(bindings[i].contact, u.spec->uri)) {
                change[i] = BindingChange::Kind::Updated;
            }
            Binding& b = bindings[i];
            if (change[i] != BindingChange::Kind::Evicted || !reached_the_same_way(b, u, req))
                refresh_only = false;
            b.contact = u.spec->uri;
            b.expires_at = now + std::chrono::seconds(u.expires);
            b.q_permille = u.spec->q_permille.value_or(1000);
            b.call_id = req.call_id;
            b.cseq = req.cseq;
            b.transport = req.source.transport;
            b.source_address = req.source.address;
            b.source_port = req.source.port;
            b.flow_id = req.source.flow_id;
            b.node.clear();  // this node took the REGISTER and holds its connection now
            b.user_agent = req.user_agent;
            b.path = req.path;
            b.instance = u.instance;
            b.reg_id = u.reg_id;
            b.registered_at = now;
            touched[i] = true;
        }

        std::vector<Binding> kept;
        std::vector<bool> kept_touched;
        std::vector<BindingChange::Kind> kept_change;
        kept.reserve(bindings.size());
        for (std::size_t i = 0; i < bindings.size(); ++i) {
            if (removed[i]) continue;
            kept.push_back(std::move(bindings[i]));
            kept_touched.push_back(touched[i]);
            kept_change.push_back(change[i]);
        }

        // max_contacts: the bindings this request asks for win; among the others, the one
        // that expires soonest (then the oldest) goes first. More new ones than allowed: 403.
        if (max_contacts != 0 && kept.size() > max_contacts) {
            auto fresh = static_cast<std::size_t>(
                std::count(kept_touched.begin(), kept_touched.end(), true));
            if (fresh > max_contacts) {
                result = failure(403, "Too many contacts");
                return false;
            }
            std::vector<std::size_t> order(kept.size());
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
                if (kept_touched[a] != kept_touched[b]) return !kept_touched[a];
                if (kept[a].expires_at != kept[b].expires_at)
                    return kept[a].expires_at < kept[b].expires_at;
                return kept[a].registered_at < kept[b].registered_at;
            });
            std::vector<bool> evict(kept.size(), false);
            std::size_t excess = kept.size() - max_contacts;
            for (std::size_t k = 0; k < excess; ++k) evict[order[k]] = true;
            std::vector<Binding> limited;
            std::vector<BindingChange::Kind> limited_change;
            limited.reserve(max_contacts);
            for (std::size_t i = 0; i < kept.size(); ++i) {
                if (evict[i]) {
                    result.changes.push_back({BindingChange::Kind::Evicted, std::move(kept[i]), 0});
                    continue;
                }
                limited.push_back(std::move(kept[i]));
                limited_change.push_back(kept_change[i]);
            }
            kept = std::move(limited);
            kept_change = std::move(limited_change);
            result.evicted = excess;
            refresh_only = false;
        }

        bindings = std::move(kept);
        for (auto& b : bindings) b.aor = aor;
        for (std::size_t i = 0; i < bindings.size(); ++i)
            if (kept_change[i] != BindingChange::Kind::Evicted)
                result.changes.push_back({kept_change[i], bindings[i], bindings[i].expires_in(now)});
        for (auto& c : result.changes) c.binding.aor = aor;
        result.bindings = current(bindings, now);  // RFC 3261 10.3 step 8
        result.refresh_only = refresh_only;
        return refresh_only ? Mutated::refresh() : Mutated(true);
    };

    store_.apply(aor, now, mutate, std::exchange(committed, nullptr));
    return result;
}

std::size_t Registrar::flow_failed(std::uint64_t flow_id, TimePoint now,
                               const std::function<void(const Binding&)>& on_removed) {
    std::size_t removed = 0;
    for (const auto& aor : store_.aors_using_flow(flow_id)) {
        store_.apply(aor, now, [&](std::vector<Binding>& bindings) {
            auto before = bindings.size();
            std::erase_if(bindings, [&](const Binding& b) {
                const bool gone = b.flow_id == flow_id && b.outbound();
                if (gone && on_removed) on_removed(b);
                return gone;
            });
            removed += before - bindings.size();
            for (auto& b : bindings)
                if (b.flow_id == flow_id) b.flow_id = 0;
            return true;
        });
    }
    return removed;
}

}  // namespace sipproxy::registrar
