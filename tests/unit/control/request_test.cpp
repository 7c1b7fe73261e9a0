// The protocol rules of one request line, without a socket (docs/control-protocol.md).
#include "control/request.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

using nlohmann::json;
using namespace sipproxy::control;

namespace {

CommandTable table() {
    return {
        {"status",
         [](const json&) {
             return json{{"version", "0.1.0"}};
         }},
        {"echo", [](const json& args) { return args; }},
        {"nothing", [](const json&) { return json(); }},
        {"fail", [](const json&) -> json { throw CommandError("gateway 'x' not found"); }},
        {"crash", [](const json&) -> json { throw std::logic_error("oops"); }},
        {"need_aor",
         [](const json& args) {
             return json{{"aor", required_string(args, "aor")}};
         }},
        {"need_int",
         [](const json& args) {
             return json{{"n", optional_integer(args, "n").value_or(-1)}};
         }},
    };
}

json answer(std::string_view line) {
    return json::parse(handle_request(table(), line));
}

}  // namespace

TEST_CASE("a good request gets ok, its id and the result") {
    auto r = answer(R"({"v":1,"id":"abc","cmd":"status","args":{}})");
    CHECK(r == json{{"v", 1}, {"id", "abc"}, {"ok", true}, {"result", {{"version", "0.1.0"}}}});
}

TEST_CASE("any JSON value is an id; a missing id is answered with null") {
    CHECK(answer(R"({"v":1,"id":{"n":[1,2]},"cmd":"status"})")["id"] == json{{"n", {1, 2}}});
    CHECK(answer(R"({"v":1,"cmd":"status"})")["id"].is_null());
}

TEST_CASE("args are optional and passed through to the handler") {
    CHECK(answer(R"({"v":1,"id":1,"cmd":"echo"})")["result"] == json::object());
    CHECK(answer(R"({"v":1,"id":1,"cmd":"echo","args":{"aor":"sip:a@b"}})")["result"] ==
          json{{"aor", "sip:a@b"}});
    CHECK(answer(R"({"v":1,"id":1,"cmd":"nothing"})")["result"] == json::object());
}

TEST_CASE("errors name the problem") {
    auto error_of = [](std::string_view line) {
        auto r = answer(line);
        CHECK(r["ok"] == false);
        CHECK(r["v"] == 1);
        return r["error"].get<std::string>();
    };
    CHECK(error_of(R"({"v":1,"id":1,"cmd":"x"})") == "unknown command 'x'");
    CHECK(error_of(R"({"v":1,"id":1,"cmd":"fail"})") == "gateway 'x' not found");
    CHECK(error_of(R"({"v":1,"id":1,"cmd":"need_aor","args":{}})") == "missing argument 'aor'");
    CHECK(error_of(R"({"v":1,"id":1,"cmd":"need_aor","args":{"aor":5}})") ==
          "argument 'aor' must be a string");
    CHECK(error_of(R"({"v":1,"id":1,"cmd":"need_int","args":{"n":"5"}})") ==
          "argument 'n' must be an integer");
    CHECK(error_of(R"({"v":1,"id":1,"cmd":"crash"})") == "internal error: oops");
    CHECK_THAT(error_of("{not json"),
               Catch::StartsWith("bad request: invalid JSON: parse error at line 1, column 3:"));
    CHECK(error_of("[1,2]") == "bad request: not a JSON object");
    CHECK(error_of(R"({"v":1,"id":1})") == "bad request: missing \"cmd\"");
    CHECK(error_of(R"({"v":1,"id":1,"cmd":7})") == "bad request: \"cmd\" must be a string");
    CHECK(error_of(R"({"v":1,"id":1,"cmd":"echo","args":[1]})") ==
          "bad request: \"args\" must be an object");
    CHECK(error_of(R"({"v":2,"id":1,"cmd":"status"})") ==
          "bad request: unsupported protocol version (expected \"v\":1)");
}

TEST_CASE("invalid UTF-8 from a peer in a result does not break the answer") {
    CommandTable t{{"ua", [](const json&) { return json{{"user_agent", "bad\xff"}}; }}};
    auto r = json::parse(handle_request(t, R"({"v":1,"id":1,"cmd":"ua"})"));
    CHECK(r["ok"] == true);
    CHECK(r["result"]["user_agent"] == "bad\xEF\xBF\xBD");
}
