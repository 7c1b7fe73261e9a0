#pragma once
// The commands the control socket answers: a table of plain functions from the request's
// "args" object to the response's "result" object (see docs/control-protocol.md), and one
// of coroutines for commands that wait for something (the location store's writer) without
// holding up the control loop.
#include <asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sipproxy::control {

// Thrown by a handler for a failure the operator should see; its message becomes the
// response's "error" (sipproxyctl prints it and exits 1). Any other exception is answered
// as "internal error: ..." and never stops the daemon.
struct CommandError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

using Handler = std::function<nlohmann::json(const nlohmann::json& args)>;
using CommandTable = std::map<std::string, Handler, std::less<>>;
// Runs on the control io_context; throws as a Handler does. Other commands are answered
// while it waits.
using AsyncHandler = std::function<asio::awaitable<nlohmann::json>(nlohmann::json args)>;
using AsyncCommandTable = std::map<std::string, AsyncHandler, std::less<>>;

// A command that keeps its connection after answering (trace): the server sends `result`
// as the answer, then whatever `next` returns, until the client closes the connection.
// Destroying the stream ends whatever feeds it.
struct CommandStream {
    nlohmann::json result;
    // Waits for more to send: one or more complete lines, each ending in '\n' ("" when there is
    // nothing yet; it is called again). Runs on the control io_context and may be cancelled.
    std::function<asio::awaitable<std::string>()> next;
};
// Throws as a Handler does (then the connection goes on as after any failed command).
using StreamHandler = std::function<CommandStream(const nlohmann::json& args)>;
using StreamCommandTable = std::map<std::string, StreamHandler, std::less<>>;

// Argument helpers for handlers: they throw CommandError with the protocol's wording,
// e.g. "missing argument 'aor'", "argument 'expires' must be an integer".
std::string required_string(const nlohmann::json& args, std::string_view name);

// JSON answers say "none" with null, never with "" (sipproxyctl(8), JSON OUTPUT).
inline nlohmann::json text_or_null(const std::string& s) {
    if (s.empty()) return nullptr;
    return s;
}
std::optional<std::string> optional_string(const nlohmann::json& args, std::string_view name);
std::optional<std::int64_t> optional_integer(const nlohmann::json& args, std::string_view name);

}  // namespace sipproxy::control
