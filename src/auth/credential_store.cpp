#include "auth/credential_store.hpp"

#include <algorithm>

#include "auth/digest.hpp"
#include "auth/text.hpp"

namespace sipproxy::auth {

std::optional<std::string_view> StoredUser::ha1(Algorithm a) const {
    const std::string& h = a == Algorithm::md5 ? ha1_md5 : ha1_sha256;
    if (h.empty()) return std::nullopt;
    return std::string_view(h);
}

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

// Empty `given` means "not configured". Returns an error text or "".
std::string take_ha1(const UserCredentials& u, std::string_view realm, Algorithm a,
                     std::string_view given, std::string_view key, std::string& out) {
    if (!given.empty()) {
        if (given.size() != hex_length(a) || !is_hex(given))
            return "user " + u.user + ": " + std::string(key) + " must be " +
                   std::to_string(hex_length(a)) + " hex digits";
        out = lower(given);
        if (!u.password.empty() &&
            !equal_constant_time(out, compute_ha1(a, u.user, realm, u.password)))
            return "user " + u.user + ": " + std::string(key) + " does not match the password";
        return {};
    }
    if (!u.password.empty()) out = compute_ha1(a, u.user, realm, u.password).str();
    return {};
}

}  // namespace

Expected<CredentialStore, std::string> CredentialStore::load(
    std::string realm, const std::vector<UserCredentials>& users) {
    CredentialStore store;
    store.realm_ = std::move(realm);
    store.users_.reserve(users.size());
    for (const auto& u : users) {
        if (u.user.empty()) return Unexpected{std::string("a user has an empty name")};
        if (has_control_char(u.user))
            return Unexpected{std::string("a user name contains a control character")};
        if (store.by_name_.count(u.user)) return Unexpected{"user " + u.user + ": defined twice"};
        StoredUser s;
        s.name = u.user;
        if (auto e = take_ha1(u, store.realm_, Algorithm::md5, u.ha1_md5, "ha1_md5", s.ha1_md5);
            !e.empty())
            return Unexpected{e};
        for (const auto& name : u.algorithms) {
            auto a = algorithm_from_name(name);
            if (!a) return Unexpected{"user " + u.user + ": unknown algorithm \"" + name + "\""};
            if (std::find(s.algorithms.begin(), s.algorithms.end(), *a) != s.algorithms.end())
                return Unexpected{"user " + u.user + ": \"" + name + "\" listed twice"};
            s.algorithms.push_back(*a);
        }
        if (auto e = take_ha1(u, store.realm_, Algorithm::sha256, u.ha1_sha256, "ha1_sha256",
                              s.ha1_sha256);
            !e.empty())
            return Unexpected{e};
        if (s.ha1_md5.empty() && s.ha1_sha256.empty())
            return Unexpected{"user " + u.user + ": needs a password, ha1_md5 or ha1_sha256"};

        std::size_t index = store.users_.size();
        store.by_name_.emplace(s.name, index);
        store.by_userhash_md5_.emplace(compute_userhash(Algorithm::md5, s.name, store.realm_).str(),
                                       index);
        store.by_userhash_sha256_.emplace(
            compute_userhash(Algorithm::sha256, s.name, store.realm_).str(), index);
        store.users_.push_back(std::move(s));
    }
    return store;
}

const StoredUser* CredentialStore::find(std::string_view user) const {
    auto it = by_name_.find(user);
    return it == by_name_.end() ? nullptr : &users_[it->second];
}

const StoredUser* CredentialStore::find_by_userhash(Algorithm a, std::string_view userhash) const {
    if (userhash.size() != hex_length(a) || !is_hex(userhash)) return nullptr;
    char buf[64];
    for (std::size_t i = 0; i < userhash.size(); ++i) buf[i] = ascii_lower(userhash[i]);
    const Index& index = a == Algorithm::md5 ? by_userhash_md5_ : by_userhash_sha256_;
    auto it = index.find(std::string_view(buf, userhash.size()));
    return it == index.end() ? nullptr : &users_[it->second];
}

}  // namespace sipproxy::auth
