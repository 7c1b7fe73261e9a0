#pragma once
// A set of IP networks, each with a value, answering "which network contains this
// address" with one hash lookup per distinct prefix length (most specific first), not one
// comparison per network: a deny list from APIBAN or fail2ban holds thousands of
// addresses and is consulted for every datagram.
#include <algorithm>
#include <cstddef>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/address_key.hpp"

namespace sipproxy::ingress {

template <class V>
class CidrMap {
public:
    // Inserts or replaces the value of `net` (prefix over 128 bits, see prefix_128()).
    void insert(AddressKey net, unsigned prefix, V value) {
        net = net.masked(prefix);
        auto it = std::find_if(levels_.begin(), levels_.end(),
                               [&](const Level& l) { return l.prefix == prefix; });
        if (it == levels_.end()) {
            levels_.push_back(Level{prefix, {}});
            // Most specific first: the value of the narrowest network wins.
            std::sort(levels_.begin(), levels_.end(),
                      [](const Level& a, const Level& b) { return a.prefix > b.prefix; });
            it = std::find_if(levels_.begin(), levels_.end(),
                              [&](const Level& l) { return l.prefix == prefix; });
        }
        it->entries.insert_or_assign(net, std::move(value));
        size_ = count();
    }
    void insert(const Cidr& c, V value) { insert(network_key(c), prefix_128(c), std::move(value)); }

    bool erase(AddressKey net, unsigned prefix) {
        for (auto& l : levels_) {
            if (l.prefix != prefix) continue;
            bool gone = l.entries.erase(net.masked(prefix)) > 0;
            size_ = count();
            return gone;
        }
        return false;
    }

    // The value of the most specific network containing `address`, or nullptr.
    const V* find(const AddressKey& address) const {
        for (const auto& l : levels_) {
            if (l.entries.empty()) continue;
            auto it = l.entries.find(address.masked(l.prefix));
            if (it != l.entries.end()) return &it->second;
        }
        return nullptr;
    }
    bool contains(const AddressKey& address) const { return find(address) != nullptr; }

    // The value stored for exactly this network, or nullptr.
    const V* exact(AddressKey net, unsigned prefix) const {
        for (const auto& l : levels_)
            if (l.prefix == prefix) {
                auto it = l.entries.find(net.masked(prefix));
                return it == l.entries.end() ? nullptr : &it->second;
            }
        return nullptr;
    }

    bool empty() const { return size_ == 0; }
    std::size_t size() const { return size_; }

    template <class F>
    void for_each(F&& f) const {
        for (const auto& l : levels_)
            for (const auto& [k, v] : l.entries) f(k, l.prefix, v);
    }

private:
    std::size_t count() const {
        std::size_t n = 0;
        for (const auto& l : levels_) n += l.entries.size();
        return n;
    }
    struct Level {
        unsigned prefix;
        std::unordered_map<AddressKey, V, AddressKeyHash> entries;
    };
    std::vector<Level> levels_;
    std::size_t size_ = 0;
};

}  // namespace sipproxy::ingress
