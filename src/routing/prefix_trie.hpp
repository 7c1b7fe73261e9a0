#pragma once
// A read-only trie over literal prefixes (any bytes, usually digits), flattened into
// arrays after the build: 100k prefixes build in milliseconds and a lookup touches one
// node per character of the key. Each node carries the values of the prefixes ending
// there, ascending (the dial plan stores route indices: lowest = first configured).
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace sipproxy::routing {

class PrefixTrie {
  public:
    struct Entry {
        std::string_view prefix;  // only read during build()
        std::uint32_t value;
    };

    static PrefixTrie build(std::vector<Entry> entries);

    // Calls visit(std::span<const std::uint32_t> values) for every node on the path of
    // `key` that has values, shortest prefix first ("" first, then key[0..1), ...).
    // visit returns false to stop the walk.
    template <class Visit>
    void walk(std::string_view key, Visit&& visit) const {
        if (nodes_.empty()) return;
        std::uint32_t n = 0;
        for (std::size_t depth = 0;; ++depth) {
            const Node& node = nodes_[n];
            if (node.value_count != 0 && !visit(std::span<const std::uint32_t>(
                                             values_.data() + node.first_value, node.value_count)))
                return;
            if (depth == key.size()) return;
            n = child(node, static_cast<unsigned char>(key[depth]));
            if (n == kNone) return;
        }
    }

    std::size_t node_count() const noexcept { return nodes_.size(); }

  private:
    static constexpr std::uint32_t kNone = 0xffffffffu;
    struct Node {
        std::uint32_t first_child = 0;  // children are contiguous, sorted by label
        std::uint32_t child_count = 0;
        std::uint32_t first_value = 0;  // into values_
        std::uint32_t value_count = 0;
    };

    std::uint32_t child(const Node& node, unsigned char c) const;

    std::vector<Node> nodes_;            // [0] is the root ("")
    std::vector<unsigned char> labels_;  // labels_[i]: the character leading to nodes_[i]
    std::vector<std::uint32_t> values_;
};

}  // namespace sipproxy::routing
