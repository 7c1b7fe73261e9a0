#pragma once
// One request line in, one response line out (docs/control-protocol.md). No I/O here, so
// the protocol rules are testable without a socket.
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/expected.hpp"
#include "control/command.hpp"

namespace sipproxy::control {

inline constexpr int protocol_version = 1;

// A request line that follows the protocol's rules.
struct Request {
    nlohmann::json id;
    std::string cmd;
    nlohmann::json args;  // an object
};

// Parses `line` (without its newline): the request, or the serialized error response.
Expected<Request, std::string> parse_request(std::string_view line);

// Runs the request's handler from `commands` ("unknown command" if it has none) and
// returns the serialized response. Never throws for anything the client sent.
std::string run_request(const CommandTable& commands, const Request& request);

// parse_request, then run_request.
std::string handle_request(const CommandTable& commands, std::string_view line);

// The serialized response for a handler's result, or for what it threw (CommandError:
// its message; a JSON type error: "bad request: ..."; anything else: "internal error: ...").
std::string result_response(const nlohmann::json& id, nlohmann::json result);
std::string exception_response(const nlohmann::json& id, std::exception_ptr failure);

// {"v":1,"id":<id>,"ok":false,"error":<message>} serialized on one line.
std::string error_response(const nlohmann::json& id, std::string_view message);

}  // namespace sipproxy::control
