#include "proxy/response_context.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "proxy/proxy_core.hpp"
#include "sip/rewrite.hpp"
#include "transaction/branch.hpp"

namespace sipproxy::proxy {

using transaction::Clock;

namespace {

// 16.7 step 6: 6xx beats everything; then the lowest class; among 4xx the responses a
// caller can act on (a challenge, 415, 420, 484); a downstream answer beats a local one.
int rank(int status, bool local) {
    if (status >= 600) return 0;
    int r = status < 400 ? 10 : status < 500 ? 20 : 30;
    if (status == 401 || status == 407 || status == 415 || status == 420 || status == 484) r -= 5;
    if (status == 503) r += 2;
    if (local) r += 1;
    return r;
}

}  // namespace

ResponseContext::ResponseContext(ProxyCore& core,
                                 std::shared_ptr<transaction::ServerTransaction> st,
                                 Decision plan, RouteEdit route_edit, bool record_route,
                                 bool reports_call)
    : core_(core), st_(std::move(st)), plan_(std::move(plan)), route_edit_(route_edit),
      record_route_(record_route), reports_call_(reports_call),
      loop_hash_(transaction::loop_hash(st_->request())), inbox_(core.layer().executor()) {}

void ResponseContext::on_response(std::size_t branch, sip::Message response) {
    // 16.7 step 3: with no Via left once ours is removed, the response was addressed to
    // this proxy (a broken peer): it is not forwarded and does not count.
    if (response.vias().size() < 2) {
        log::call(log::Level::info, response.call_id(), "{} {} without an upstream Via dropped",
                  response.status(), response.reason());
        return;
    }
    Event ev;
    ev.branch = branch;
    ev.status = response.status();
    ev.response.emplace(std::move(response));
    inbox_.push(std::move(ev));
}

void ResponseContext::on_failure(std::size_t branch, int status, std::string_view reason) {
    Event ev;
    ev.branch = branch;
    ev.status = status;
    ev.reason = std::string(reason);
    inbox_.push(std::move(ev));
}

bool ResponseContext::is_failover_status(int s) const {
    return s == 408 || s == 500 || s == 502 || s == 503 || s == 504;
}

void ResponseContext::forward_upstream(const sip::Message& response) {
    // 16.7 step 3: remove our Via; the rest goes as it came.
    sip::Rewrite rw(response);
    rw.remove_first_value(response.vias().front().header_index);
    if (st_->final_sent()) {
        // A further 2xx after the first (16.7 step 5): forwarded too, statelessly.
        if (response.status() >= 200 && response.status() < 300)
            core_.forward_response_stateless(response);
        return;
    }
    st_->send_response(rw.write(), response.status());
}

void ResponseContext::consider_final(Event& ev, bool target_failed) {
    const bool local = !ev.response;
    const int s = ev.status;
    // A gateway that fails calls (408, 5xx, unreachable) counts toward being marked down,
    // like a failed probe (only for probed gateways, which probes can bring back up); not
    // while another of its addresses (RFC 3263) is still to be tried.
    if (target_failed && ev.branch < branches_.size() && !branches_[ev.branch].gateway.empty() &&
        is_failover_status(s) && s != 487)
        core_.gateway_failed(branches_[ev.branch].gateway, s, ev.reason);
    if (!local && (s == 401 || s == 407)) {
        // 16.7 step 7: every challenge goes back in the one response.
        for (const auto& h : ev.response->headers())
            if (h.id == sip::HeaderId::WwwAuthenticate || h.id == sip::HeaderId::ProxyAuthenticate)
                challenges_.push_back(std::string(h.name) + ": " + std::string(h.value));
    }
    if (best_status_ == 0 || rank(s, local) < rank(best_status_, !best_)) {
        best_status_ = s;
        best_branch_ = ev.branch;
        if (local) {
            best_.reset();
            best_reason_ = ev.reason;
        } else {
            best_ = std::move(ev.response);
        }
    }
}

void ResponseContext::cancel_pending(int local_status, bool stop_all) {
    for (std::size_t i = 0; i < branches_.size(); ++i) {
        auto& b = branches_[i];
        if (b.done) continue;
        if (b.ct) b.ct->cancel();
        // A branch without a provisional response is not waited for (9.1: its CANCEL
        // goes out only if one arrives); one that rang ends with its 487.
        if (stop_all || !b.provisional) {
            b.done = true;
            --pending_;
            Event ev;
            ev.branch = i;
            ev.status = local_status;
            ev.reason = local_status == 408 ? "Request Timeout" : "Request Terminated";
            consider_final(ev);
        }
    }
}

asio::awaitable<void> ResponseContext::start_group(const std::vector<Target>& group) {
    for (const auto& target : group) {
        const transport::Peer* resolve_here = nullptr;
        std::vector<transport::Peer> none;
        co_await start_branch(target, resolve_here, std::move(none));
    }
}

asio::awaitable<void> ResponseContext::start_branch(const Target& target,
                                                    const transport::Peer* next_hop,
                                                    std::vector<transport::Peer> alternatives) {
    auto& layer = core_.layer();
    const std::size_t index = branches_.size();
    branches_.push_back({});
    branches_.back().gateway = target.gateway;
    branches_.back().target = &target;
    ++pending_;
    ForwardInput in{&st_->request(), route_edit_, &target, &st_->local(), &st_->source(),
                    record_route_, layer.new_branch(loop_hash_), next_hop, core_.tokens()};
    auto fwd = co_await forward_request(in, core_.transport());
    if (!fwd) {
        log::call(log::Level::info, st_->request().call_id(), "{}: {} {}", target.label,
                  fwd.error().status, fwd.error().reason);
        branches_[index].done = true;
        --pending_;
        Event ev;
        ev.branch = index;
        ev.status = fwd.error().status;
        ev.reason = fwd.error().reason;
        consider_final(ev);
        co_return;
    }
    if (log::enabled(log::Level::debug))  // not the destination's text for a line not written
        log::call(log::Level::debug, st_->request().call_id(), "{} {} -> {} ({})",
                  st_->request().method_text(), target.label, fwd->destination.to_string(),
                  fwd->branch);
    branches_[index].alternatives = next_hop ? std::move(alternatives) : std::move(fwd->alternatives);
    branches_[index].ct = layer.start_client(fwd->destination, std::move(fwd->bytes),
                                             st_->request().method(), std::move(fwd->branch),
                                             weak_from_this(), index);
}

// RFC 3263 4.3: a next hop that did not answer (transport error, timeout) or answered 503
// is replaced by the next candidate of the same resolution, unless the request is over.
bool ResponseContext::tries_next_candidate(const Branch& b, const Event& ev) const {
    if (b.alternatives.empty() || answered_ || cancelled_ || six_xx_ || st_->cancelled())
        return false;
    return !ev.response || ev.status == 503;
}

asio::awaitable<void> ResponseContext::try_next_candidate(std::size_t branch) {
    // A copy: start_branch() grows branches_.
    std::vector<transport::Peer> rest = std::move(branches_[branch].alternatives);
    const Target& target = *branches_[branch].target;
    const transport::Peer next = rest.front();
    rest.erase(rest.begin());
    const auto& failed = branches_[branch].ct ? branches_[branch].ct->destination() : next;
    if (failed.protocol == transport::Protocol::Tcp && next.protocol == transport::Protocol::Udp &&
        failed.address == next.address && failed.port == next.port)
        log::call(log::Level::info, st_->request().call_id(),
                  "{}: TCP to {} failed; the request was on TCP only for its size (RFC 3261 "
                  "18.1.1), trying UDP",
                  target.label, failed.to_string());
    else
        log::call(log::Level::info, st_->request().call_id(), "{}: trying the next address {}",
                  target.label, next.to_string());
    co_await start_branch(target, &next, std::move(rest));
}

asio::awaitable<void> ResponseContext::run() {
    auto self = shared_from_this();
    const auto& req = st_->request();
    const bool invite = req.method() == sip::Method::Invite;
    std::weak_ptr<ResponseContext> weak = self;
    st_->on_cancel = [weak]() {
        if (auto s = weak.lock()) {
            Event ev;
            ev.cancel = true;
            s->inbox_.push(std::move(ev));
        }
    };
    const auto timer_c = core_.timer_c();

    for (std::size_t g = 0; g < plan_.groups.size(); ++g) {
        if (answered_ || cancelled_ || six_xx_ || st_->cancelled()) break;
        // Gateways: a 4xx from the last one is the caller's answer; only server
        // failures move on (issue: failover on 408/5xx/no answer).
        if (g > 0 && plan_.policy == FailoverPolicy::ServerFailures && best_status_ &&
            !is_failover_status(best_status_))
            break;
        co_await start_group(plan_.groups[g]);

        auto no_answer = Clock::time_point::max();
        if (plan_.branch_timeout.count() > 0) no_answer = Clock::now() + plan_.branch_timeout;
        auto timer_c_at = invite ? Clock::now() + timer_c : Clock::time_point::max();

        while (pending_ > 0 && !answered_) {
            auto ev = co_await inbox_.pop_until(std::min(no_answer, timer_c_at));
            if (!ev) {
                if (inbox_.closed()) co_return;
                // Timer C or the group's no-answer timer (16.6 step 11): as if a 408 came.
                cancel_pending(408, true);
                break;
            }
            if (ev->cancel) {
                cancelled_ = true;
                cancel_pending(487, false);
                continue;
            }
            auto& b = branches_[ev->branch];
            if (ev->response) {
                const int s = ev->status;
                if (s < 200) {
                    if (b.done) continue;
                    b.provisional = true;
                    if (invite) timer_c_at = Clock::now() + timer_c;  // reset on provisional
                    if (s > 100) {
                        forward_upstream(*ev->response);  // 16.7 step 5
                        if (invite && reports_call_)
                            core_.call_events().provisional(req.call_id(), req.from().tag);
                    }
                    continue;
                }
                if (s < 300) {
                    forward_upstream(*ev->response);  // every 2xx, at once
                    if (invite && reports_call_ && !answered_)
                        core_.call_events().answered(req.call_id(), req.from().tag,
                                                     ev->response->to().tag,
                                                     b.target && !b.target->request_uri.empty()
                                                         ? std::string_view(b.target->request_uri)
                                                         : req.request_uri().raw,
                                                     b.gateway);
                    if (!b.done) b.done = true, --pending_;
                    answered_ = true;
                    cancel_pending(487, true);  // 16.7 step 10: CANCEL the others
                    continue;
                }
                if (b.done) continue;  // a late final of a branch given up on
                b.done = true;
                --pending_;
                if (s >= 600) six_xx_ = true;
                const bool next = tries_next_candidate(b, *ev);
                consider_final(*ev, !next);
                if (six_xx_) cancel_pending(487, true);
                if (next) co_await try_next_candidate(ev->branch);
            } else {
                if (b.done) continue;
                b.done = true;
                --pending_;
                const bool next = tries_next_candidate(b, *ev);
                consider_final(*ev, !next);
                if (next) co_await try_next_candidate(ev->branch);
            }
        }
    }

    if (!answered_) send_best();
    report_call_end();
}

void ResponseContext::report_call_end() {
    const auto& req = st_->request();
    if (req.method() == sip::Method::Bye) {
        // RFC 3261 15.1.2 / 12.2.1.2: the 2xx ends the dialog; so do 481 and 408 (the
        // dialog is gone, or the peer is). A challenged BYE comes back: not an end.
        if (answered_ || sent_status_ == 481 || sent_status_ == 408)
            core_.call_events().bye_answered(req.call_id(), req.from().tag, req.to().tag);
        return;
    }
    if (req.method() != sip::Method::Invite || !reports_call_ || answered_) return;
    std::string_view target, gateway;
    if (best_branch_ < branches_.size()) {
        const auto& b = branches_[best_branch_];
        target = b.target && !b.target->request_uri.empty() ? std::string_view(b.target->request_uri)
                                                            : req.request_uri().raw;
        gateway = b.gateway;
    }
    core_.call_events().failed(req.call_id(), req.from().tag, sent_status_, sent_reason_,
                               sent_local_, cancelled_ || st_->cancelled(), target, gateway);
}

void ResponseContext::send_best() {
    if (st_->final_sent()) return;
    if (!best_) {
        sent_local_ = true;
        sent_status_ = best_status_ ? best_status_ : 503;
        sent_reason_ = best_status_ ? best_reason_ : "No reachable target";
        st_->respond(sent_status_, sent_reason_);
        return;
    }
    const int s = best_->status();
    sent_status_ = s;
    sent_reason_ = std::string(best_->reason());
    if (s == 503) {
        sent_status_ = 500;
        sent_reason_ = "Server Internal Error";
        st_->respond(500, "Server Internal Error");  // 16.7 step 6: a 503 becomes 500
        return;
    }
    sip::Rewrite rw(*best_);
    rw.remove_first_value(best_->vias().front().header_index);
    if ((s == 401 || s == 407) && !challenges_.empty()) {
        // Add the challenges of the other branches (the best one's own are already in).
        std::vector<std::string> own;
        for (const auto& h : best_->headers())
            if (h.id == sip::HeaderId::WwwAuthenticate || h.id == sip::HeaderId::ProxyAuthenticate)
                own.push_back(std::string(h.name) + ": " + std::string(h.value));
        for (const auto& c : challenges_) {
            if (std::find(own.begin(), own.end(), c) != own.end()) continue;
            auto colon = c.find(':');
            rw.append(c.substr(0, colon), c.substr(colon + 2));
        }
    }
    st_->send_response(rw.write(), s);
}

}  // namespace sipproxy::proxy
