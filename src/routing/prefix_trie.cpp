#include "routing/prefix_trie.hpp"

#include <algorithm>

namespace sipproxy::routing {

PrefixTrie PrefixTrie::build(std::vector<Entry> entries) {
    // Sorted by (prefix, value), the entries below any node form one contiguous range in
    // which the node's own prefixes come first. Building breadth-first from those ranges
    // gives every node's children consecutive slots without per-node allocations.
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        int c = a.prefix.compare(b.prefix);
        return c != 0 ? c < 0 : a.value < b.value;
    });
    PrefixTrie t;
    t.nodes_.emplace_back();
    t.labels_.push_back(0);
    t.values_.reserve(entries.size());

    struct Task {
        std::uint32_t node;
        std::size_t lo, hi, depth;
    };
    std::vector<Task> tasks{{0, 0, entries.size(), 0}};
    for (std::size_t next = 0; next < tasks.size(); ++next) {
        Task task = tasks[next];
        std::size_t i = task.lo;
        Node node;
        node.first_value = static_cast<std::uint32_t>(t.values_.size());
        for (; i < task.hi && entries[i].prefix.size() == task.depth; ++i)
            t.values_.push_back(entries[i].value);
        node.value_count = static_cast<std::uint32_t>(t.values_.size()) - node.first_value;
        node.first_child = static_cast<std::uint32_t>(t.nodes_.size());
        while (i < task.hi) {
            char c = entries[i].prefix[task.depth];
            std::size_t j = i + 1;
            while (j < task.hi && entries[j].prefix[task.depth] == c) ++j;
            auto id = static_cast<std::uint32_t>(t.nodes_.size());
            t.nodes_.emplace_back();
            t.labels_.push_back(static_cast<unsigned char>(c));
            tasks.push_back({id, i, j, task.depth + 1});
            ++node.child_count;
            i = j;
        }
        t.nodes_[task.node] = node;
    }
    return t;
}

std::uint32_t PrefixTrie::child(const Node& node, unsigned char c) const {
    const unsigned char* first = labels_.data() + node.first_child;
    const unsigned char* last = first + node.child_count;
    const unsigned char* it =
        node.child_count <= 16 ? std::find(first, last, c) : std::lower_bound(first, last, c);
    if (it == last || *it != c) return kNone;
    return node.first_child + static_cast<std::uint32_t>(it - first);
}

}  // namespace sipproxy::routing
