#pragma once
// What the request pipeline decided: answer the request here, or forward it to groups
// of targets (each group rung in parallel, the groups one after another).
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "proxy/target.hpp"
#include "sip/response.hpp"

namespace sipproxy::proxy {

struct Decision {
    enum class Kind { Undecided, Respond, Forward };
    Kind kind = Kind::Undecided;

    // Respond
    int status = 0;
    std::string reason;
    std::vector<sip::ExtraHeader> headers;
    // Info lines written when the response goes out: what a REGISTER changed (once the
    // store has it: register_binding.cpp waits for the commit before deciding for good).
    std::vector<std::string> log_when_sent;

    // Forward
    std::vector<std::vector<Target>> groups;
    FailoverPolicy policy = FailoverPolicy::AnyFailure;
    std::chrono::milliseconds branch_timeout{0};  // no-answer timer per group; 0: timer C only
    std::string route;  // the [[routes]] name when the dial plan chose the targets (CDRs)

    static Decision respond(int status, std::string reason = {},
                            std::vector<sip::ExtraHeader> headers = {}) {
        Decision d;
        d.kind = Kind::Respond;
        d.status = status;
        d.reason = std::move(reason);
        d.headers = std::move(headers);
        return d;
    }
    static Decision forward(std::vector<std::vector<Target>> groups,
                            FailoverPolicy policy = FailoverPolicy::AnyFailure) {
        Decision d;
        d.kind = Kind::Forward;
        d.groups = std::move(groups);
        d.policy = policy;
        return d;
    }
};

}  // namespace sipproxy::proxy
