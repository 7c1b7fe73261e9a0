#pragma once
// Digest authentication of SIP requests (RFC 3261 22, RFC 7616, RFC 8760): the operations
// the proxy and registrar call. It writes challenges and judges credentials; it sends
// nothing (the caller turns verdicts into 401/407/403 responses).
//
// Thread-safe: nonces are stateless (nonce.hpp); the nonce-count table is sharded.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/algorithm.hpp"
#include "auth/clock.hpp"
#include "auth/credential_store.hpp"
#include "auth/digest_credentials.hpp"
#include "auth/nonce.hpp"
#include "auth/nonce_count_table.hpp"
#include "auth/subscriber_store.hpp"
#include "auth/nonce_failure_table.hpp"
#include "base/expected.hpp"

namespace sipproxy::auth {

struct AuthenticatorOptions {
    std::string realm;
    // Offered in this order, most preferred first (RFC 8760, UAS behavior). "SHA-256", "MD5".
    std::vector<std::string> algorithms{"SHA-256", "MD5"};
    std::uint32_t nonce_ttl = 300;  // seconds
    std::vector<UserCredentials> users;
    // Accept MD5 credentials without qop (RFC 2069 form). Off by default: without nc
    // there is no replay protection within the nonce's lifetime.
    bool allow_rfc2069 = false;
    std::size_t max_tracked_nonces = 65536;  // nonce-count table bound (~200 B per entry)
    // Wrong responses one nonce takes before it is spent (RFC 7616 5.4).
    unsigned max_nonce_failures = NonceFailureTable::default_limit;
    // Users managed with `sipproxyctl user` (users.db), looked up after `users` (the
    // config's win for a name in both). Null: none. Its realm must be `realm`.
    std::shared_ptr<const SubscriberStore> subscribers;
};

// One header value per offered algorithm, in offered order, for WWW-Authenticate (401,
// registrar) or Proxy-Authenticate (407, proxy), e.g.
//   Digest realm="example.com", nonce="...", opaque="...", algorithm=SHA-256, qop="auth"
struct Challenge {
    std::vector<std::string> values;
};

namespace verdict {
struct Ok {
    std::string user;  // the authenticated user name (resolved when userhash was used)
    Algorithm algorithm;
    std::string uri;  // digest-uri the client signed; the caller may compare it (RFC 7616 3.4.6)
};
// Correct credentials on a nonce that expired or whose nc was already used: challenge again
// with stale=true so the client retries without asking its user (RFC 7616 3.3).
struct Stale {
    std::string user;
    std::string_view reason;
    bool nonce_spent = false;  // the nonce had taken too many wrong responses already
};
// Wrong or unusable credentials. `user` is the claimed name (may be empty), for counters.
struct Failed {
    std::string user;
    std::string_view reason;  // e.g. "Incorrect response", "Unknown user", "Invalid nonce"
};
// Not Digest credentials for our realm (another scheme or realm, RFC 3261 22.3): look at
// the next Authorization header, or challenge.
struct NoCredentials {};
}  // namespace verdict

using Verdict = std::variant<verdict::Ok, verdict::Stale, verdict::Failed, verdict::NoCredentials>;

class Authenticator {
  public:
    // Errors describe the bad option, e.g. "auth.algorithms: unknown algorithm \"SHA-1\"".
    // `secret` lets a reload keep outstanding nonces valid; `counts` and `failures` should
    // then be carried over too, or a reload would forget which nc values were already used
    // and which nonces took wrong responses.
    static Expected<std::unique_ptr<Authenticator>, std::string> create(
        AuthenticatorOptions options, const NonceSecret& secret = NonceSecret::random(),
        std::shared_ptr<NonceCountTable> counts = nullptr,
        std::shared_ptr<NonceFailureTable> failures = nullptr);

    // `user` (the claimed name, To of a REGISTER or From of a call; may be empty) picks
    // that user's own algorithm list when it has one.
    Challenge challenge(bool stale, Now now, std::string_view user = {}) const;

    // A user of the config or of the user database.
    bool knows(std::string_view user) const {
        SubscriberStore::User held;
        return find_user(user, held) != nullptr;
    }

    // `credentials` is one Authorization / Proxy-Authorization header value.
    Verdict verify(std::string_view method, std::string_view credentials, Now now) const;
    // The same, with that value already parsed by parse_digest_credentials (a caller that
    // looks at the claimed user first parses each header once).
    using ParsedCredentials = Expected<DigestCredentials, CredentialsError>;
    Verdict verify(std::string_view method, const ParsedCredentials& parsed, Now now) const;

    const std::string& realm() const { return store_.realm(); }
    const std::vector<Algorithm>& algorithms() const { return algorithms_; }
    const std::shared_ptr<NonceCountTable>& nonce_counts() const { return counts_; }
    const std::shared_ptr<NonceFailureTable>& nonce_failures() const { return failures_; }

  private:
    Authenticator(CredentialStore store, std::vector<Algorithm> algorithms,
                  std::chrono::seconds ttl, bool allow_rfc2069, const NonceSecret& secret,
                  std::shared_ptr<NonceCountTable> counts,
                  std::shared_ptr<NonceFailureTable> failures);
    const std::vector<Algorithm>& algorithms_for(const StoredUser* user) const;
    // A user of the config, else of the subscriber store (`held` keeps that one alive).
    const StoredUser* find_user(std::string_view name, SubscriberStore::User& held) const;
    const StoredUser* find_user_by_hash(Algorithm a, std::string_view hash,
                                        SubscriberStore::User& held) const;
    bool offers(const StoredUser* user, Algorithm a) const;

    CredentialStore store_;
    std::shared_ptr<const SubscriberStore> subscribers_;
    std::vector<Algorithm> algorithms_;
    std::chrono::seconds ttl_;
    bool allow_rfc2069_;
    NonceIssuer nonces_;
    std::shared_ptr<NonceCountTable> counts_;
    std::shared_ptr<NonceFailureTable> failures_;
};

}  // namespace sipproxy::auth
