#pragma once
// Gives back a call's [[fraud]] concurrent counts when it ends, whichever way (failed,
// cancelled, ended by BYE, expired, ended by the operator or at shutdown): CallEvents tells
// exactly one final event per started call. A call the proxy refused itself (Refused) was
// never counted.
#include "fraud/call_limits.hpp"
#include "proxy/call_events.hpp"

namespace sipproxy::proxy {

class FraudCallListener : public CallListener {
public:
    explicit FraudCallListener(fraud::CallLimits& limits) : limits_(limits) {}
    void on_call(CallEvent event, const CallRecord& call) override;

private:
    fraud::CallLimits& limits_;
};

// The key a call is held under: Call-ID '\n' From tag (as CallEvents keys it).
std::string fraud_call_key(std::string_view call_id, std::string_view from_tag);

}  // namespace sipproxy::proxy
