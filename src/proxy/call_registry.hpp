#pragma once
// The calls the proxy is carrying (INVITE dialogs it record-routed), for
// `sipproxyctl show calls`. Sharded by Call-ID; updated at call start, answer and end.
#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sipproxy::proxy {

struct CallInfo {
    std::string call_id;
    std::string caller;  // From URI
    std::string callee;  // To URI
    std::string state;   // "trying" | "ringing" | "confirmed"
    std::chrono::steady_clock::time_point started;
    std::chrono::steady_clock::time_point answered;
};

class CallRegistry {
public:
    void begin(std::string_view call_id, std::string_view caller, std::string_view callee);
    void ringing(std::string_view call_id);
    void answered(std::string_view call_id);
    void end(std::string_view call_id);
    std::vector<CallInfo> list() const;
    std::size_t count() const;
    // Answered calls whose BYE this proxy never saw are dropped after this long.
    void purge_older_than(std::chrono::hours max_age);

private:
    struct Shard {
        mutable std::mutex mu;
        std::unordered_map<std::string, CallInfo> calls;
    };
    Shard& shard(std::string_view call_id);
    std::array<Shard, 16> shards_;
};

}  // namespace sipproxy::proxy
