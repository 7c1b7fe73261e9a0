#pragma once
// One request line in, one response line out (docs/control-protocol.md). No I/O here, so
// the protocol rules are testable without a socket.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "control/command.hpp"

namespace sipproxy::control {

inline constexpr int protocol_version = 1;

// Parses `line` (without its newline), runs the named handler and returns the serialized
// response, without a trailing newline. Never throws for anything the client sent.
std::string handle_request(const CommandTable& commands, std::string_view line);

// {"v":1,"id":<id>,"ok":false,"error":<message>} serialized on one line.
std::string error_response(const nlohmann::json& id, std::string_view message);

}  // namespace sipproxy::control
