#include "control/request.hpp"

#include <exception>

namespace sipproxy::control {

namespace {

using nlohmann::json;

// One line, no newlines (JSON escapes them inside strings). Strings from peers (a
// User-Agent, a Call-ID) may hold invalid UTF-8: replace it rather than fail the answer.
std::string serialize(const json& response) {
    return response.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string error_response(const json& id, std::string_view message) {
    return serialize(
        {{"v", protocol_version}, {"id", id}, {"ok", false}, {"error", std::string(message)}});
}

Expected<Request, std::string> parse_request(std::string_view line) {
    json request;
    try {
        request = json::parse(line);
    } catch (const json::exception& e) {
        // A syntax error, or a number that overflows ("id":1e999999 is out_of_range.406).
        // what() is "[json.exception.parse_error.101] parse error at line 1, column 3: ...".
        std::string_view why = e.what();
        if (auto tag = why.find("] "); tag != std::string_view::npos) why.remove_prefix(tag + 2);
        return Unexpected(
            error_response(nullptr, "bad request: invalid JSON: " + std::string(why)));
    }
    if (!request.is_object())
        return Unexpected(error_response(nullptr, "bad request: not a JSON object"));

    json id = request.contains("id") ? request["id"] : json(nullptr);
    if (auto v = request.find("v"); v != request.end() && *v != protocol_version)
        return Unexpected(
            error_response(id, "bad request: unsupported protocol version (expected \"v\":1)"));

    auto cmd = request.find("cmd");
    if (cmd == request.end()) return Unexpected(error_response(id, "bad request: missing \"cmd\""));
    if (!cmd->is_string())
        return Unexpected(error_response(id, "bad request: \"cmd\" must be a string"));

    json args = json::object();
    if (auto a = request.find("args"); a != request.end() && !a->is_null()) {
        if (!a->is_object())
            return Unexpected(error_response(id, "bad request: \"args\" must be an object"));
        args = *a;
    }
    return Request{std::move(id), cmd->get<std::string>(), std::move(args)};
}

std::string result_response(const json& id, json result) {
    if (result.is_null()) result = json::object();  // "-> {}" commands may return nothing
    return serialize(
        {{"v", protocol_version}, {"id", id}, {"ok", true}, {"result", std::move(result)}});
}

std::string exception_response(const json& id, std::exception_ptr failure) {
    try {
        std::rethrow_exception(failure);
    } catch (const CommandError& e) {
        return error_response(id, e.what());
    } catch (const json::exception& e) {
        // A handler reading an argument of the wrong type: the client's mistake.
        return error_response(id, std::string("bad request: ") + e.what());
    } catch (const std::exception& e) {
        return error_response(id, std::string("internal error: ") + e.what());
    } catch (...) {
        return error_response(id, "internal error: unknown exception");
    }
}

std::string run_request(const CommandTable& commands, const Request& request) {
    auto handler = commands.find(request.cmd);
    if (handler == commands.end())
        return error_response(request.id, "unknown command '" + request.cmd + "'");
    try {
        return result_response(request.id, handler->second(request.args));
    } catch (...) {
        return exception_response(request.id, std::current_exception());
    }
}

std::string handle_request(const CommandTable& commands, std::string_view line) {
    auto request = parse_request(line);
    if (!request) return request.error();
    return run_request(commands, *request);
}

}  // namespace sipproxy::control
