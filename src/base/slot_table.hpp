#pragma once
// A hash table from string keys (or, with Key = std::uint64_t, keys that are a hash
// already) to V: open addressing with linear probing over one byte of control per position
// (empty, deleted, or 7 bits of the hash). Used for the transaction layer's tables and the
// digest user index.
//
// Why not std::unordered_map: in the transaction tables almost every lookup is a miss
// (each new request and each response to a transaction that already lingers out), and
// under load a table holds a few hundred thousand lingering transactions. A node-based map then pays a cache miss
// for the bucket, one per node of the chain and one for each key compared; here a miss
// usually reads one line of control bytes, and only a 7-bit match compares the full key.
//
// Entries move when the table grows or shrinks: a pointer from find()/try_emplace() is
// valid until the next try_emplace() or shrink().
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace sipproxy {

template <class V, class Key = std::string>
class SlotTable {
public:
    static_assert(std::is_same_v<Key, std::string> || std::is_same_v<Key, std::uint64_t>);
    // What lookups take: a string_view for string keys.
    using KeyView = std::conditional_t<std::is_same_v<Key, std::string>, std::string_view, Key>;
    // first/second as in std::unordered_map's value_type, so call sites read alike.
    static constexpr bool kStringKeys = std::is_same_v<Key, std::string>;
    // A string key's hash is kept (no rehashing of strings when the table grows); a
    // uint64 key is its own hash.
    struct StoredHash {
        std::size_t hash = 0;
    };
    struct NoStoredHash {};
    struct Entry : std::conditional_t<kStringKeys, StoredHash, NoStoredHash> {
        Key first{};
        V second{};
    };

    explicit SlotTable(std::size_t min_capacity = 1024) : min_capacity_(round_up(min_capacity)) {
        reset(min_capacity_);
    }

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::size_t capacity() const { return ctrl_.size(); }

    Entry* find(KeyView key) {
        const std::size_t i = position_of(key);
        return i == npos ? nullptr : &entries_[i];
    }
    const Entry* find(KeyView key) const {
        const std::size_t i = position_of(key);
        return i == npos ? nullptr : &entries_[i];
    }
    std::size_t count(KeyView key) const { return position_of(key) == npos ? 0 : 1; }

    // The entry for `key`, made (with a default value) when there is none. `key` is only
    // moved from when the entry is new.
    std::pair<Entry*, bool> try_emplace(Key&& key) {
        if (Entry* e = find(key)) return {e, false};
        if ((size_ + deleted_ + 1) * 8 > capacity() * 7)
            rehash(size_ * 2 >= capacity() ? capacity() * 2 : capacity());
        const std::size_t h = hash_of(key);
        std::size_t i = h & mask_;
        while (ctrl_[i] >= kFull) i = (i + 1) & mask_;
        if (ctrl_[i] == kDeleted) --deleted_;
        ctrl_[i] = tag_of(h);
        entries_[i].first = std::move(key);
        if constexpr (kStringKeys) entries_[i].hash = h;
        ++size_;
        return {&entries_[i], true};
    }

    // std::unordered_map-like conveniences.
    const Entry* end() const { return nullptr; }
    template <class T>
    std::pair<Entry*, bool> emplace(Key key, T&& value) {
        auto r = try_emplace(std::move(key));
        if (r.second) r.first->second = std::forward<T>(value);
        return r;
    }
    V& operator[](const Key& key) { return try_emplace(Key(key)).first->second; }

    void erase(Entry* e) {
        const std::size_t i = static_cast<std::size_t>(e - entries_.data());
        // A position followed by an empty one ends no probe sequence: mark it empty.
        if (ctrl_[(i + 1) & mask_] == kEmpty) {
            ctrl_[i] = kEmpty;
        } else {
            ctrl_[i] = kDeleted;
            ++deleted_;
        }
        *e = Entry{};
        --size_;
    }

    template <class F>
    void for_each(F&& f) {
        for (std::size_t i = 0; i < ctrl_.size(); ++i)
            if (ctrl_[i] >= kFull) f(entries_[i]);
    }
    template <class Pred>
    void erase_if(Pred&& pred) {
        for (std::size_t i = 0; i < ctrl_.size(); ++i)
            if (ctrl_[i] >= kFull && pred(entries_[i])) erase(&entries_[i]);
    }

    // After a load: gives the memory of a mostly empty table back (the sweep calls it).
    void shrink() {
        std::size_t want = capacity();
        while (want > min_capacity_ && size_ * 8 < want) want /= 2;
        if (want < capacity()) rehash(want);
    }

    void clear() { reset(min_capacity_); }

private:
    static constexpr std::size_t npos = ~std::size_t{0};
    std::size_t position_of(KeyView key) const {
        const std::size_t h = hash_of(key);
        for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
            const std::uint8_t c = ctrl_[i];
            if (c == kEmpty) return npos;
            if (c == tag_of(h) && hash_matches(entries_[i], h) && entries_[i].first == key) return i;
        }
    }

    static constexpr std::uint8_t kEmpty = 0;
    static constexpr std::uint8_t kDeleted = 1;
    static constexpr std::uint8_t kFull = 0x80;  // | the hash's top 7 bits

    static std::size_t stored_hash(const Entry& e) {
        if constexpr (kStringKeys)
            return e.hash;
        else
            return hash_of(e.first);
    }
    static bool hash_matches(const Entry& e, std::size_t h) {
        if constexpr (kStringKeys)
            return e.hash == h;
        else
            return true;  // the key comparison is as cheap
    }
    static std::size_t hash_of(KeyView key) {
        if constexpr (std::is_same_v<Key, std::string>)
            return std::hash<std::string_view>{}(key);
        else
            return static_cast<std::size_t>(key);  // a hash already
    }
    static std::uint8_t tag_of(std::size_t h) {
        return static_cast<std::uint8_t>(kFull | (h >> (sizeof(std::size_t) * 8 - 7)));
    }
    static std::size_t round_up(std::size_t n) {
        std::size_t c = 16;
        while (c < n) c *= 2;
        return c;
    }

    void reset(std::size_t capacity) {
        ctrl_.assign(capacity, kEmpty);
        std::vector<Entry>(capacity).swap(entries_);
        mask_ = capacity - 1;
        size_ = 0;
        deleted_ = 0;
    }

    void rehash(std::size_t capacity) {
        auto old_ctrl = std::move(ctrl_);
        auto old_entries = std::move(entries_);
        reset(capacity);
        for (std::size_t i = 0; i < old_ctrl.size(); ++i) {
            if (old_ctrl[i] < kFull) continue;
            Entry& from = old_entries[i];
            const std::size_t h = stored_hash(from);
            std::size_t j = h & mask_;
            while (ctrl_[j] != kEmpty) j = (j + 1) & mask_;
            ctrl_[j] = tag_of(h);
            entries_[j] = std::move(from);
            ++size_;
        }
    }

    std::size_t min_capacity_;
    std::vector<std::uint8_t> ctrl_;
    std::vector<Entry> entries_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
    std::size_t deleted_ = 0;
};

}  // namespace sipproxy
