#pragma once
// The text of the abuse notices the nodes of a cluster exchange through Redis (issue #15
// item 4): bans, and batches of failed-authentication and call counts. Pure text, no I/O;
// what a peer (another node, or whoever can write to Redis) sends is parsed defensively:
// a malformed notice decodes to nothing, a malformed line of a batch is skipped.
//
// Keys (user names, counted scopes) are percent-encoded on the wire: a user name a peer
// claims may hold spaces or line breaks.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sipproxy::cluster {

// "%" + two hex digits for '%', space, control characters and bytes >= 0x7f.
std::string escape(std::string_view s);
std::optional<std::string> unescape(std::string_view s);

// A ban made or lifted at one node (channel sipproxy:ban), and the value of its field in
// the hash sipproxy:bans (field: the network; value: encode_ban_record()).
struct BanNotice {
    bool add = true;           // false: lifted
    std::string network;       // CIDR text ("192.0.2.7/32")
    std::string origin;        // the node that made (or lifted) it
    std::int64_t until_ms = 0; // wall clock, ms since the Unix epoch; 0: until removed
    bool automatic = true;     // made by a limit, not the operator
    std::string reason;        // one word ("auth", "flood", "operator")
    std::string note;          // free text, one line
    bool operator==(const BanNotice&) const = default;
};

// "add <network> <origin> <until_ms> <0|1> <reason> <note...>" | "remove <network> <origin>"
std::string encode_ban_notice(const BanNotice& n);
std::optional<BanNotice> decode_ban_notice(std::string_view text);
// The hash's value: "<until_ms> <0|1> <origin> <reason> <note...>"
std::string encode_ban_record(const BanNotice& n);
std::optional<BanNotice> decode_ban_record(std::string_view network, std::string_view value);

// What one node counted since its last batch (channel sipproxy:abuse).
struct AbuseBatch {
    struct Count {
        std::string key;
        std::uint32_t n = 0;
        bool reset = false;  // sources: a success forgot the earlier failures (before these n)
        bool operator==(const Count&) const = default;
    };
    std::string node;
    std::vector<Count> sources;     // failed authentications per source (guess limiter)
    std::vector<Count> users;       // failed authentications per user name (user throttle)
    std::vector<Count> calls;       // calls admitted per counted scope (per minute/day)
    std::vector<Count> concurrent;  // calls in progress per scope: the node's current value
    bool empty() const {
        return sources.empty() && users.empty() && calls.empty() && concurrent.empty();
    }
    bool operator==(const AbuseBatch&) const = default;
};

// "abuse1 <node>\n" then one line per count: "s <key> <n> [r]", "u <key> <n>",
// "c <key> <n>", "h <key> <n>". Split into messages of at most `max_bytes` (each with the
// header line) so that a burst of many sources never makes one huge message.
std::vector<std::string> encode_abuse_batch(const AbuseBatch& b, std::size_t max_bytes = 32768);
std::optional<AbuseBatch> decode_abuse_batch(std::string_view text);

}  // namespace sipproxy::cluster
