#include "transaction/transaction_layer.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>

#include <cstdio>
#include <cstring>
#include <optional>

#include "base/log.hpp"
#include "transaction/branch.hpp"
#include "transport/via_stamp.hpp"

namespace sipproxy::transaction {

TransactionLayer::TransactionLayer(asio::io_context& io, transport::Transport& transport,
                                   unsigned worker, LayerOptions options)
    : io_(io), transport_(transport), worker_(worker), options_(options),
      sweep_timer_(io), rng_(std::random_device{}()) {
    if (!options_.pending) options_.pending = std::make_shared<std::atomic<std::size_t>>(0);
    if (!options_.shares) options_.shares = std::make_shared<FairShares>();
}

bool TransactionLayer::reserve_linger() {
    auto& n = options_.shares->lingering;
    if (n.fetch_add(1, std::memory_order_relaxed) < options_.max_transactions) return true;
    n.fetch_sub(1, std::memory_order_relaxed);
    options_.shares->linger_cut.fetch_add(1, std::memory_order_relaxed);
    return false;
}

void TransactionLayer::drop_lingering(std::size_t n) {
    lingering_ -= n;
    options_.shares->lingering.fetch_sub(n, std::memory_order_relaxed);
}

void TransactionLayer::note_refusal(RefusalNote& note, const char* what,
                                    const transport::Peer& who) {
    // A flood is refused thousands of times a second: the first refusal says who and
    // why, then one line per 10 s per worker with the count.
    const auto now = Clock::now();
    ++note.unlogged;
    if (note.logged != Clock::time_point{} && now - note.logged < std::chrono::seconds(10))
        return;
    log::warn("{} {}: 503 ({} such since the last line)", what, who.to_string(), note.unlogged);
    note.unlogged = 0;
    note.logged = now;
}

std::string TransactionLayer::client_key(std::string_view branch, sip::Method method) {
    std::string k;
    k.reserve(branch.size() + 4);
    k.append(branch).push_back('|');
    k += std::to_string(static_cast<int>(method));
    return k;
}

std::string TransactionLayer::server_key(const sip::Message& r, bool as_invite) {
    const auto& via = r.vias().front();
    const auto method = as_invite ? sip::Method::Invite : r.method();
    std::string k;
    if (via.rfc3261_branch()) {
        // 17.2.3: branch, sent-by, method (ACK matches the INVITE).
        k.reserve(via.branch.size() + via.host.size() + 16);
        k.append(via.branch).push_back('|');
        k.append(via.host).push_back(':');
        k += std::to_string(via.port);
        k.push_back('|');
        k += std::to_string(static_cast<int>(method));
        return k;
    }
    // RFC 2543 fallback: Request-URI, From tag, Call-ID, CSeq number, top Via (To tag
    // too, except for an ACK/CANCEL looking for its INVITE).
    k.append("2543|").append(r.request_uri().raw).push_back('|');
    k.append(r.from().tag).push_back('|');
    if (!as_invite) k.append(r.to().tag);
    k.push_back('|');
    k.append(r.call_id()).push_back('|');
    k += std::to_string(r.cseq().number);
    k.push_back('|');
    k.append(via.raw).push_back('|');
    k += std::to_string(static_cast<int>(method));
    return k;
}

std::string TransactionLayer::new_branch(std::uint32_t loop) {
    return make_branch(worker_, loop, (rng_() & 0xffffffff00000000ull) | ++counter_);
}

std::string TransactionLayer::new_tag() {
    static constexpr char digits[] = "0123456789abcdef";
    std::uint64_t v = rng_();
    std::string tag(16, '0');
    for (std::size_t i = 16; i-- > 0; v >>= 4) tag[i] = digits[v & 0xf];
    return tag;
}

void TransactionLayer::receive(sip::Message m, const transport::Peer& from,
                               const transport::Local& local) {
    if (m.is_request()) receive_request(std::move(m), from, local);
    else receive_response(std::move(m), from);
}

void TransactionLayer::reply_stateless(const sip::Message& request, const transport::Peer& to,
                                       int status, std::string_view reason,
                                       const std::vector<sip::ExtraHeader>& extra) {
    count_response(status);
    transport_.post_send(response_destination(request, to),
                         sip::make_response(request, status, reason, new_tag(), extra));
}

void TransactionLayer::receive_request(sip::Message m, const transport::Peer& from,
                                       const transport::Local& local) {
    const auto method = m.method();
    if (method == sip::Method::Ack) {
        auto it = servers_.find(server_key(m, true));
        if (it != servers_.end()) {
            auto& slot = it->second;
            if ((slot.st ? slot.st->final_status() : slot.final_status) >= 300) {
                if (slot.st) slot.st->ack();  // ACK for a non-2xx final ends here (17.2.1)
                if (tu_) tu_->on_request_absorbed(method);
                return;
            }
        }
        if (tu_) tu_->on_ack(std::move(m), from, local);
        return;
    }
    if (method == sip::Method::Cancel) {
        if (tu_) tu_->on_request_absorbed(method);
        return receive_cancel(std::move(m), from, local, 0);
    }
    auto key = server_key(m, false);
    if (!answered_.empty()) {
        if (auto* a = answered_.find(key_hash(key))) {
            const auto to = response_destination(m, from);
            const auto recipe = a->second.view();
            std::vector<sip::ExtraHeader> more;
            if (method == sip::Method::Register && recipe_status(recipe) == 200 &&
                rebuilds_registrations())
                more = tu_->registration_again(m);
            if (auto again = answer_again(recipe, m, to, std::move(more)); !again.empty())
                transport_.post_send(to, std::move(again));
            return;
        }
    }
    if (auto* e = servers_.find(key)) {
        auto& slot = e->second;
        if (slot.st) {
            slot.st->retransmission();
        } else if (!slot.resend.empty()) {
            transport_.post_send(slot.to, slot.resend);
        }
        return;
    }
    if (pending() >= options_.max_transactions) {
        reply_stateless(m, from, 503, "Service Unavailable", {{"Retry-After", "5"}});
        // Not one line per request: under a flood the cap is hit thousands of times a second.
        note_refusal(capacity_refusals_,
                     "transaction.max_transactions reached: requests refused, the latest from",
                     from);
        return;
    }
    // Its share: no source holds more than max_per_source of the pending transactions
    // (issue #12 item 8). Over it, that source alone is refused, statelessly. An exempt
    // source is counted all the same (so the count stays right across a reload that
    // changes who is exempt), never refused.
    auto& shares = *options_.shares;
    const auto source = source_of(transport::address_key(from.address));
    if (!shares.sources.try_add(source, shares.max_per_source.load(std::memory_order_relaxed))) {
        if (!exempt(from.address)) {
            shares.refused_source.fetch_add(1, std::memory_order_relaxed);
            reply_stateless(m, from, 503, "Service Unavailable: too many pending requests from this source",
                            {{"Retry-After", "5"}});
            note_refusal(source_refusals_,
                         "security.max_pending_per_source reached: requests refused from", from);
            return;
        }
        shares.sources.try_add(source, 0);
    }
    // The transaction user decides first; the table gets the transaction only afterwards
    // (nothing can look it up while on_request runs on this thread), and only what it
    // still needs: nothing for a challenge, a lingering slot for a non-INVITE answered at
    // once, the live transaction otherwise (ServerTransaction::start).
    auto st = std::make_shared<ServerTransaction>(*this, std::move(m), from, local, std::move(key));
    if (tu_) tu_->on_request(st);
    st->start();
}

void TransactionLayer::add_live(const std::shared_ptr<ServerTransaction>& st) {
    auto [e, added] = servers_.try_emplace(std::string(st->key()));
    if (!added && !e->second.st) drop_lingering(1);  // (cannot happen: the key was looked up)
    e->second = ServerSlot{st, {}, {}, 0, {}};
    update_live();
}

void TransactionLayer::receive_cancel(sip::Message m, const transport::Peer& from,
                                      const transport::Local& local, std::size_t hops) {
    // A retransmitted CANCEL gets the 200 again.
    auto key = server_key(m, false);
    if (auto it = servers_.find(key); it != servers_.end()) {
        if (!it->second.resend.empty()) transport_.post_send(it->second.to, it->second.resend);
        return;
    }
    auto inv = servers_.find(server_key(m, true));
    if (inv == servers_.end()) {
        // The INVITE may have reached another worker (a UA that sends its CANCEL from
        // another port lands on another SO_REUSEPORT socket): ask them in turn. A TCP
        // connection belongs to one worker, so its CANCEL is decided here.
        if (!from.reliable() && hops + 1 < siblings_.size()) {
            TransactionLayer* next = siblings_[(worker_ + 1) % siblings_.size()];
            asio::post(next->io_, [next, msg = std::move(m), from, local, hops]() mutable {
                next->receive_cancel(std::move(msg), from, local, hops + 1);
            });
            return;
        }
        reply_stateless(m, from, 481, "Call/Transaction Does Not Exist");
        return;
    }
    // 16.10: answer the CANCEL here (with the To-tag of the INVITE's responses, 9.2) and
    // cancel the INVITE's branches. The CANCEL's own transaction needs nothing but the
    // 200 to repeat, so it starts out lingering.
    auto invite = inv->second.st;
    std::string_view tag = invite ? invite->to_tag() : std::string_view{};
    // An INVITE that only lingers keeps its final response, not its tag: read it there
    // (a CANCEL after the final is rare; the slot stays small).
    std::optional<sip::Message> final_response;
    if (!invite && !inv->second.resend.empty()) {
        if (auto parsed = sip::parse(inv->second.resend); parsed) {
            final_response = std::move(parsed.value());
            tag = final_response->to().tag;
        }
    }
    auto ok = transport::stamp_response_via(sip::make_response(m, 200, "OK", tag), m, from);
    const auto to = response_destination(m, from);
    count_response(200);
    transport_.post_send(to, ok);
    if (!from.reliable() && !stopping_ && reserve_linger()) {
        const auto d = Clock::duration(options_.timers.j());
        auto [it, added] = servers_.emplace(
            key, ServerSlot{nullptr, std::move(ok), to, 200, Clock::now() + d});
        if (added) {
            schedule_end(key, it->second.until, d, Table::Servers);
            update_live();
        } else {
            release_linger();
        }
    }
    if (invite) invite->cancel_received();
}

void TransactionLayer::receive_response(sip::Message m, const transport::Peer& from) {
    if (m.vias().empty()) return;
    const auto& branch = m.vias().front().branch;
    // A response to a client transaction of another worker goes to that worker.
    if (auto w = branch_worker(branch); w && *w != worker_ && *w < siblings_.size()) {
        TransactionLayer* owner = siblings_[*w];
        asio::post(owner->io_, [owner, msg = std::move(m), from]() mutable {
            owner->receive_response(std::move(msg), from);
        });
        return;
    }
    auto it = clients_.find(client_key(branch, m.cseq().method));
    if (it != clients_.end()) {
        auto& slot = it->second;
        if (slot.ct) slot.ct->receive(std::move(m));
        else if (!slot.ack.empty() && m.status() >= 300) transport_.post_send(slot.to, slot.ack);
        return;  // a lingering transaction absorbs retransmitted responses
    }
    forward_stray(std::move(m), from);
}

std::shared_ptr<ClientTransaction> TransactionLayer::start_client(
    const transport::Peer& destination, std::string request, sip::Method method,
    std::string branch, std::weak_ptr<ResponseSink> sink, std::size_t branch_index) {
    // Its share: no next hop holds more than max_per_destination of the pending client
    // transactions (a flood of INVITEs to one silent phone would keep them for timer B).
    // Over it, the request is not sent: the branch fails with 503 (the response context
    // answers it). A CANCEL always goes (it ends a transaction already counted).
    auto& shares = *options_.shares;
    const auto share = source_of(transport::address_key(destination.address));
    auto admitted = ClientTransaction::Share::None;
    if (method != sip::Method::Cancel) {
        admitted = ClientTransaction::Share::Counted;
        if (!shares.destinations.try_add(
                share, shares.max_per_destination.load(std::memory_order_relaxed))) {
            if (exempt(destination.address)) {
                shares.destinations.try_add(share, 0);
            } else {
                admitted = ClientTransaction::Share::Refused;
                shares.refused_destination.fetch_add(1, std::memory_order_relaxed);
                note_refusal(destination_refusals_,
                             "security.max_pending_per_destination reached: requests refused to",
                             destination);
            }
        }
    }
    auto ct = std::make_shared<ClientTransaction>(*this, destination, std::move(request), method,
                                                  std::move(branch), std::move(sink),
                                                  branch_index, admitted);
    auto& slot = clients_[ct->key()];
    if (!slot.ct && slot.until != Clock::time_point{}) drop_lingering(1);  // (a reused branch)
    slot = ClientSlot{ct, {}, {}, {}};
    update_live();
    asio::co_spawn(io_, ct->run(), asio::detached);
    return ct;
}

void TransactionLayer::remove(const ServerTransaction& st) {
    auto it = servers_.find(st.key());
    if (it != servers_.end() && it->second.st.get() == &st) servers_.erase(it);
    update_live();
}

void TransactionLayer::remove(const ClientTransaction& ct) {
    auto it = clients_.find(ct.key());
    if (it != clients_.end() && it->second.ct.get() == &ct) clients_.erase(it);
    update_live();
}

TransactionLayer::LingerQueue& TransactionLayer::linger_queue(Clock::duration d, Table table) {
    for (auto& q : linger_queues_)
        if (q.after == d && q.table == table) return q;
    return linger_queues_.emplace_back(LingerQueue{d, table, {}, {}});
}

void TransactionLayer::schedule_end(const std::string& key, Clock::time_point until,
                                    Clock::duration d, Table table) {
    add_lingering(1);  // its place was reserved (reserve_linger)
    linger_queue(d, table).keys.emplace_back(until, key);
    arm_sweep();
}

void TransactionLayer::schedule_end(std::uint64_t hash, Clock::time_point until,
                                    Clock::duration d) {
    add_lingering(1);
    linger_queue(d, Table::Answered).hashes.emplace_back(until, hash);
    arm_sweep();
}

void TransactionLayer::linger(const ServerTransaction& st, std::string resend,
                              Clock::duration d, Resend kind) {
    auto it = servers_.find(st.key());
    // Another transaction's slot, or this one already ended: nothing to do.
    if (it != servers_.end() && it->second.st.get() != &st) return;
    if (d <= Clock::duration::zero() || stopping_ || !reserve_linger()) {
        if (it != servers_.end()) servers_.erase(it);
        update_live();
        return;
    }
    if (kind == Resend::Recipe) {
        if (it != servers_.end()) servers_.erase(it);
        return linger_answered(st, std::move(resend), d);
    }
    if (it == servers_.end()) it = servers_.try_emplace(std::string(st.key())).first;
    // (Dropping the slot's reference: the coroutine that calls this holds its own.)
    // The response was built in a buffer reserved from the request's size (or grown by
    // doubling): for the 32 s of timer J keep only its bytes.
    if (resend.capacity() > resend.size() + 32) resend.shrink_to_fit();
    it->second = ServerSlot{nullptr, std::move(resend), st.destination(), st.final_status(),
                            Clock::now() + d};
    schedule_end(it->first, it->second.until, d, Table::Servers);
    update_live();
}

void TransactionLayer::linger_answered(const ServerTransaction& st, std::string recipe,
                                       Clock::duration d) {
    const auto hash = key_hash(st.key());
    auto [e, added] = answered_.try_emplace(std::uint64_t{hash});
    if (!added) drop_lingering(1);  // a key with the same hash: its queue entry finds no slot
    Answered& a = e->second;
    a.until = Clock::now() + d;
    a.size = static_cast<std::uint32_t>(recipe.size());
    a.recipe = std::make_unique_for_overwrite<char[]>(recipe.size());
    std::memcpy(a.recipe.get(), recipe.data(), recipe.size());
    schedule_end(hash, a.until, d);
    update_live();
}

void TransactionLayer::linger(const ClientTransaction& ct, std::string ack, Clock::duration d) {
    auto it = clients_.find(ct.key());
    if (it == clients_.end() || it->second.ct.get() != &ct) return;
    if (d <= Clock::duration::zero() || stopping_ || !reserve_linger()) {
        clients_.erase(it);
        update_live();
        return;
    }
    auto& slot = it->second;
    slot.ack = std::move(ack);
    slot.to = ct.destination();
    slot.until = Clock::now() + d;
    slot.ct.reset();
    schedule_end(it->first, slot.until, d, Table::Clients);
}

void TransactionLayer::arm_sweep() {
    if (sweep_armed_ || stopping_) return;
    auto next = Clock::time_point::max();
    for (const auto& q : linger_queues_) next = std::min(next, q.front());
    if (next == Clock::time_point::max()) return;
    // Sweeps at most every 50 ms: a slot may outlive its timer by that much, which only
    // means a late retransmission is still absorbed.
    sweep_armed_ = true;
    sweep_timer_.expires_at(std::max(next, Clock::now() + std::chrono::milliseconds(50)));
    sweep_timer_.async_wait([this](const asio::error_code& ec) {
        if (ec) return;  // cancelled at shutdown (the layer may be gone)
        sweep_armed_ = false;
        sweep();
        arm_sweep();
    });
}

void TransactionLayer::sweep() {
    const auto now = Clock::now();
    for (auto& q : linger_queues_) {
        while (!q.hashes.empty() && q.hashes.front().first <= now) {
            const auto& [at, hash] = q.hashes.front();
            auto* a = answered_.find(hash);
            if (a && a->second.until == at) {
                answered_.erase(a);
                drop_lingering(1);
            }
            q.hashes.pop_front();
        }
        while (!q.keys.empty() && q.keys.front().first <= now) {
            const auto& [at, key] = q.keys.front();
            if (q.table == Table::Servers) {
                auto it = servers_.find(key);
                if (it != servers_.end() && !it->second.st && it->second.until == at) {
                    servers_.erase(it);
                    drop_lingering(1);
                }
            } else {
                auto it = clients_.find(key);
                if (it != clients_.end() && !it->second.ct && it->second.until == at) {
                    clients_.erase(it);
                    drop_lingering(1);
                }
            }
            q.keys.pop_front();
        }
    }
    // After a load the tables give their memory back (issue: RSS returns to its baseline).
    servers_.shrink();
    clients_.shrink();
    answered_.shrink();
    update_live();
}

void TransactionLayer::shutdown() {
    stopping_ = true;
    sweep_timer_.cancel();
    servers_.erase_if([](const auto& e) { return !e.second.st; });
    clients_.erase_if([](const auto& e) { return !e.second.ct; });
    answered_.clear();
    linger_queues_.clear();
    drop_lingering(lingering_);
    std::vector<std::shared_ptr<ServerTransaction>> servers;
    std::vector<std::shared_ptr<ClientTransaction>> clients;
    servers_.for_each([&](const auto& e) { servers.push_back(e.second.st); });
    clients_.for_each([&](const auto& e) { clients.push_back(e.second.ct); });
    for (auto& st : servers) st->shutdown();
    for (auto& ct : clients) ct->shutdown();
    update_live();
}

}  // namespace sipproxy::transaction
