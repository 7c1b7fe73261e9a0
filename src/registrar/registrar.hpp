#pragma once
// REGISTER processing (RFC 3261 10.3 steps 6-8, RFC 5626 registrar rules) as pure logic over
// a LocationStore. The proxy does steps 1-5 (Request-URI domain, Require, authentication,
// authorization, To -> AOR), turns the parsed REGISTER into a RegisterRequest and builds the
// response from the RegisterResult. No SIP parser, no I/O here.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "registrar/binding.hpp"
#include "registrar/location_store.hpp"

namespace sipproxy::registrar {

struct RegistrarOptions {
    std::uint32_t min_expires = 60;        // shorter (and not 0) -> 423 Interval Too Brief
    std::uint32_t max_expires = 7200;      // longer is lowered to this
    std::uint32_t default_expires = 3600;  // neither expires param nor Expires header
    std::uint32_t max_contacts = 10;       // per AOR; 0 = no limit
};

// One Contact header field value of the REGISTER.
struct ContactSpec {
    std::string uri;                          // the URI without <> (what the binding stores)
    std::optional<std::uint32_t> expires;     // its expires param
    std::optional<std::uint16_t> q_permille;  // its q param (parse_qvalue)
    std::string instance;                     // +sip.instance value (quotes optional)
    std::uint32_t reg_id = 0;                 // reg-id param, 0 = absent
    std::string raw;                          // the whole field value as sent (for logs)
};

// Where the REGISTER came from (RFC 3581: the received/rport address, not the Via).
struct RequestSource {
    std::string transport;  // "udp", "tcp", ...
    std::string address;
    std::uint16_t port = 0;
    std::uint64_t flow_id = 0;  // the connection, for connection-oriented transports
};

struct RegisterRequest {
    std::string aor;                       // from the To URI: "user@domain"
    std::vector<ContactSpec> contacts;     // empty: a query (unless star)
    bool star = false;                     // "Contact: *"
    std::optional<std::uint32_t> expires;  // Expires header field
    std::string call_id;
    std::uint32_t cseq = 0;
    RequestSource source;
    std::vector<std::string> path;  // Path header URIs in order (RFC 3327)
    std::string user_agent;
    TimePoint now = Clock::now();
};

// A binding as listed in the 200 OK: Contact: <contact>;expires=<expires_in>.
struct CurrentBinding {
    Binding binding;
    std::uint32_t expires_in = 0;
};

// What a REGISTER changed, for the log line of each (issue #17). A refresh (same contact,
// new expiry) is no change: a phone refreshing every minute would fill the log.
struct BindingChange {
    enum class Kind {
        Added,    // a new binding
        Updated,  // the same binding (instance, or contact URI) now at another contact URI
        Removed,  // expires=0 or "Contact: *"
        Evicted,  // dropped to respect max_contacts
    };
    Kind kind = Kind::Added;
    Binding binding;            // as it is now (Added, Updated) or was (Removed, Evicted)
    std::uint32_t expires = 0;  // seconds granted (Added, Updated); 0 otherwise
};

struct RegisterResult {
    int status = 200;
    std::string reason = "OK";
    std::uint32_t min_expires = 0;         // with 423: the Min-Expires header value
    std::vector<CurrentBinding> bindings;  // with 200: every binding of the AOR, best first
    std::size_t evicted = 0;               // bindings dropped to respect max_contacts
    std::vector<BindingChange> changes;    // with 200: what changed (not the refreshes)
    // With 200: the request only refreshed bindings the store already held, reached the
    // same way (contact, source, transport, flow, Path, instance, q all as before): losing
    // the change to a crash would only bring back the earlier expiry (and Call-ID/CSeq).
    bool refresh_only = false;

    bool ok() const { return status == 200; }
};

class Registrar {
  public:
    // Cheap: build one per configuration snapshot.
    Registrar(LocationStore& store, RegistrarOptions options);

    // RFC 3261 10.3 steps 6-8. Every change of one request is applied atomically or not at all.
    // `committed`, when given, is called exactly once (LocationStore::Committed): with "" at
    // once when nothing changed (a query, a refusal), else once the change is durable or,
    // with the reason, undone. A 200 OK for a change goes out only after it (RFC 3261 10.3
    // step 8 promises the bindings the response lists).
    RegisterResult handle(const RegisterRequest& request, LocationStore::Committed committed = {});

    // The live bindings of `aor` (any case in the domain), best first.
    std::vector<Binding> lookup(std::string_view aor, TimePoint now) const;

    // RFC 5626: the connection `flow_id` closed. Outbound bindings (instance + reg-id) that
    // used it are removed: the device re-registers on another flow. Other bindings only
    // forget the flow (the proxy may open a new connection to them). Returns how many
    // bindings were removed.
    // `removed`, when given, sees each removed binding.
    std::size_t flow_failed(std::uint64_t flow_id, TimePoint now,
                            const std::function<void(const Binding&)>& removed = {});

    // Called periodically by the daemon; lookups skip expired bindings even before.
    std::size_t purge_expired(TimePoint now) { return store_.purge_expired(now); }

    const RegistrarOptions& options() const { return options_; }

    // The store's usual commit wait (LocationStore::commit_latency).
    std::chrono::milliseconds commit_latency() const { return store_.commit_latency(); }

  private:
    // handle() without the promise to call `committed`: takes it only when it hands it
    // to the store.
    RegisterResult decide(const RegisterRequest& request, LocationStore::Committed& committed);

    LocationStore& store_;
    RegistrarOptions options_;
};

}  // namespace sipproxy::registrar
