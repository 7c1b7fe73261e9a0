#pragma once
// The users of one realm: user name -> HA1 per algorithm (RFC 7616 3.4.2). HA1 is computed
// once at load from a clear password, or given precomputed as hex. A user given only
// ha1_md5 (or only ha1_sha256) can authenticate with that algorithm only.
// Immutable after load, so lookups are thread-safe.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/slot_table.hpp"
#include "auth/algorithm.hpp"
#include "base/expected.hpp"

namespace sipproxy::auth {

// As written in the configuration.
struct UserCredentials {
    std::string user;
    std::string password;    // clear text; empty when HA1s are given instead
    std::string ha1_md5;     // 32 hex digits
    std::string ha1_sha256;  // 64 hex digits
    // "SHA-256"/"MD5" offered to this user instead of the realm's list; empty: the realm's.
    std::vector<std::string> algorithms{};
};

struct StoredUser {
    std::string name;
    std::string ha1_md5;     // lower-case hex; empty: MD5 not possible for this user
    std::string ha1_sha256;  // lower-case hex; empty: SHA-256 not possible for this user
    std::vector<Algorithm> algorithms;  // offered to this user; empty: the realm's list

    // nullopt when this user has no HA1 for `a`.
    std::optional<std::string_view> ha1(Algorithm a) const;
};

class CredentialStore {
  public:
    // Errors name the user, e.g. "user alice: ha1_md5 must be 32 hex digits".
    // A password together with an HA1 must agree with it.
    static Expected<CredentialStore, std::string> load(std::string realm,
                                                       const std::vector<UserCredentials>& users);

    const std::string& realm() const { return realm_; }
    const StoredUser* find(std::string_view user) const;
    // RFC 7616 3.4.4: the user whose H(user ":" realm) is `userhash` (hex, any case).
    const StoredUser* find_by_userhash(Algorithm a, std::string_view userhash) const;
    std::size_t size() const { return users_.size(); }

  private:
    using Index = SlotTable<std::size_t>;  // read-only after load: fewer cache misses per lookup

    std::string realm_;
    std::vector<StoredUser> users_;
    Index by_name_;
    Index by_userhash_md5_;
    Index by_userhash_sha256_;
};

}  // namespace sipproxy::auth
