#include "auth/authenticator.hpp"

#include "auth/digest.hpp"
#include "auth/digest_credentials.hpp"
#include "auth/text.hpp"

namespace sipproxy::auth {

namespace {

// quoted-string of RFC 3261 25.1: escape '"' and '\'.
void append_quoted(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

// Hashed with the same work whether the user exists or not, so response timing does not
// reveal which user names exist.
constexpr std::string_view placeholder_ha1 =
    "0000000000000000000000000000000000000000000000000000000000000000";

}  // namespace

Expected<std::unique_ptr<Authenticator>, std::string> Authenticator::create(
    AuthenticatorOptions options, const NonceSecret& secret,
    std::shared_ptr<NonceCountTable> counts, std::shared_ptr<NonceFailureTable> failures) {
    using Error = Unexpected<std::string>;
    if (options.realm.empty()) return Error{"auth.realm: must not be empty"};
    if (has_control_char(options.realm))
        return Error{"auth.realm: must not contain control characters"};
    if (options.nonce_ttl == 0) return Error{"auth.nonce_ttl: must be at least 1 second"};
    if (options.max_tracked_nonces == 0)
        return Error{"auth.max_tracked_nonces: must be at least 1"};

    std::vector<Algorithm> algorithms;
    if (options.algorithms.empty()) return Error{"auth.algorithms: must not be empty"};
    for (const auto& name : options.algorithms) {
        auto a = algorithm_from_name(name);
        if (!a) return Error{"auth.algorithms: unknown algorithm \"" + name + "\""};
        for (Algorithm b : algorithms)
            if (b == *a) return Error{"auth.algorithms: \"" + name + "\" listed twice"};
        algorithms.push_back(*a);
    }

    auto store = CredentialStore::load(options.realm, options.users);
    if (!store) return Error{"auth.users: " + store.error()};
    for (const auto& u : options.users) {
        const StoredUser* s = store->find(u.user);
        bool usable = false;
        for (Algorithm a : s->algorithms.empty() ? algorithms : s->algorithms)
            usable = usable || s->ha1(a).has_value();
        if (!usable)
            return Error{"auth.users: user " + u.user + ": has no HA1 for any offered algorithm"};
    }

    if (options.max_nonce_failures == 0)
        return Error{"auth.max_nonce_failures: must be at least 1"};
    if (!counts) counts = std::make_shared<NonceCountTable>(options.max_tracked_nonces);
    if (!failures || failures->limit() != options.max_nonce_failures)
        failures = std::make_shared<NonceFailureTable>(options.max_nonce_failures,
                                                       options.max_tracked_nonces);
    if (options.subscribers && options.subscribers->realm() != options.realm)
        return Error{"auth: the user database is for realm \"" + options.subscribers->realm() +
                     "\", not \"" + options.realm + "\""};
    auto a = std::unique_ptr<Authenticator>(new Authenticator(
        std::move(store.value()), std::move(algorithms), std::chrono::seconds(options.nonce_ttl),
        options.allow_rfc2069, secret, std::move(counts), std::move(failures)));
    a->subscribers_ = std::move(options.subscribers);
    return a;
}

Authenticator::Authenticator(CredentialStore store, std::vector<Algorithm> algorithms,
                             std::chrono::seconds ttl, bool allow_rfc2069,
                             const NonceSecret& secret, std::shared_ptr<NonceCountTable> counts,
                             std::shared_ptr<NonceFailureTable> failures)
    : store_(std::move(store)),
      algorithms_(std::move(algorithms)),
      ttl_(ttl),
      allow_rfc2069_(allow_rfc2069),
      nonces_(store_.realm(), ttl, secret),
      counts_(std::move(counts)),
      failures_(std::move(failures)) {}

const StoredUser* Authenticator::find_user(std::string_view name,
                                            SubscriberStore::User& held) const {
    if (const StoredUser* u = store_.find(name)) return u;
    if (!subscribers_) return nullptr;
    held = subscribers_->find(name);
    return held.get();
}

const StoredUser* Authenticator::find_user_by_hash(Algorithm a, std::string_view hash,
                                                   SubscriberStore::User& held) const {
    if (const StoredUser* u = store_.find_by_userhash(a, hash)) return u;
    if (!subscribers_) return nullptr;
    held = subscribers_->find_by_userhash(a, hash);
    return held.get();
}

const std::vector<Algorithm>& Authenticator::algorithms_for(const StoredUser* user) const {
    return user && !user->algorithms.empty() ? user->algorithms : algorithms_;
}

bool Authenticator::offers(const StoredUser* user, Algorithm a) const {
    for (Algorithm b : algorithms_for(user))
        if (a == b) return true;
    return false;
}

Challenge Authenticator::challenge(bool stale, Now now, std::string_view user) const {
    // One nonce for all offered algorithms: the client answers exactly one of them, and the
    // nonce is not tied to an algorithm (RFC 8760: offered most preferred first). A user
    // with its own list gets that one (e.g. MD5 only for a phone that fails on SHA-256).
    SubscriberStore::User held;
    const auto& offered = algorithms_for(user.empty() ? nullptr : find_user(user, held));
    std::string nonce = nonces_.issue(now);
    Challenge c;
    c.values.reserve(offered.size());
    for (Algorithm a : offered) {
        std::string v = "Digest realm=";
        append_quoted(v, store_.realm());
        v += ", nonce=\"";
        v += nonce;
        v += "\", opaque=\"";
        v += nonces_.opaque();
        v += "\", algorithm=";
        v += algorithm_name(a);
        v += ", qop=\"auth\"";
        if (stale) v += ", stale=true";
        c.values.push_back(std::move(v));
    }
    return c;
}

Verdict Authenticator::verify(std::string_view method, std::string_view credentials,
                              Now clocks) const {
    return verify(method, parse_digest_credentials(credentials), clocks);
}

Verdict Authenticator::verify(std::string_view method, const ParsedCredentials& parsed,
                              Now clocks) const {
    const Time now = clocks.mono;
    using verdict::Failed;
    if (!parsed) {
        if (parsed.error().code == CredentialsError::Code::not_digest)
            return verdict::NoCredentials{};
        return Failed{{}, parsed.error().reason()};
    }
    const DigestCredentials& cred = *parsed;
    // RFC 3261 22.3: credentials for another realm belong to another proxy.
    if (cred.realm != store_.realm()) return verdict::NoCredentials{};

    std::string claimed(cred.username.substr(0, 256));
    SubscriberStore::User held;  // a database user stays alive while it is used here
    const StoredUser* user = cred.userhash
                                 ? find_user_by_hash(cred.algorithm, cred.username, held)
                                 : find_user(cred.username, held);
    if (!offers(user, cred.algorithm)) return Failed{claimed, "Algorithm not offered"};
    if (!cred.qop && !(allow_rfc2069_ && cred.algorithm == Algorithm::md5))
        return Failed{claimed, "Missing qop"};

    NonceCheck nonce = nonces_.check(cred.nonce, clocks);
    if (nonce.state == NonceState::invalid) return Failed{claimed, "Invalid nonce"};
    if (!cred.opaque || *cred.opaque != nonces_.opaque()) return Failed{claimed, "Opaque mismatch"};
    if (cred.qop && cred.nonce_count == 0) return Failed{claimed, "Invalid nonce count"};

    if (user) claimed = user->name;

    // Normalise the response to lower case (RFC 7616 says LHEX; be lenient on case only).
    char response[64];
    std::size_t expected_len = hex_length(cred.algorithm);
    bool response_ok = cred.response.size() == expected_len && is_hex(cred.response);
    if (response_ok)
        for (std::size_t i = 0; i < expected_len; ++i) response[i] = ascii_lower(cred.response[i]);

    std::optional<std::string_view> ha1 = user ? user->ha1(cred.algorithm) : std::nullopt;
    std::string_view ha1_or_placeholder = ha1 ? *ha1 : placeholder_ha1.substr(0, expected_len);
    HexDigest ha2 = compute_ha2(cred.algorithm, method, cred.uri);
    HexDigest expected =
        compute_response(cred.algorithm, ha1_or_placeholder, cred.nonce, cred.nc.value_or(""),
                         cred.cnonce.value_or(""), cred.qop.value_or(""), ha2);

    // A wrong guess spends a little of the nonce (RFC 7616 5.4): after a few, even the
    // right password on it gets only a fresh nonce.
    const Time expires = nonce.issued + ttl_;
    if (!user) {
        failures_->record(cred.nonce, expires, now);
        return Failed{claimed, "Unknown user"};
    }
    if (!ha1) return Failed{claimed, "No credentials for this algorithm"};
    if (!response_ok || !equal_constant_time(expected, std::string_view(response, expected_len))) {
        failures_->record(cred.nonce, expires, now);
        return Failed{claimed, "Incorrect response"};
    }

    // Only now, with proof the client knows the password, may it get stale=true (RFC 7616
    // 3.3) or touch the nonce-count table.
    if (nonce.state == NonceState::stale) return verdict::Stale{claimed, "Nonce expired"};
    if (failures_->spent(cred.nonce))
        return verdict::Stale{claimed, "Nonce spent by failed attempts", true};
    if (cred.qop && counts_->advance(cred.nonce, cred.nonce_count, nonce.issued,
                                     nonce.issued + ttl_, now) == NonceCountTable::Result::replay)
        return verdict::Stale{claimed, "Nonce count reused"};

    return verdict::Ok{claimed, cred.algorithm, std::string(cred.uri)};
}

}  // namespace sipproxy::auth
