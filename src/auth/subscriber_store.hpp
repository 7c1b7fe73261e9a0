#pragma once
// Users managed live with `sipproxyctl user ...`, kept in an SQLite file in the state
// directory (users.db): HA1 hashes only (MD5 and SHA-256 of user:realm:password), never a
// password. The [[auth.users]] of the config file win for a name present in both (the
// daemon refuses to add such a name).
//
// Every user is held in memory too, so a lookup on the hot path reads a hash table under
// a shared lock and takes a reference, without allocating. Changes come from the control
// thread: written to the file first (one transaction), then to memory; a change that
// could not be saved is not made. Thread-safe.
#include <filesystem>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/algorithm.hpp"
#include "auth/credential_store.hpp"
#include "base/expected.hpp"
#include "base/string_hash.hpp"

struct sqlite3;

namespace sipproxy::auth {

class SubscriberStore {
  public:
    // Opens (creating) `file` and loads the users of `realm`; rows of another realm (the
    // realm changed: their HA1s cannot verify) are kept on disk, left out, and counted in
    // `other_realm()`. Errors name the file.
    static Expected<std::unique_ptr<SubscriberStore>, std::string> open(
        const std::filesystem::path& file, std::string realm);
    ~SubscriberStore();
    SubscriberStore(const SubscriberStore&) = delete;
    SubscriberStore& operator=(const SubscriberStore&) = delete;

    using User = std::shared_ptr<const StoredUser>;
    User find(std::string_view name) const;
    // RFC 7616 3.4.4: the user whose H(user ":" realm) is `userhash` (lower-case hex).
    User find_by_userhash(Algorithm a, std::string_view userhash) const;

    // Adds a user, or (replace) changes the HA1s of an existing one. HA1s: hex of the
    // right length, at least one. Returns the error ("no such user", "user exists", the
    // database's own message), nullopt when done.
    std::optional<std::string> put(const std::string& name, std::string ha1_md5,
                                    std::string ha1_sha256, bool replace);
    std::optional<std::string> remove(const std::string& name);

    struct Listed {
        std::string name;
        bool md5 = false;
        bool sha256 = false;
        std::int64_t updated_ms = 0;  // ms since the epoch
    };
    std::vector<Listed> list() const;  // by name
    std::size_t size() const;
    std::size_t other_realm() const { return other_realm_; }
    const std::string& realm() const { return realm_; }
    const std::filesystem::path& file() const { return file_; }

  private:
    SubscriberStore(std::filesystem::path file, std::string realm, sqlite3* db);
    void index(User u, std::int64_t updated_ms);  // under the write lock
    void unindex(const StoredUser& u);            // under the write lock

    std::filesystem::path file_;
    std::string realm_;
    sqlite3* db_;
    mutable std::shared_mutex mutex_;
    struct Entry {
        User user;
        std::int64_t updated_ms = 0;
    };
    std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> by_name_;
    // Built on the first userhash lookup (few clients use RFC 7616 userhash; two hashes
    // per user would double the load time of a large database), kept up to date after.
    mutable std::unordered_map<std::string, User, StringHash, std::equal_to<>> by_userhash_md5_;
    mutable std::unordered_map<std::string, User, StringHash, std::equal_to<>> by_userhash_sha256_;
    mutable bool hashed_ = false;
    void hash_all() const;  // under the write lock
    std::size_t other_realm_ = 0;
};

}  // namespace sipproxy::auth
