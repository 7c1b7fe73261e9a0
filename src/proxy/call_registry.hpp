#pragma once
// The calls the proxy is carrying, for `sipproxyctl show calls`: a listener of the call
// events (call_events.hpp), so a call is shown from its INVITE until its BYE's final
// response passes back (not the BYE request), its failure, or its expiry.
#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/call_events.hpp"

namespace sipproxy::proxy {

struct CallInfo {
    std::string call_id;
    std::string caller;  // From URI
    std::string callee;  // the original Request-URI
    std::string state;   // "trying" | "ringing" | "confirmed"
    std::chrono::steady_clock::time_point started;
    std::chrono::steady_clock::time_point answered;
};

class CallRegistry : public CallListener {
public:
    void on_call(CallEvent event, const CallRecord& call) override;
    std::vector<CallInfo> list() const;
    std::size_t count() const;

private:
    struct Shard {
        mutable std::mutex mu;
        std::unordered_map<std::string, CallInfo> calls;  // by record id
    };
    Shard& shard(std::string_view record_id);
    std::array<Shard, 16> shards_;
};

}  // namespace sipproxy::proxy
