// Bans, failed-authentication scores and fraud counters shared by the nodes of a cluster
// through Redis (issue #15 item 4), so that the limits hold for the cluster: see
// docs/cluster.md "Bans and limits across the nodes" for the accuracy.
//
// Bans: each ban made here (by a limit or the operator) is written to the hash
// sipproxy:bans (field: the network) and published on sipproxy:ban; each removal by the
// operator is deleted and published. Every node applies the others' notices (never
// re-published: no echo) and reads the hash whenever it (re)connects, so a node that starts
// or comes back learns the bans in force and drops those lifted meanwhile.
//
// Counts: failed authentications per source and per user, calls admitted per counted scope
// and calls in progress are noted as they happen and published on sipproxy:abuse at once
// when nothing else waited (kick_abuse_batch), else with the next batch (every kBatch);
// the other nodes add them to their own counters (not re-published). Calls in progress are
// a node's current values (all of them every kHeartbeat), kept per node and forgotten when
// not repeated for fraud::CallLimits::kHeldFresh.
#include <asio/steady_timer.hpp>

#include <set>

#include "base/log.hpp"
#include "cluster/abuse_notice.hpp"
#include "daemon/daemon.hpp"
#include "registrar/redis_location_store.hpp"

namespace sipproxy::daemon {

namespace {

constexpr auto kBatch = std::chrono::milliseconds(20);
// A count noted while nothing waited is sent at once, but not sooner than this after the
// last batch (a flood becomes at most 1 / kKickSpacing + 1 / kBatch messages a second).
constexpr auto kKickSpacing = std::chrono::milliseconds(5);
constexpr auto kHeartbeat = std::chrono::seconds(1);

// KEYS[1] the bans hash; ARGV: the field, now (ms). Deletes the field only when its ban is
// over: another node may have banned the network again meanwhile.
constexpr const char* kForgetExpired = R"lua(
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local u = tonumber(string.match(v, '^%-?%d+'))
if u == nil or (u > 0 and u <= tonumber(ARGV[2])) then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
)lua";

// Set while this thread applies another node's ban: its on_ban/on_unban is not published.
thread_local bool applying_shared = false;

std::int64_t to_ms(ingress::WallClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

ingress::BanTable::Request request_of(const cluster::BanNotice& n, const Cidr& network,
                                      const std::string& self) {
    ingress::BanTable::Request r;
    r.network = network;
    r.reason = n.reason.empty() ? (n.automatic ? "auth" : "operator") : n.reason;
    r.note = n.note;
    r.automatic = n.automatic;
    r.origin = n.origin == self ? std::string() : n.origin;  // ours (a restart): saved here
    r.until = n.until_ms == 0 ? ingress::WallClock::time_point::max()
                              : ingress::WallClock::time_point(std::chrono::milliseconds(n.until_ms));
    return r;
}

}  // namespace

void Daemon::share_abuse() {
    auto* store = redis_store_;
    const std::string self = config_->server.node_id;
    const std::string bans_key = store->key_prefix() + "bans";
    auto& bans = admission_.bans();
    services_.guesses.share(true);
    services_.user_throttle.share(true);
    services_.fraud.share(true);
    services_.guesses.on_shared([this] { kick_abuse_batch(); });
    services_.user_throttle.on_shared([this] { kick_abuse_batch(); });
    services_.fraud.on_shared([this] { kick_abuse_batch(); });

    // Bans made or lifted here: to Redis, for every node.
    bans.on_ban([this, store, self, bans_key](const ingress::Ban& b) {
        for (auto& w : workers_) {
            Worker* worker = w.get();
            asio::post(worker->io(), [worker, network = b.network]() {
                worker->transport().close_connections_from(network);
            });
        }
        if (applying_shared || !b.origin.empty()) return;
        cluster::BanNotice n;
        n.network = b.network.to_string();
        n.origin = self;
        n.until_ms = b.forever() ? 0 : to_ms(b.until);
        n.automatic = b.automatic;
        n.reason = b.reason;
        n.note = b.note;
        store->send({"HSET", bans_key, n.network, cluster::encode_ban_record(n)});
        store->publish("ban", cluster::encode_ban_notice(n));
        shared_abuse_sent_.fetch_add(1, std::memory_order_relaxed);
    });
    bans.on_unban([this, store, self, bans_key](const Cidr& network, const std::string& origin) {
        if (applying_shared || !origin.empty()) return;
        cluster::BanNotice n;
        n.add = false;
        n.network = network.to_string();
        n.origin = self;
        store->send({"HDEL", bans_key, n.network});
        store->publish("ban", cluster::encode_ban_notice(n));
        shared_abuse_sent_.fetch_add(1, std::memory_order_relaxed);
    });

    // Another node's ban or removal.
    store->on_notice("ban", [this, self](std::string_view m) {
        auto n = cluster::decode_ban_notice(m);
        if (!n || n->origin == self) return;  // our own, back from Redis
        auto network = Cidr::parse(n->network);
        if (!network) return;
        shared_abuse_received_.fetch_add(1, std::memory_order_relaxed);
        applying_shared = true;
        if (n->add)
            admission_.bans().add(request_of(*n, *network, self));
        else
            admission_.bans().remove(*network, n->origin);
        applying_shared = false;
    });
    // The bans in force, read at every (re)connection: those made while this node was away
    // are applied, the others' lifted meanwhile are dropped, expired entries are cleaned,
    // and this node's own bans that Redis lacks (made while it was unreachable, or lost
    // with a restarted server) are written back. The price: an own ban lifted at another
    // node while this one was cut off comes back until it ends or is lifted again.
    store->on_resync_hash("bans", [this, store, self, bans_key](
                                      std::vector<std::pair<std::string, std::string>> fields,
                                      bool other_server) {
        const auto now = ingress::WallClock::now();
        std::set<std::string> in_redis, here;
        const auto local = admission_.bans().list();
        for (const auto& b : local)
            if (auto c = Cidr::parse(b.network)) here.insert(c->to_string());
        applying_shared = true;
        for (const auto& [field, value] : fields) {
            auto n = cluster::decode_ban_record(field, value);
            auto network = Cidr::parse(field);
            if (!n || !network || (n->until_ms && n->until_ms <= to_ms(now))) {
                store->send({"EVAL", kForgetExpired, "1", bans_key, field,
                             std::to_string(to_ms(now))});
                continue;
            }
            in_redis.insert(network->to_string());
            if (!here.count(network->to_string()))
                admission_.bans().add(request_of(*n, *network, self));
        }
        for (const auto& b : local) {
            auto network = Cidr::parse(b.network);
            if (!network || in_redis.count(network->to_string())) continue;
            if (!b.origin.empty()) {
                // Another node's, gone from the same server: lifted meanwhile. (From a new
                // server: kept; its node writes it back.)
                if (!other_server) admission_.bans().remove(*network, "redis");
                continue;
            }
            cluster::BanNotice n;
            n.network = network->to_string();
            n.origin = self;
            n.until_ms = b.forever ? 0 : to_ms(b.until);
            n.automatic = b.reason != "operator";
            n.reason = b.reason;
            n.note = b.note;
            store->send({"HSET", bans_key, n.network, cluster::encode_ban_record(n)});
            store->publish("ban", cluster::encode_ban_notice(n));
        }
        applying_shared = false;
    });

    // Counts of the other nodes.
    store->on_notice("abuse", [this, self](std::string_view m) {
        auto batch = cluster::decode_abuse_batch(m);
        if (!batch || batch->node == self) return;
        shared_abuse_received_.fetch_add(1, std::memory_order_relaxed);
        const auto now = auth::Clock::now();
        for (const auto& c : batch->sources) {
            const auto n = services_.guesses.add(c.key, c.n, c.reset, now);
            if (!n) continue;
            // This node saw the cluster's total reach the limit: it bans (and tells the others).
            auto network = Cidr::parse(c.key);
            if (!network) continue;
            ingress::BanTable::Request r;
            r.network = *network;
            r.reason = "auth";
            r.note = std::to_string(n) + " failed authentications (cluster)";
            r.duration = services_.guesses.ban_time();
            admission_.bans().add(r);
        }
        if (!batch->users.empty()) {
            auth::UserThrottle::Limits l;
            if (auto snap = services_.snapshots.get(); snap && snap->config) {
                l.max_failures = snap->config->security.user_auth_failures;
                l.window = snap->config->security.auth_window;
                l.known_for = snap->config->security.user_known_time;
            }
            for (const auto& c : batch->users)
                if (services_.user_throttle.add(c.key, c.n, now, l))
                    log::warn("user throttled: user={} failures={} window={}s known_sources_only "
                              "cluster",
                              c.key.substr(0, 64), l.max_failures, l.window.count());
        }
        const auto fnow = fraud::Clock::now();
        for (const auto& c : batch->calls) services_.fraud.add_calls(c.key, c.n, fnow);
        for (const auto& c : batch->concurrent) services_.fraud.set_held(batch->node, c.key, c.n, fnow);
    });

    share_timer_ = std::make_unique<asio::steady_timer>(main_io_);
    schedule_abuse_batch();
}

void Daemon::forget_shared_ban(const Cidr& network) {
    redis_store_->send({"EVAL", kForgetExpired, "1", redis_store_->key_prefix() + "bans",
                        network.to_string(),
                        std::to_string(to_ms(ingress::WallClock::now()))});
}

void Daemon::kick_abuse_batch() {
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    if (now - last_abuse_batch_.load(std::memory_order_relaxed) <
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(kKickSpacing).count())
        return;  // the next batch takes it
    if (abuse_kicked_.exchange(true)) return;
    asio::post(main_io_, [this] {
        abuse_kicked_ = false;
        publish_abuse_batch();
    });
}

void Daemon::publish_abuse_batch() {
    const auto now = std::chrono::steady_clock::now();
    last_abuse_batch_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    const bool heartbeat = now - last_heartbeat_ >= kHeartbeat;
    if (heartbeat) last_heartbeat_ = now;
    cluster::AbuseBatch b;
    b.node = config_->server.node_id;
    for (auto& s : services_.guesses.take_shared())
        b.sources.push_back({std::move(s.source), s.failures, s.reset});
    for (auto& [user, n] : services_.user_throttle.take_shared())
        b.users.push_back({std::move(user), n, false});
    auto f = services_.fraud.take_shared(heartbeat);
    for (auto& [k, n] : f.calls) b.calls.push_back({std::move(k), n, false});
    for (auto& [k, n] : f.held) b.concurrent.push_back({std::move(k), n, false});
    if (b.empty()) return;
    for (auto& m : cluster::encode_abuse_batch(b)) {
        redis_store_->publish("abuse", std::move(m));
        shared_abuse_sent_.fetch_add(1, std::memory_order_relaxed);
    }
}

void Daemon::schedule_abuse_batch() {
    share_timer_->expires_after(kBatch);
    share_timer_->async_wait([this](const asio::error_code& ec) {
        if (ec) return;
        publish_abuse_batch();
        schedule_abuse_batch();
    });
}

}  // namespace sipproxy::daemon
