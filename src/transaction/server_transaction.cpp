#include "transaction/server_transaction.hpp"

#include <cstring>
#include <functional>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "transaction/transaction_layer.hpp"
#include "transport/via_stamp.hpp"

namespace sipproxy::transaction {


ServerTransaction::ServerTransaction(TransactionLayer& layer, sip::Message request,
                                     transport::Peer source, transport::Local local,
                                     std::string key)
    : layer_(layer), request_(std::move(request)), invite_(request_->method() == sip::Method::Invite),
      source_(source), local_(std::move(local)), key_(std::move(key)),
      share_key_(source_of(transport::address_key(source_.address))), inbox_(layer.executor()) {
    destination_ = response_destination(*request_, source_);
    // A request that already has a To-tag (in-dialog) keeps it.
    if (request_->to().tag.empty()) to_tag_ = layer_.new_tag();
    layer_.unsettled();
}

transport::Peer response_destination(const sip::Message& request, const transport::Peer& source) {
    transport::Peer to = source;
    if (!source.reliable() && !request.vias().empty()) {
        const auto& via = request.vias().front();
        if (!via.has_rport) to.port = via.port ? via.port : 5060;
    }
    return to;
}

namespace {
std::uint64_t request_hash(const sip::Message& request) {
    return std::hash<std::string_view>{}(request.bytes());
}
}  // namespace

std::string answer_recipe(const sip::Message& request, int status, std::string_view reason,
                          std::string_view to_tag, const std::vector<sip::ExtraHeader>& extra) {
    // hash (8 bytes), status (2), then NUL-terminated reason, To-tag, name, value, ...
    std::string r;
    std::size_t n = 10 + reason.size() + to_tag.size() + 2;
    for (const auto& x : extra) n += x.name.size() + x.value.size() + 2;
    r.reserve(n);
    const std::uint64_t h = request_hash(request);
    r.append(reinterpret_cast<const char*>(&h), sizeof h);
    const auto s = static_cast<std::uint16_t>(status);
    r.append(reinterpret_cast<const char*>(&s), sizeof s);
    r.append(reason).push_back('\0');
    r.append(to_tag).push_back('\0');
    for (const auto& x : extra) {
        r.append(x.name).push_back('\0');
        r.append(x.value).push_back('\0');
    }
    return r;
}

int recipe_status(std::string_view recipe) {
    std::uint16_t status;
    if (recipe.size() < sizeof(std::uint64_t) + sizeof status) return 0;
    std::memcpy(&status, recipe.data() + sizeof(std::uint64_t), sizeof status);
    return status;
}

std::string answer_again(std::string_view recipe, const sip::Message& retransmission,
                         const transport::Peer& to, std::vector<sip::ExtraHeader> more) {
    std::uint64_t h;
    std::uint16_t status;
    if (recipe.size() < sizeof h + sizeof status) return {};
    std::memcpy(&h, recipe.data(), sizeof h);
    std::memcpy(&status, recipe.data() + sizeof h, sizeof status);
    if (h != request_hash(retransmission)) return {};
    recipe.remove_prefix(sizeof h + sizeof status);
    auto next = [&recipe]() {
        const auto end = recipe.find('\0');
        std::string_view field = recipe.substr(0, end);
        recipe.remove_prefix(end == std::string_view::npos ? recipe.size() : end + 1);
        return field;
    };
    const auto reason = next();
    const auto tag = next();
    std::vector<sip::ExtraHeader> extra;
    while (!recipe.empty()) {
        auto name = next();
        auto value = next();
        extra.push_back({std::string(name), std::string(value)});
    }
    extra.insert(extra.end(), std::make_move_iterator(more.begin()),
                 std::make_move_iterator(more.end()));
    return transport::stamp_response_via(
        sip::make_response(retransmission, status, reason, tag, extra), retransmission, to);
}

void ServerTransaction::send(const std::string& bytes) {
    layer_.transport().post_send(destination_, bytes);
}

void ServerTransaction::respond(int status, std::string_view reason,
                                const std::vector<sip::ExtraHeader>& extra) {
    if (final_sent()) return;
    // What a non-INVITE final is made of, to linger compactly (answer_recipe). Not for a
    // challenge: it does not linger.
    if (!invite_ && status >= 200 && status != 401 && status != 407 &&
        !source_.reliable()) {
        // A REGISTER's 200 is rebuilt from the bindings of the moment (TransactionUser::
        // rebuilds_registrations): its headers are not kept.
        const bool rebuilt = status == 200 && request_->method() == sip::Method::Register &&
                             layer_.rebuilds_registrations();
        recipe_ = answer_recipe(*request_, status, reason, to_tag_,
                                rebuilt ? std::vector<sip::ExtraHeader>{} : extra);
    }
    send_response(transport::stamp_response_via(
                      sip::make_response(*request_, status, reason, status > 100 ? to_tag_ : "", extra),
                      *request_, source_),
                  status);
}

void ServerTransaction::send_response(std::string bytes, int status) {
    if (final_sent()) return;  // a final response is sent once (retransmissions aside)
    layer_.count_response(status);
    send(bytes);
    last_response_ = std::move(bytes);
    last_status_ = status;
    if (status < 200) provisional_sent_ = true;
    if (status >= 200) {
        final_status_ = status;
        layer_.count_final(request_->method(), status, Clock::now() - received_);
        settle();
        if (running_) inbox_.push(Event::Final);
    }
}

void ServerTransaction::settle() { layer_.settle(settled_, layer_.shares().sources, share_key_); }

void ServerTransaction::release_request() {
    // The response context that used the request finished synchronously when it sent the
    // final response; this runs later (the Final event is posted), so nobody holds it.
    request_.reset();
}

void ServerTransaction::start() {
    if (!invite_ && final_sent()) {
        release_request();
        // A challenge (401/407) keeps nothing: a retransmitted request is challenged again
        // with a fresh nonce, which the client may use as well as the first, as from a
        // stateless server (what Kamailio and OpenSIPS do). Any other final response, a
        // REGISTER's 200 above all (10.3 step 7 would refuse the same CSeq again), is
        // repeated for timer J.
        const bool reliable = source_.reliable();
        const bool challenge = final_status_ == 401 || final_status_ == 407;
        linger_answered(reliable || challenge ? Clock::duration::zero()
                                              : Clock::duration(layer_.timers().j()));
        return;
    }
    layer_.add_live(shared_from_this());
    running_ = true;
    asio::co_spawn(layer_.executor(), run(), asio::detached);
}

void ServerTransaction::retransmission() { inbox_.push(Event::Retransmission); }
void ServerTransaction::ack() { inbox_.push(Event::Ack); }
void ServerTransaction::shutdown() { inbox_.close(); }

void ServerTransaction::cancel_received() {
    if (cancelled_ || final_sent()) return;
    cancelled_ = true;
    if (on_cancel) on_cancel();
}

asio::awaitable<void> ServerTransaction::run() {
    auto self = shared_from_this();  // lives until the state machine ends
    const Timers& t = layer_.timers();
    const bool reliable = source_.reliable();

    // RFC 3261 16.2 / 17.2.1: a proxy answers an INVITE with 100 Trying at once.
    if (is_invite() && last_status_ == 0)
        send_response(transport::stamp_response_via(sip::make_response(*request_, 100, "Trying"),
                                                    *request_, source_),
                      100);

    // Trying / Proceeding: until the transaction user sends a final response.
    while (!final_sent()) {
        auto ev = co_await inbox_.pop_until(Clock::time_point::max());
        if (!ev) {
            settle();
            co_return layer_.remove(*this);
        }
        if (*ev == Event::Retransmission && !last_response_.empty()) send(last_response_);
    }

    // From here on only the key, the destination and the last response matter.
    release_request();

    if (is_invite() && final_status_ >= 300) {
        // Completed: retransmit the final response (timer G) until the ACK, or give up
        // after timer H. Then Confirmed: absorb ACKs for timer I (in the layer's table).
        //
        // Over UDP to a source nobody vouched for (its address may be spoofed), timer G
        // would make the proxy a reflector: 4 to 10 finals for one INVITE that is never
        // ACKed. Such a source gets the final once, and once more only if it was told
        // 100 Trying first: a UAC in Proceeding no longer retransmits its INVITE
        // (17.1.1.2), so nothing else recovers a lost final; a UAC in Calling does, and
        // each retransmitted INVITE gets the final again from the lingering slot, one
        // datagram for one. What remains of timer H then lingers as a slot (the key and
        // the final), without this coroutine.
        const auto h = Clock::now() + t.h();
        const bool limited = !reliable && !vouched_ && !layer_.exempt(source_.address);
        int retransmissions_left = limited ? (provisional_sent_ ? 1 : 0) : -1;
        auto end_limited = [&] {
            const auto left = std::max(Clock::duration::zero(), h - Clock::now());
            layer_.linger(*this, std::move(last_response_), left);
        };
        if (retransmissions_left == 0) co_return end_limited();
        // Waiting for the ACK here counts as lingering (bounded by max_transactions).
        if (!layer_.reserve_linger()) co_return layer_.remove(*this);
        auto interval = t.t1;
        auto next_g = Clock::now() + interval;
        for (;;) {
            auto ev = co_await inbox_.pop_until(reliable ? h : std::min(next_g, h));
            if (!ev) {
                if (inbox_.closed() || Clock::now() >= h) break;  // timer H: no ACK came
                send(last_response_);
                if (retransmissions_left > 0 && --retransmissions_left == 0) {
                    layer_.release_linger();
                    co_return end_limited();
                }
                interval = std::min(2 * interval, t.t2);
                next_g = Clock::now() + interval;
            } else if (*ev == Event::Retransmission) {
                send(last_response_);
            } else if (*ev == Event::Ack) {
                layer_.release_linger();
                co_return layer_.linger(*this, {}, reliable ? Clock::duration::zero()
                                                            : Clock::duration(t.t4));
            }
        }
        layer_.release_linger();
        co_return layer_.remove(*this);
    }
    if (is_invite()) {
        // 2xx: RFC 6026 Accepted: retransmitted INVITEs are absorbed for 64*T1; 2xx
        // retransmissions come from the UAS and are forwarded statelessly, so nothing is
        // re-sent from here.
        co_return layer_.linger(*this, {}, t.h());
    }
    // Non-INVITE Completed: answer retransmissions with the final response (timer J).
    linger_answered(reliable ? Clock::duration::zero() : Clock::duration(t.j()));
}

void ServerTransaction::linger_answered(Clock::duration d) {
    if (!recipe_.empty() && d > Clock::duration::zero())
        layer_.linger(*this, std::move(recipe_), d, TransactionLayer::Resend::Recipe);
    else
        layer_.linger(*this, std::move(last_response_), d);
}

}  // namespace sipproxy::transaction
