#include "proxy/fraud_call_listener.hpp"

namespace sipproxy::proxy {

std::string fraud_call_key(std::string_view call_id, std::string_view from_tag) {
    std::string k;
    k.reserve(call_id.size() + from_tag.size() + 1);
    k.append(call_id).push_back('\n');
    k.append(from_tag);
    return k;
}

void FraudCallListener::on_call(CallEvent event, const CallRecord& call) {
    if (!is_final(event) || event == CallEvent::Refused) return;
    limits_.release(fraud_call_key(call.call_id, call.from_tag), fraud::Clock::now());
}

}  // namespace sipproxy::proxy
