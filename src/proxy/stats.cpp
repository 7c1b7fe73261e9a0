#include "proxy/stats.hpp"

namespace sipproxy::proxy {

std::string_view refusal_name(Refusal r) {
    switch (r) {
    case Refusal::InDialog: return "in_dialog";
    case Refusal::Ack: return "ack";
    case Refusal::StrayResponse: return "stray_response";
    case Refusal::PreloadedRoute: return "preloaded_route";
    case Refusal::DigestUri: return "digest_uri";
    case Refusal::NonceSpent: return "nonce_spent";
    case Refusal::Credentials: return "credentials";
    case Refusal::Identity: return "identity";
    case Refusal::Fraud: return "fraud";
    case Refusal::UserThrottled: return "user_throttled";
    case Refusal::count_: break;
    }
    return "other";
}

std::map<std::string, std::uint64_t> Stats::snapshot() const {
    std::map<std::string, std::uint64_t> out;
    for (std::size_t i = 0; i < requests_.size(); ++i) {
        auto v = requests_[i].load(std::memory_order_relaxed);
        if (!v) continue;
        auto name = sip::method_name(static_cast<sip::Method>(i));
        out["requests." + std::string(name.empty() ? "other" : name)] = v;
    }
    for (std::size_t i = 0; i < responses_.size(); ++i)
        if (auto v = responses_[i].load(std::memory_order_relaxed))
            out["responses." + std::to_string(i + 100)] = v;
    auto put = [&](const char* name, const std::atomic<std::uint64_t>& c) {
        out[name] = c.load(std::memory_order_relaxed);
    };
    put("messages.parse_errors", parse_errors_);
    put("auth.challenges", auth_challenges_);
    put("auth.failures", auth_failures_);
    put("auth.successes", auth_successes_);
    put("calls.started", calls_started_);
    put("calls.answered", calls_answered_);
    put("calls.failed", calls_failed_);
    put("responses.forwarded_stateless", stateless_forwards_);
    put("registrar.registers_accepted", registrations_);
    put("fraud.warnings", fraud_warnings_);
    for (std::size_t i = 0; i < refused_.size(); ++i)
        out["refused." + std::string(refusal_name(static_cast<Refusal>(i)))] =
            refused_[i].load(std::memory_order_relaxed);
    return out;
}

}  // namespace sipproxy::proxy
