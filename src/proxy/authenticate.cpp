// Digest authentication (RFC 3261 22, RFC 7616, RFC 8760). REGISTER always (401);
// other requests from a user of a local domain (407) unless they come from a trusted
// network or belong to a dialog this proxy set up. The signed digest-uri must name the
// Request-URI (RFC 7616 3.4.6); the authenticated user must be the one in To (REGISTER)
// or From.
#include <algorithm>

#include "auth/digest_credentials.hpp"
#include "auth/digest_uri.hpp"
#include "auth/identity.hpp"
#include "base/cidr.hpp"
#include "base/log.hpp"
#include "proxy/pipeline.hpp"

namespace sipproxy::proxy {

namespace {
// The address as bytes for the CIDR match (no text round trip per request).
bool in_networks(const std::vector<Cidr>& nets, const asio::ip::address& a) {
    if (nets.empty()) return false;
    IpBytes bytes{};
    if (a.is_v4() || (a.is_v6() && a.to_v6().is_v4_mapped())) {
        const auto v4 = a.is_v4() ? a.to_v4() : asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
        const auto b = v4.to_bytes();
        std::copy(b.begin(), b.end(), bytes.begin());
        return contains_any(nets, bytes, IpFamily::v4);
    }
    const auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), bytes.begin());
    return contains_any(nets, bytes, IpFamily::v6);
}

// A source for counting guesses: the address, or an IPv6 /64 (one site's hosts).
std::string guess_key(const asio::ip::address& a) {
    if (a.is_v6() && !a.to_v6().is_v4_mapped()) {
        auto b = a.to_v6().to_bytes();
        std::fill(b.begin() + 8, b.end(), 0);
        return transport::address_text(asio::ip::address_v6(b)) + "/64";
    }
    return transport::address_text(a);
}

// [security] limits of the per-user throttle, from the snapshot in force.
auth::UserThrottle::Limits user_limits(const Snapshot& snapshot) {
    auth::UserThrottle::Limits l;
    if (const auto& cfg = snapshot.config) {
        l.max_failures = cfg->security.user_auth_failures;
        l.window = cfg->security.auth_window;
        l.known_for = cfg->security.user_known_time;
    }
    return l;
}

// The user name credentials claim (the userhash as sent, when userhash): "" when they are
// not Digest credentials for this realm.
std::string_view claimed_user(const auth::Authenticator::ParsedCredentials& c,
                              std::string_view realm) {
    if (!c || c->realm != realm) return {};
    return c->username.substr(0, 256);
}
}  // namespace

bool in_trusted_networks(const Snapshot& snapshot, const asio::ip::address& a) {
    return in_networks(snapshot.trusted, a);
}

void challenge(RequestContext& ctx, bool registrar, bool stale) {
    const auto& a = *ctx.snapshot.authenticator;
    // The claimed user (To of a REGISTER, From of a call) may have its own algorithms.
    const auto& claimed = registrar ? ctx.request.to().uri.user : ctx.request.from().uri.user;
    auto c = a.challenge(stale, auth::Now::read(), sip::unescape(claimed));
    std::vector<sip::ExtraHeader> h;
    for (auto& v : c.values)
        h.push_back({registrar ? "WWW-Authenticate" : "Proxy-Authenticate", std::move(v)});
    ctx.services.stats.auth_challenge();
    if (registrar) ctx.respond(401, "Unauthorized", std::move(h));
    else ctx.respond(407, "Proxy Authentication Required", std::move(h));
}

void authenticate(RequestContext& ctx) {
    const auto& r = ctx.request;
    const auto& locality = *ctx.snapshot.locality;
    ctx.trusted_source = in_trusted_networks(ctx.snapshot, ctx.source.address);

    if (!ctx.snapshot.authenticator) return;  // no [auth]: nobody is authenticated
    const auto m = r.method();
    if (m == sip::Method::Ack || m == sip::Method::Cancel) return;  // cannot be challenged
    const bool registrar = m == sip::Method::Register;
    if (registrar) {
        if (!ctx.ruri_local) return;  // somebody else's registrar
    } else {
        if ((ctx.in_dialog && ctx.dialog_proven) || ctx.trusted_source) return;
        // From outside, a caller has no identity to prove, unless it offers credentials
        // (e.g. after the toll-fraud guard challenged it for a route).
        if (!locality.is_local_domain(r.from().uri.host) && !r.find(sip::HeaderId::ProxyAuthorization))
            return;
    }

    const auto& a = *ctx.snapshot.authenticator;
    const auto header = registrar ? sip::HeaderId::Authorization : sip::HeaderId::ProxyAuthorization;
    const auto clocks = auth::Now::read();
    const auto now = clocks.mono;
    const auto limits = user_limits(ctx.snapshot);
    const std::string source_key = guess_key(ctx.source.address);
    bool stale = false;
    for (const auto& h : r.headers()) {
        if (h.id != header) continue;
        // One user guessed at from many sources: only the sources its devices
        // authenticated from may try now; the others get the same 403 whatever the
        // password, before any digest is computed (auth/user_throttle.hpp).
        // Parsed once: the throttle looks at the claimed user, verify() at the rest. The
        // views point into h.value, which outlives both.
        const auto credentials = auth::parse_digest_credentials(h.value);
        const auto user = claimed_user(credentials, a.realm());
        if (!user.empty() && !ctx.trusted_source &&
            ctx.services.user_throttle.refuses(user, source_key, now, limits)) {
            refuse(ctx.services, Refusal::UserThrottled, ctx.source,
                   "user throttled user=" + std::string(user.substr(0, 64)) + " method=" +
                       std::string(r.method_text()));
            ctx.respond(403, "Forbidden: too many failed attempts for this user");
            return;
        }
        auto verdict = a.verify(r.method_text(), credentials, clocks);
        if (auto* ok = std::get_if<auth::verdict::Ok>(&verdict)) {
            // RFC 7616 3.4.6: credentials signed for another target do not open this one
            // (400, as the RFC says; a client that signs the wrong URI will not do better).
            if (!auth::digest_uri_matches(ok->uri, r.request_uri().raw)) {
                ctx.services.stats.auth_failure();
                refuse(ctx.services, Refusal::DigestUri, ctx.source,
                       "digest-uri " + ok->uri + " for Request-URI " +
                           std::string(r.request_uri().raw));
                ctx.respond(400, "Bad Request: digest-uri does not match the Request-URI");
                return;
            }
            const auto& claimed = registrar ? r.to().uri.user : r.from().uri.user;
            if (!auth::is_same_user(ok->user, claimed)) {
                ctx.services.stats.auth_failure();
                ctx.services.auth_failures.record(ctx.source.address.to_string(), ok->user, now);
                refuse(ctx.services, Refusal::Identity, ctx.source,
                       "auth failure user=" + ok->user + " method=" + std::string(r.method_text()) +
                           " reason=\"authenticated as another user than " +
                           std::string(registrar ? "To" : "From") + "\"");
                ctx.respond(403, registrar ? "Forbidden: authenticated user is not the To user"
                                           : "Forbidden: authenticated user is not the From user");
                return;
            }
            ctx.authenticated = ok->user;
            ctx.services.stats.auth_success();
            ctx.services.guesses.success(source_key);
            // Known from now on: this source keeps working while the user is throttled
            // (under the name the credentials carry too: a userhash).
            ctx.services.user_throttle.success(ok->user, source_key, now);
            if (user != ok->user) ctx.services.user_throttle.success(user, source_key, now);
            // RFC 3261 22.3: the credentials were for this proxy's realm; the next hop
            // has no use for them (and should not see them).
            if (!registrar) ctx.route_edit.consumed_credentials = std::size_t(&h - r.headers().data());
            return;
        }
        if (auto* st = std::get_if<auth::verdict::Stale>(&verdict)) {
            if (st->nonce_spent)
                refuse(ctx.services, Refusal::NonceSpent, ctx.source,
                       "credentials of " + st->user + " on a nonce spent by failed attempts");
            stale = true;
            continue;
        }
        if (auto* failed = std::get_if<auth::verdict::Failed>(&verdict)) {
            ctx.services.stats.auth_failure();
            ctx.services.auth_failures.record(ctx.source.address.to_string(), failed->user, now);
            // One line per source per 10 s with the count (a password guesser at 200/s
            // writes one line, not 2,000): "auth failure user=... method=... reason=...".
            refuse(ctx.services, Refusal::Credentials, ctx.source,
                   "auth failure user=" + failed->user.substr(0, 64) + " method=" +
                       std::string(r.method_text()) + " reason=\"" + std::string(failed->reason) +
                       "\"");
            // Too many for one user from any sources: throttled (said once, at warn).
            if (!user.empty() && ctx.services.user_throttle.failure(user, now, limits))
                log::warn("user throttled: user={} failures={} window={}s known_sources_only",
                          user.substr(0, 64), limits.max_failures, limits.window.count());
            // Too many from one source: banned (dropped before parsing from now on).
            if (auto n = ctx.services.guesses.failure(source_key, now);
                n && ctx.services.ban_guesser && !ctx.trusted_source)
                ctx.services.ban_guesser(ctx.source.address,
                                         std::to_string(n) + " failed authentications, last user=" +
                                             failed->user.substr(0, 64));
            break;  // challenge again
        }
        // NoCredentials: another realm or scheme; look at the next header.
    }
    challenge(ctx, registrar, stale);
}

}  // namespace sipproxy::proxy
