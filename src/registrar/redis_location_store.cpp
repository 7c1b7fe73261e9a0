#include "registrar/redis_location_store.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_map>

#include "base/log.hpp"
#include "base/parse_number.hpp"
#include "registrar/binding_record.hpp"
#include "registrar/packed_binding.hpp"

namespace sipproxy::registrar {

namespace {

// KEYS[1] the AOR's hash; ARGV: channel, aor, expire-at (ms), number of deletions, the
// deleted fields, then field/value pairs to set. One atomic step: the notice it publishes
// is the AOR's state right after the change.
constexpr const char* kChangeScript = R"lua(
local k = KEYS[1]
local n = tonumber(ARGV[4])
local i = 5
for j = 1, n do redis.call('HDEL', k, ARGV[i]); i = i + 1 end
while i < #ARGV do redis.call('HSET', k, ARGV[i], ARGV[i + 1]); i = i + 2 end
if redis.call('EXISTS', k) == 1 then
  local at = tonumber(ARGV[3])
  if at > 0 and redis.call('PEXPIRETIME', k) < at then redis.call('PEXPIREAT', k, at) end
end
local vals = redis.call('HVALS', k)
table.insert(vals, 1, ARGV[2])
redis.call('PUBLISH', ARGV[1], table.concat(vals, '\n'))
return 1
)lua";

struct ReplyFree {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv;
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

Reply command(redisContext* c, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    return Reply(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
}

std::string context_error(redisContext* c) {
    if (!c) return "cannot allocate a connection";
    return c->errstr[0] ? std::string(c->errstr) : std::string("connection lost");
}

}  // namespace

RedisLocationStore::RedisLocationStore(RedisStoreOptions o) : options_(std::move(o)) {}

std::string RedisLocationStore::url() const {
    if (options_.sentinels.empty())
        return "redis://" + options_.host + ":" + std::to_string(options_.port) + "/" +
               std::to_string(options_.db);
    // The form redis-py and others use for a Sentinel-managed primary.
    std::string u = "redis+sentinel://";
    for (std::size_t i = 0; i < options_.sentinels.size(); ++i) {
        const auto& [host, port] = options_.sentinels[i];
        u += (i ? "," : "") + (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
             ":" + std::to_string(port);
    }
    return u + "/" + options_.sentinel_master + "/" + std::to_string(options_.db);
}

Expected<std::unique_ptr<RedisLocationStore>, std::string> RedisLocationStore::open(
    RedisStoreOptions o) {
    std::unique_ptr<RedisLocationStore> store(new RedisLocationStore(std::move(o)));
    bool refused = false;
    std::string e = store->connect(store->writer_ctx_, true, &refused);
    if (refused) return Unexpected("location store " + store->url() + ": " + e);
    if (e.empty()) {
        store->connected_ = true;
        // The nonce secret of the cluster: a challenge from one node verifies at another.
        std::string random(32, '\0');
        {
            std::FILE* f = std::fopen("/dev/urandom", "rb");
            if (f) {
                if (std::fread(random.data(), 1, random.size(), f) != random.size()) random.clear();
                std::fclose(f);
            } else {
                random.clear();
            }
        }
        const std::string key = store->options_.key_prefix + "secret:nonce";
        if (!random.empty()) command(store->writer_ctx_, {"SET", key, random, "NX"});
        if (auto r = command(store->writer_ctx_, {"GET", key});
            r && r->type == REDIS_REPLY_STRING && r->len == 32)
            store->nonce_secret_.assign(r->str, r->len);
        if (auto r = store->resync(); !r.empty()) {
            log::warn("location store {}: cannot load the bindings: {}", store->url(), r);
        }
    } else {
        store->set_error(e);
        log::error("location store {}: unreachable, REGISTERs are answered 503 until it is: {}",
                   store->url(), e);
    }
    store->writer_ = std::thread([s = store.get()] { s->writer_loop(); });
    store->subscriber_ = std::thread([s = store.get()] { s->subscriber_loop(); });
    return store;
}

RedisLocationStore::~RedisLocationStore() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_writer_.notify_all();
    // A thread blocked reading from a Redis that does not answer (a hung server, a network
    // that drops packets) would keep the stop waiting for command_timeout, and again for
    // each reconnect: its socket is shut down, the read ends at once. Acknowledged changes
    // are in Redis already (flush() ran before); what is still in flight was never answered.
    {
        std::lock_guard lock(sockets_mu_);
        for (int fd : sockets_) ::shutdown(fd, SHUT_RDWR);
    }
    if (writer_.joinable()) writer_.join();
    if (subscriber_.joinable()) subscriber_.join();
    if (writer_ctx_) release(writer_ctx_);
}

void RedisLocationStore::track(redisContext* c) {
    std::lock_guard lock(sockets_mu_);
    sockets_.push_back(c->fd);
    if (stopping_) ::shutdown(c->fd, SHUT_RDWR);  // connected while the stop went by
}

void RedisLocationStore::release(redisContext*& c) {
    {
        // Forgotten before it is closed: the number may be reused by another socket.
        std::lock_guard lock(sockets_mu_);
        std::erase(sockets_, c->fd);
    }
    redisFree(c);
    c = nullptr;
}

std::string RedisLocationStore::ask_sentinels(std::string& host, std::uint16_t& port,
                                              bool fatal_auth, bool* auth_refused) {
    std::string errors;
    for (const auto& [s_host, s_port] : options_.sentinels) {
        const std::string where = "sentinel " + s_host + ":" + std::to_string(s_port);
        auto note = [&](const std::string& e) { errors += (errors.empty() ? "" : "; ") + where + ": " + e; };
        redisContext* c =
            redisConnectWithTimeout(s_host.c_str(), s_port, to_timeval(options_.connect_timeout));
        if (!c || c->err) {
            note(context_error(c));
            if (c) redisFree(c);
            continue;
        }
        // A sentinel answers from memory: the connect timeout bounds the whole exchange.
        redisSetTimeout(c, to_timeval(options_.connect_timeout));
        std::unique_ptr<redisContext, void (*)(redisContext*)> owned(c, redisFree);
        if (!options_.sentinel_password.empty()) {
            auto r = command(c, {"AUTH", options_.sentinel_password});
            if (!r) {
                note(context_error(c));
                continue;
            }
            if (r->type == REDIS_REPLY_ERROR) {
                note("AUTH refused (check [redis] sentinel_password): " + std::string(r->str, r->len));
                if (fatal_auth && auth_refused) *auth_refused = true;
                continue;
            }
        }
        auto r = command(c, {"SENTINEL", "get-master-addr-by-name", options_.sentinel_master});
        if (!r) {
            note(context_error(c));
            continue;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            std::string e(r->str, r->len);
            // NOAUTH: the sentinel wants a password and none is configured.
            note((e.starts_with("NOAUTH") ? "a password is required ([redis] sentinel_password): "
                                          : std::string()) + e);
            if (e.starts_with("NOAUTH") && fatal_auth && auth_refused) *auth_refused = true;
            continue;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) {
            note("does not monitor a primary named '" + options_.sentinel_master +
                 "' (check [redis] sentinel_master)");
            continue;
        }
        const std::string p(r->element[1]->str, r->element[1]->len);
        unsigned n = 0;
        if (!parse_number(p, n) || n == 0 || n > 65535) {
            note("unexpected port '" + p + "'");
            continue;
        }
        host.assign(r->element[0]->str, r->element[0]->len);
        port = static_cast<std::uint16_t>(n);
        return {};
    }
    return "no sentinel named the primary '" + options_.sentinel_master + "': " + errors;
}

std::string RedisLocationStore::connect(redisContext*& c, bool fatal_auth, bool* auth_refused) {
    if (c) release(c);
    std::string host = options_.host;
    std::uint16_t port = options_.port;
    const bool sentinel = !options_.sentinels.empty();
    if (sentinel) {
        // Asked again on every connection: after a failover the sentinels name another.
        if (auto e = ask_sentinels(host, port, fatal_auth, auth_refused); !e.empty()) return e;
    }
    const std::string address = host + ":" + std::to_string(port);
    c = redisConnectWithTimeout(host.c_str(), port, to_timeval(options_.connect_timeout));
    if (!c || c->err) {
        std::string e = context_error(c);
        if (c) redisFree(c);
        c = nullptr;
        return sentinel ? "primary " + address + " (from Sentinel): " + e : e;
    }
    track(c);
    redisSetTimeout(c, to_timeval(options_.command_timeout));
    redisEnableKeepAlive(c);
    auto fail = [&](std::string e, bool refused) {
        if (refused && auth_refused) *auth_refused = true;
        release(c);
        return e;
    };
    if (!options_.password.empty()) {
        auto r = command(c, {"AUTH", options_.password});
        if (!r) return fail(context_error(c), false);
        if (r->type == REDIS_REPLY_ERROR)
            return fail("AUTH refused (check [redis] password): " + std::string(r->str, r->len),
                        fatal_auth);
    }
    if (sentinel) {
        // The sentinels may lag behind a failover: a replica is never written to.
        auto r = command(c, {"ROLE"});
        if (!r) return fail(context_error(c), false);
        if (r->type == REDIS_REPLY_ERROR) {
            std::string e(r->str, r->len);
            return fail((e.starts_with("NOAUTH") ? "a password is required ([redis] password): "
                                                 : "ROLE: ") + e,
                        fatal_auth && e.starts_with("NOAUTH"));
        }
        std::string role;
        if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
            r->element[0]->type == REDIS_REPLY_STRING)
            role.assign(r->element[0]->str, r->element[0]->len);
        if (role != "master")
            return fail("the sentinels named " + address + " as primary but it says ROLE " +
                            (role.empty() ? "(none)" : role) + ": asking them again",
                        false);
    }
    auto r = command(c, {"SELECT", std::to_string(options_.db)});
    if (!r) return fail(context_error(c), false);
    if (r->type == REDIS_REPLY_ERROR) {
        std::string e(r->str, r->len);
        // NOAUTH: the server wants a password and none is configured.
        return fail((e.starts_with("NOAUTH") ? "a password is required ([redis] password): "
                                             : "SELECT " + std::to_string(options_.db) + ": ") +
                        e,
                    fatal_auth);
    }
    bool changed = false;
    {
        std::lock_guard lock(mu_);
        changed = health_.primary != address;
        health_.primary = address;
        health_.from_sentinel = sentinel;
    }
    if (changed && sentinel) log::info("location store {}: primary is {} (from Sentinel)", url(), address);
    return {};
}

void RedisLocationStore::publish(const std::string& topic, std::string message) {
    if (!connected_) return;
    {
        std::lock_guard lock(mu_);
        if (outbox_.size() >= 100000) return;  // Redis too slow: bounded, the rest dropped
        outbox_.push_back({"PUBLISH", options_.key_prefix + topic, std::move(message)});
    }
    wake_writer_.notify_one();
}

void RedisLocationStore::send(std::vector<std::string> command) {
    if (!connected_ || command.empty()) return;
    {
        std::lock_guard lock(mu_);
        if (outbox_.size() >= 100000) return;
        outbox_.push_back(std::move(command));
    }
    wake_writer_.notify_one();
}

void RedisLocationStore::on_resync_hash(const std::string& name, HashReader reader) {
    {
        std::lock_guard lock(mu_);
        hash_readers_[options_.key_prefix + name] = std::move(reader);
    }
    hashes_needed_ = true;
    wake_writer_.notify_one();
}

void RedisLocationStore::read_hashes(bool other_server) {
    std::map<std::string, HashReader> readers;
    {
        std::lock_guard lock(mu_);
        readers = hash_readers_;
    }
    for (const auto& [key, reader] : readers) {
        auto r = command(writer_ctx_, {"HGETALL", key});
        if (!r || r->type != REDIS_REPLY_ARRAY) continue;
        std::vector<std::pair<std::string, std::string>> fields;
        for (std::size_t i = 0; i + 1 < r->elements; i += 2)
            fields.emplace_back(std::string(r->element[i]->str, r->element[i]->len),
                                std::string(r->element[i + 1]->str, r->element[i + 1]->len));
        reader(std::move(fields), other_server);
    }
}

void RedisLocationStore::on_notice(const std::string& topic, Notice handler) {
    std::lock_guard lock(mu_);
    handlers_[options_.key_prefix + topic] = std::move(handler);
}

void RedisLocationStore::set_error(const std::string& e) {
    std::lock_guard lock(mu_);
    health_.last_error = e;
}

void RedisLocationStore::note_peer(const std::string& node) {
    if (node.empty() || node == options_.node_id) return;
    std::lock_guard lock(mu_);
    if (std::find(health_.peers.begin(), health_.peers.end(), node) == health_.peers.end())
        health_.peers.push_back(node);
}

RedisStoreHealth RedisLocationStore::health() const {
    std::lock_guard lock(mu_);
    RedisStoreHealth h = health_;
    h.connected = connected_;
    h.subscribed = subscribed_;
    std::sort(h.peers.begin(), h.peers.end());
    return h;
}

bool RedisLocationStore::apply(std::string_view aor, TimePoint now, const Mutation& mutate,
                               Committed committed) {
    if (!connected_) {
        // Refused before anything changes: never a 200 OK for a binding not stored.
        std::string why;
        {
            std::lock_guard lock(mu_);
            ++health_.write_failures;
            why = health_.last_error;
        }
        if (committed) committed(std::string(kStoreUnavailable) + "redis " + url() + ": " + why);
        return false;
    }
    bool queued = false;
    auto record = [&](std::vector<Binding>& bindings) {
        std::unordered_map<std::string, Binding> before;
        for (const auto& b : bindings) before.emplace(binding_key(b), b);
        if (!mutate(bindings)) return false;
        Change ch;
        ch.aor = std::string(aor);
        std::set<std::string> kept;
        for (const auto& b : bindings) {
            auto key = binding_key(b);
            auto value = encode_binding(b, b.node.empty() ? options_.node_id : b.node);
            auto it = before.find(key);
            kept.insert(key);
            if (it != before.end() && encode_binding(it->second, it->second.node.empty() ? options_.node_id : it->second.node) == value)
                continue;
            ch.before.emplace_back(key, it == before.end() ? std::nullopt
                                                           : std::optional<Binding>(it->second));
            ch.expire_at_ms = std::max(ch.expire_at_ms, detail::to_ms(b.expires_at) + 1000);
            ch.set.emplace_back(std::move(key), std::move(value));
        }
        for (auto& [key, b] : before) {
            if (kept.count(key)) continue;
            ch.deleted.push_back(key);
            ch.before.emplace_back(key, b);
        }
        if (ch.set.empty() && ch.deleted.empty()) return true;
        ch.committed = std::move(committed);
        {
            // Still under the AOR's lock: the changes of one AOR are written in order.
            std::lock_guard lock(mu_);
            dirty_.push_back(std::move(ch));
            ++marked_;
        }
        queued = true;
        return true;
    };
    bool changed;
    try {
        changed = index_.apply(aor, now, record);
    } catch (...) {
        if (!queued && committed) committed("");
        throw;
    }
    if (queued)
        wake_writer_.notify_one();
    else if (committed)
        committed("");
    return changed;
}

std::size_t RedisLocationStore::remove_aor(std::string_view aor, Committed committed) {
    std::size_t n = 0;
    apply(aor, Clock::now(),
          [&](std::vector<Binding>& bindings) {
              n = bindings.size();
              bindings.clear();
              return n > 0;
          },
          std::move(committed));
    return n;
}

void RedisLocationStore::load(std::vector<Binding> bindings) {
    std::map<std::string, std::vector<Binding>> by_aor;
    for (auto& b : bindings) by_aor[b.aor].push_back(std::move(b));
    for (auto& [aor, list] : by_aor)
        apply(aor, Clock::now(), [&](std::vector<Binding>& current) {
            current.insert(current.end(), list.begin(), list.end());
            return true;
        });
}

bool RedisLocationStore::flush() {
    std::unique_lock lock(mu_);
    const auto target = marked_;
    wake_writer_.notify_one();
    // As long as the writer makes progress: a Redis that answers gets every change. One
    // that does not (hung, packets dropped) does not hold the stop for its timeouts; what
    // is still queued then was never acknowledged (a REGISTER's 200 waits for its write).
    // (A second flush while it is still stuck gives up at once.)
    for (;;) {
        using namespace std::chrono_literals;
        const auto seen = done_;
        if (flush_stuck_at_ == seen && seen < target) return false;
        if (written_.wait_for(lock, 500ms, [&] { return done_ >= target || stopping_; })) break;
        if (done_ == seen) {
            flush_stuck_at_ = seen;
            return false;
        }
    }
    return health_.last_error.empty() || connected_;
}

void RedisLocationStore::replace_aor(const std::string& aor, std::vector<Binding> fresh) {
    index_.apply(aor, Clock::now(), [&](std::vector<Binding>& current) {
        for (auto& f : fresh)
            for (const auto& m : current)
                if (binding_key(f) == binding_key(m)) f.flow_id = m.flow_id;
        current = std::move(fresh);
        return true;
    });
}

void RedisLocationStore::apply_notice(std::string_view message) {
    auto nl = message.find('\n');
    std::string aor(message.substr(0, nl));
    std::vector<Binding> fresh;
    const auto now = Clock::now();
    while (nl != std::string_view::npos) {
        message.remove_prefix(nl + 1);
        nl = message.find('\n');
        std::string node;
        auto b = decode_binding(aor, message.substr(0, nl), &node);
        if (!b || !b->live(now)) continue;
        note_peer(node);
        fresh.push_back(std::move(*b));
    }
    replace_aor(aor, std::move(fresh));
    std::lock_guard lock(mu_);
    ++health_.notices;
}

std::string RedisLocationStore::resync() {
    redisContext* c = writer_ctx_;
    std::string run_id;
    if (auto r = command(c, {"INFO", "server"}); r && r->type == REDIS_REPLY_STRING) {
        std::string_view info(r->str, r->len);
        if (auto at = info.find("run_id:"); at != std::string_view::npos) {
            auto end = info.find_first_of("\r\n", at);
            run_id = std::string(info.substr(at + 7, end == std::string_view::npos ? end : end - at - 7));
        }
    }
    const bool other_server = !run_id_.empty() && !run_id.empty() && run_id != run_id_;
    const std::string prefix = options_.key_prefix + "loc:";
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
        auto r = command(c, {"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"});
        if (!r) return context_error(c);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return "unexpected SCAN reply";
        cursor.assign(r->element[0]->str, r->element[0]->len);
        for (std::size_t i = 0; i < r->element[1]->elements; ++i)
            keys.emplace_back(r->element[1]->element[i]->str, r->element[1]->element[i]->len);
    } while (cursor != "0");
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());

    const auto now = Clock::now();
    std::set<std::string> in_redis;
    std::vector<Binding> lacking;  // by the new server, in AORs it has (other_server only)
    for (std::size_t first = 0; first < keys.size(); first += 1000) {
        const std::size_t last = std::min(keys.size(), first + 1000);
        for (std::size_t i = first; i < last; ++i) {
            const char* argv[] = {"HVALS", keys[i].c_str()};
            const std::size_t lens[] = {5, keys[i].size()};
            redisAppendCommandArgv(c, 2, argv, lens);
        }
        for (std::size_t i = first; i < last; ++i) {
            void* raw = nullptr;
            if (redisGetReply(c, &raw) != REDIS_OK) return context_error(c);
            Reply r(static_cast<redisReply*>(raw));
            if (r->type != REDIS_REPLY_ARRAY) continue;
            std::string aor = keys[i].substr(prefix.size());
            std::vector<Binding> fresh;
            for (std::size_t j = 0; j < r->elements; ++j) {
                std::string node;
                auto b = decode_binding(aor, std::string_view(r->element[j]->str, r->element[j]->len),
                                        &node);
                if (!b || !b->live(now)) continue;
                note_peer(node);
                fresh.push_back(std::move(*b));
            }
            in_redis.insert(aor);
            if (other_server) {
                // What the old server acknowledged and did not pass on before it went
                // (a replica lags its primary): a binding missing here, or an older copy.
                for (auto& mine : index_.list(aor, now)) {
                    const auto key = binding_key(mine);
                    auto same = std::find_if(fresh.begin(), fresh.end(), [&](const Binding& f) {
                        return binding_key(f) == key;
                    });
                    if (same != fresh.end() && same->expires_at >= mine.expires_at) continue;
                    if (same != fresh.end()) fresh.erase(same);
                    fresh.push_back(mine);
                    lacking.push_back(std::move(mine));
                }
            }
            replace_aor(aor, std::move(fresh));
        }
    }
    // AORs the index holds that Redis does not.
    std::vector<Binding> only_here;
    std::string after;
    for (;;) {
        auto page = index_.list_after(after, now, 1000);
        for (auto& b : page.bindings)
            if (!in_redis.count(b.aor)) only_here.push_back(std::move(b));
        if (page.next.empty()) break;
        after = page.next;
    }
    if (!run_id.empty()) run_id_ = run_id;
    // Another Redis than before (restarted, or a replica promoted): what it lacks was lost
    // with the old one, not deleted, so this node writes back what it holds: no
    // registration it acknowledged is lost while it is up. (An AOR unregistered at another
    // node between the restart and this resync comes back until it expires or is removed
    // again: the price of not losing the others.)
    if (other_server && (!only_here.empty() || !lacking.empty())) {
        log::warn("location store {}: a new Redis server (restarted or failed over) lacks {} "
                  "binding(s) this node holds: writing them back", url(),
                  only_here.size() + lacking.size());
        std::map<std::string, std::vector<Binding>> by_aor;
        for (auto& b : only_here) by_aor[b.aor].push_back(std::move(b));
        for (auto& b : lacking) by_aor[b.aor].push_back(std::move(b));
        std::lock_guard lock(mu_);
        for (auto& [aor, list] : by_aor) {
            Change ch;
            ch.aor = aor;
            ch.write_back = true;
            for (const auto& b : list) {
                ch.set.emplace_back(binding_key(b),
                                    encode_binding(b, b.node.empty() ? options_.node_id : b.node));
                ch.expire_at_ms = std::max(ch.expire_at_ms, detail::to_ms(b.expires_at) + 1000);
            }
            dirty_.push_back(std::move(ch));
            ++marked_;
        }
    } else {
        std::set<std::string> gone;
        for (const auto& b : only_here) gone.insert(b.aor);
        for (const auto& aor : gone) replace_aor(aor, {});
    }
    // Read by the writer loop once the connection is in use (what the readers send back
    // would be dropped before).
    if (other_server) hashes_other_server_ = true;
    hashes_needed_ = true;
    return {};
}

std::string RedisLocationStore::write(std::vector<Change>& batch) {
    redisContext* c = writer_ctx_;
    if (!c) return "not connected";
    const std::string channel = options_.key_prefix + "loc";
    for (const auto& ch : batch) {
        std::vector<std::string> args{"EVAL",  kChangeScript, "1", options_.key_prefix + "loc:" + ch.aor,
                                      channel, ch.aor,        std::to_string(ch.expire_at_ms),
                                      std::to_string(ch.deleted.size())};
        for (const auto& k : ch.deleted) args.push_back(k);
        for (const auto& [k, v] : ch.set) {
            args.push_back(k);
            args.push_back(v);
        }
        std::vector<const char*> argv;
        std::vector<std::size_t> lens;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
            REDIS_OK)
            return context_error(c);
    }
    std::string script_error;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        void* raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK) return context_error(c);
        Reply r(static_cast<redisReply*>(raw));
        if (r->type == REDIS_REPLY_ERROR) script_error = std::string(r->str, r->len);
    }
    // A refused script (out of memory, read-only replica) fails the whole batch: rare, and
    // undoing it all keeps the index and Redis in agreement.
    return script_error;
}

void RedisLocationStore::note_write_back_failed(const std::vector<Change>& batch) {
    // The next resync must count as a new server again, or it would drop what the
    // write-back did not deliver instead of writing it once more.
    for (const auto& ch : batch)
        if (ch.write_back) run_id_ = "(write-back failed)";
}

void RedisLocationStore::undo(const Change& ch) {
    index_.apply(ch.aor, Clock::now(), [&](std::vector<Binding>& bindings) {
        for (const auto& [key, old] : ch.before) {
            std::erase_if(bindings, [&](const Binding& b) { return binding_key(b) == key; });
            if (old) bindings.push_back(*old);
        }
        return true;
    });
}

void RedisLocationStore::writer_loop() {
    using namespace std::chrono_literals;
    auto backoff = 100ms;
    auto last_ping = std::chrono::steady_clock::now();
    std::unique_lock lock(mu_);
    for (;;) {
        if (!writer_ctx_) {
            if (stopping_) return;  // no new connection (it may take connect_timeout)
            lock.unlock();
            std::string e = connect(writer_ctx_, false);
            if (e.empty()) e = resync();
            lock.lock();
            if (!e.empty()) {
                if (writer_ctx_) release(writer_ctx_);
                connected_ = false;
                health_.last_error = e;
                // Changes queued before the loss was seen: undone and refused.
                std::vector<Change> failed;
                failed.swap(dirty_);
                note_write_back_failed(failed);
                done_ += failed.size();
                health_.write_failures += failed.size();
                lock.unlock();
                for (auto it = failed.rbegin(); it != failed.rend(); ++it) undo(*it);
                for (auto& ch : failed)
                    if (ch.committed)
                        ch.committed(std::string(kStoreUnavailable) + "redis " + url() + ": " + e);
                lock.lock();
                written_.notify_all();
                if (stopping_) return;
                wake_writer_.wait_for(lock, backoff, [&] { return stopping_.load(); });
                backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
                continue;
            }
            if (!connected_) log::info("location store {}: connected", url());
            backoff = 100ms;
            connected_ = true;
            ++health_.reconnects;
            health_.last_error.clear();
            resync_needed_ = false;
        }
        wake_writer_.wait_for(lock, 1s, [&] {
            return stopping_ || !dirty_.empty() || !outbox_.empty() || resync_needed_.load() ||
                   hashes_needed_.load();
        });
        if (!outbox_.empty()) {
            std::vector<std::vector<std::string>> out;
            out.swap(outbox_);
            lock.unlock();
            for (const auto& args : out) {
                std::vector<const char*> argv;
                std::vector<std::size_t> lens;
                for (const auto& a : args) {
                    argv.push_back(a.data());
                    lens.push_back(a.size());
                }
                redisAppendCommandArgv(writer_ctx_, static_cast<int>(argv.size()), argv.data(),
                                       lens.data());
            }
            bool ok = true;
            for (std::size_t i = 0; i < out.size() && ok; ++i) {
                void* raw = nullptr;
                ok = redisGetReply(writer_ctx_, &raw) == REDIS_OK;
                Reply r(static_cast<redisReply*>(raw));
            }
            lock.lock();
            if (!ok) {
                connected_ = false;
                health_.last_error = context_error(writer_ctx_);
                release(writer_ctx_);
                continue;
            }
        }
        if (resync_needed_.exchange(false)) {
            lock.unlock();
            auto e = resync();
            lock.lock();
            if (!e.empty()) {
                log::warn("location store {}: resync failed: {}", url(), e);
                release(writer_ctx_);
                continue;
            }
        }
        if (hashes_needed_.exchange(false)) {
            lock.unlock();
            read_hashes(hashes_other_server_.exchange(false));
            lock.lock();
        }
        if (dirty_.empty()) {
            written_.notify_all();
            if (stopping_) return;
            if (std::chrono::steady_clock::now() - last_ping >= 1s) {
                // Keeps the connection from idling out and finds a dead one early.
                lock.unlock();
                auto r = command(writer_ctx_, {"PING"});
                lock.lock();
                last_ping = std::chrono::steady_clock::now();
                if (!r) {
                    log::warn("location store {}: connection lost: {}", url(),
                              context_error(writer_ctx_));
                    connected_ = false;
                    health_.last_error = context_error(writer_ctx_);
                    release(writer_ctx_);
                }
            }
            continue;
        }
        std::vector<Change> batch;
        batch.swap(dirty_);
        lock.unlock();
        std::string e = write(batch);
        // READONLY: the primary was demoted (a failover): as good as a lost connection.
        auto gone = [&] {
            return !writer_ctx_ || writer_ctx_->err || e.find("READONLY") != std::string::npos;
        };
        bool lost = gone();
        if (!e.empty() && lost) {
            // The server may have closed an idle connection, or been demoted: once more on a
            // new one, which asks the sentinels again if there are any (the changes are
            // idempotent: the same fields set or deleted again).
            if (!options_.sentinels.empty() && !stopping_)
                log::warn("location store {}: write to the primary failed ({}): asking the "
                          "sentinels again", url(), e);
            std::string ce = stopping_ ? std::string("stopping") : connect(writer_ctx_, false);
            e = ce.empty() ? write(batch) : ce;
            lost = gone();
        }
        if (!e.empty()) {
            note_write_back_failed(batch);
            log::error("location store {}: write failed, {} change(s) undone: {}", url(),
                       batch.size(), e);
            for (auto it = batch.rbegin(); it != batch.rend(); ++it) undo(*it);
        }
        const std::string told =
            e.empty() ? std::string()
                      : (lost ? std::string(kStoreUnavailable) : std::string()) + "redis " + url() +
                            ": " + e;
        for (auto& ch : batch)
            if (ch.committed) ch.committed(told);
        lock.lock();
        if (lost && writer_ctx_) release(writer_ctx_);
        if (lost) connected_ = false;
        if (e.empty()) {
            health_.writes += batch.size();
        } else {
            health_.write_failures += batch.size();
            health_.last_error = e;
        }
        done_ += batch.size();
        written_.notify_all();
    }
}

void RedisLocationStore::subscriber_loop() {
    using namespace std::chrono_literals;
    auto backoff = 100ms;
    const std::string channel = options_.key_prefix + "loc";
    while (!stopping_) {
        redisContext* c = nullptr;
        std::string e = connect(c, false);
        std::vector<std::string> channels{channel};
        {
            std::lock_guard lock(mu_);
            for (const auto& topic : options_.topics) channels.push_back(options_.key_prefix + topic);
        }
        if (e.empty()) {
            std::vector<std::string> args{"SUBSCRIBE"};
            args.insert(args.end(), channels.begin(), channels.end());
            std::vector<const char*> argv;
            std::vector<std::size_t> lens;
            for (const auto& a : args) {
                argv.push_back(a.data());
                lens.push_back(a.size());
            }
            redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());
            for (std::size_t i = 0; i < channels.size() && e.empty(); ++i) {
                void* raw = nullptr;
                if (redisGetReply(c, &raw) != REDIS_OK) e = context_error(c);
                Reply r(static_cast<redisReply*>(raw));
                if (r && r->type == REDIS_REPLY_ERROR) e = std::string(r->str, r->len);
            }
        }
        if (!e.empty()) {
            if (c) release(c);
            for (auto waited = 0ms; waited < backoff && !stopping_; waited += 50ms)
                std::this_thread::sleep_for(50ms);
            backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
            continue;
        }
        backoff = 100ms;
        subscribed_ = true;
        // Whatever changed while nobody listened: read it all again.
        resync_needed_ = true;
        wake_writer_.notify_one();
        while (!stopping_) {
            void* raw = nullptr;
            bool broken = false;
            while (redisGetReplyFromReader(c, &raw) == REDIS_OK && raw) {
                Reply r(static_cast<redisReply*>(raw));
                raw = nullptr;
                if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
                    r->element[2]->type != REDIS_REPLY_STRING ||
                    std::string_view(r->element[0]->str, r->element[0]->len) != "message")
                    continue;
                std::string_view from(r->element[1]->str, r->element[1]->len);
                std::string_view payload(r->element[2]->str, r->element[2]->len);
                if (from == channel) {
                    apply_notice(payload);
                    continue;
                }
                Notice handler;
                {
                    std::lock_guard lock(mu_);
                    if (auto it = handlers_.find(std::string(from)); it != handlers_.end())
                        handler = it->second;
                }
                if (handler) handler(payload);
            }
            if (c->err) break;
            pollfd p{c->fd, POLLIN, 0};
            int n = ::poll(&p, 1, 200);
            if (n < 0 && errno != EINTR) broken = true;
            if (n > 0 && redisBufferRead(c) != REDIS_OK) broken = true;
            if (broken) break;
        }
        subscribed_ = false;
        if (!stopping_) log::warn("location store {}: change notices lost: {}", url(), context_error(c));
        release(c);
    }
}

}  // namespace sipproxy::registrar
