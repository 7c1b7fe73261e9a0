#pragma once
// The location store of a cluster: bindings shared by every node through Redis.
//
// Reads never leave the node: every lookup is served by an in-memory index
// (MemoryLocationStore), kept up to date by the change notices all nodes publish. A change
// is applied to the index under the AOR's lock, then one writer thread sends it to Redis
// as one Lua script (EVAL: HDEL/HSET of the changed bindings in the AOR's hash, PEXPIREAT
// of the hash, PUBLISH of the AOR's new state), pipelining every change waiting; each
// change's `Committed` is told once Redis has answered. When Redis cannot be reached the
// change is refused before it is made ("store unavailable", answered 503), and a change
// whose write failed is undone in the index.
//
// Data model (key prefix "sipproxy:"): "sipproxy:loc:<aor>" is a hash from binding_key()
// to encode_binding(); it expires with its longest-lived binding (expired bindings inside
// it are ignored by readers). Channel "sipproxy:loc": "<aor>\n<binding>\n<binding>..." =
// the AOR's whole state after the change; scripts run one at a time, so the notices arrive
// in the order of the changes and the last one read is Redis' state.
//
// Threads: the writer owns one blocking hiredis connection (commands, pings every second
// so that an idle timeout never bites, reconnection with backoff, full resync); the
// subscriber owns another (SUBSCRIBE). Neither is a worker: nothing blocks a worker.
//
// With Redis Sentinel (options.sentinels), every (re)connection of either thread first asks
// the sentinels in turn for the primary's address, then checks that the server says
// ROLE master: a demoted primary is never written to. A write refused with READONLY, like
// a lost connection, leads to a new connection and so to the sentinels again.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/expected.hpp"
#include "registrar/memory_location_store.hpp"

struct redisContext;

namespace sipproxy::registrar {

struct RedisStoreOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    int db = 0;
    std::string password;  // AUTH when not empty
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds command_timeout{1000};
    // Redis Sentinel instead of host:port: the sentinels asked, in this order, for the
    // primary of `sentinel_master` (AUTH sentinel_password to them when not empty).
    std::vector<std::pair<std::string, std::uint16_t>> sentinels;
    std::string sentinel_master;
    std::string sentinel_password;
    std::string node_id;       // written with each binding: the node that holds its flow
    std::string key_prefix = "sipproxy:";
    std::vector<std::string> topics;  // further channels subscribed to (see on_notice)
};

// What `sipproxyctl status` shows of the store.
struct RedisStoreHealth {
    bool connected = false;
    bool subscribed = false;
    std::string last_error;
    std::uint64_t reconnects = 0;
    std::uint64_t writes = 0;         // changes written
    std::uint64_t write_failures = 0; // changes refused or undone
    std::uint64_t notices = 0;        // change notices applied
    std::vector<std::string> peers;   // other nodes seen in notices or bindings
    std::string primary;              // "host:port" last connected to; empty before
    bool from_sentinel = false;       // `primary` was named by a sentinel
};

class RedisLocationStore final : public LocationStore {
  public:
    // Connects, authenticates, selects the database and loads every binding. A refused
    // password or database is an error (start-up stops); an unreachable server is not:
    // the store starts empty and keeps trying (REGISTERs are answered 503 meanwhile).
    static Expected<std::unique_ptr<RedisLocationStore>, std::string> open(RedisStoreOptions o);
    ~RedisLocationStore() override;
    RedisLocationStore(const RedisLocationStore&) = delete;
    RedisLocationStore& operator=(const RedisLocationStore&) = delete;

    std::vector<Binding> lookup(std::string_view aor, TimePoint now) const override {
        return index_.lookup(aor, now);
    }
    bool apply(std::string_view aor, TimePoint now, const Mutation& mutate,
               Committed committed = {}) override;
    std::size_t remove_aor(std::string_view aor, Committed committed = {}) override;
    std::vector<Binding> list(
        std::string_view aor, TimePoint now,
        std::size_t limit = std::numeric_limits<std::size_t>::max()) const override {
        return index_.list(aor, now, limit);
    }
    Page list_after(std::string_view after, TimePoint now, std::size_t max_aors) const override {
        return index_.list_after(after, now, max_aors);
    }
    std::size_t count() const override { return index_.count(); }
    std::size_t aor_count() const override { return index_.aor_count(); }
    using LocationStore::purge_expired;
    // The index only: Redis drops a hash when its last binding expires.
    std::size_t purge_expired(TimePoint now, const Expired& expired) override {
        return index_.purge_expired(now, expired);
    }
    std::vector<std::string> aors_using_flow(std::uint64_t flow_id) const override {
        return index_.aors_using_flow(flow_id);
    }
    void load(std::vector<Binding> bindings) override;
    // Gives up (false) once the writer has made no progress for 500 ms: a hung Redis must
    // not hold the stop for its timeouts.
    bool flush() override;

    RedisStoreHealth health() const;

    // A message for every node on channel "<prefix><topic>" (nonce counts, say): queued,
    // sent by the writer; dropped while Redis is unreachable.
    void publish(const std::string& topic, std::string message);
    // Called on the subscriber's thread with each message of "<prefix><topic>", this node's
    // own included; `topic` must be one of RedisStoreOptions::topics. Messages before the
    // handler is set are dropped.
    using Notice = std::function<void(std::string_view message)>;
    void on_notice(const std::string& topic, Notice handler);
    // Any other command (HSET of a shared hash, say), queued in order with publish()'s
    // messages and sent by the writer; its answer is ignored; dropped while Redis is
    // unreachable.
    void send(std::vector<std::string> command);
    // Called on the writer's thread with every field/value of the hash "<prefix><name>"
    // after each full read of Redis (connected, reconnected, subscription restored) and
    // soon after it is set: what other nodes shared while this one was not listening.
    // `other_server`: Redis is not the server read before (restarted, failed over).
    using HashReader = std::function<void(std::vector<std::pair<std::string, std::string>>,
                                          bool other_server)>;
    void on_resync_hash(const std::string& name, HashReader reader);
    // A secret every node shares (sipproxy:secret:<name>, made by the first node to ask):
    // read at open; empty when Redis was unreachable then.
    const std::string& nonce_secret() const { return nonce_secret_; }
    // redis://HOST:PORT/DB, or redis+sentinel://S1:P1,S2:P2/MASTER/DB with sentinels.
    std::string url() const;
    const std::string& key_prefix() const { return options_.key_prefix; }

  private:
    // One change waiting for the writer: what to delete and set in the AOR's hash, and
    // what to put back in the index if it fails.
    struct Change {
        std::string aor;
        std::vector<std::string> deleted;                      // binding keys
        std::vector<std::pair<std::string, std::string>> set;  // key, encoded binding
        std::vector<std::pair<std::string, std::optional<Binding>>> before;  // key -> old
        std::int64_t expire_at_ms = 0;
        Committed committed;
        bool write_back = false;  // resync's, to a new server: must reach it (see resync)
    };

    explicit RedisLocationStore(RedisStoreOptions o);
    // On the writer's thread: connect + AUTH + SELECT; "" on success.
    std::string connect(redisContext*& c, bool fatal_auth, bool* auth_refused = nullptr);
    // Asks each sentinel in turn for the primary's address; "" when one answered.
    std::string ask_sentinels(std::string& host, std::uint16_t& port, bool fatal_auth,
                              bool* auth_refused);
    // A connection's socket, known to stop (the destructor) so that it can end a read
    // blocked on a Redis that does not answer; release() forgets it and frees the context.
    void track(redisContext* c);
    void release(redisContext*& c);
    std::string resync();  // every hash into the index; writes ours back into an empty Redis
    void writer_loop();
    void subscriber_loop();
    // Sends the batch pipelined; "" when every change was applied.
    std::string write(std::vector<Change>& batch);
    void undo(const Change& c);
    void note_write_back_failed(const std::vector<Change>& batch);  // writer thread
    void apply_notice(std::string_view message);
    // Puts Redis' bindings of `aor` in the index, keeping the local connections.
    void replace_aor(const std::string& aor, std::vector<Binding> fresh);
    void note_peer(const std::string& node);
    void set_error(const std::string& e);

    RedisStoreOptions options_;
    MemoryLocationStore index_;
    redisContext* writer_ctx_ = nullptr;  // the writer thread's
    std::atomic<bool> connected_{false};
    std::atomic<bool> subscribed_{false};
    std::atomic<bool> resync_needed_{false};
    std::atomic<bool> stopping_{false};

    mutable std::mutex mu_;
    std::condition_variable wake_writer_;
    std::condition_variable written_;
    std::vector<Change> dirty_;
    std::vector<std::vector<std::string>> outbox_;  // PUBLISH channel message, or send()'s
    std::map<std::string, HashReader> hash_readers_;  // key -> reader
    std::atomic<bool> hashes_needed_{false};
    std::atomic<bool> hashes_other_server_{false};
    void read_hashes(bool other_server);  // writer thread
    std::map<std::string, Notice> handlers_;                    // channel -> handler
    std::string nonce_secret_;
    std::string run_id_;  // of the Redis server last read (writer thread only)
    std::uint64_t marked_ = 0;
    std::uint64_t done_ = 0;
    std::uint64_t flush_stuck_at_ = ~std::uint64_t{0};  // done_ when a flush gave up
    RedisStoreHealth health_;
    std::thread writer_;
    std::thread subscriber_;
    std::mutex sockets_mu_;
    std::vector<int> sockets_;  // of the live contexts (writer's, subscriber's)
};

}  // namespace sipproxy::registrar
