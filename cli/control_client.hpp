#pragma once
// sipproxyctl's side of the control protocol (docs/control-protocol.md) over plain POSIX
// sockets: connect, send one request line, read one response line, all within a deadline.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sipproxyctl {

// The daemon cannot be talked to (no socket, refused, no permission, no reply in time):
// exit status 3. what() is the whole message, e.g. "cannot reach sipproxyd at /x.sock:
// No such file or directory (is it running?)".
struct Unreachable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The daemon answered something that is not a protocol response: exit status 1.
struct BadReply : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The daemon answered the command with an error: exit status 1. what() is its message.
struct CommandFailed : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class ControlClient {
  public:
    // Connects, or throws Unreachable. `timeout` bounds the connect and each call.
    ControlClient(std::filesystem::path socket, std::chrono::milliseconds timeout);
    ~ControlClient();
    ControlClient(const ControlClient&) = delete;
    ControlClient& operator=(const ControlClient&) = delete;

    // Sends {"v":1,"id":n,"cmd":cmd,"args":args} and returns the whole response object
    // ({"v","id","ok","result"|"error"}). Throws Unreachable or BadReply.
    nlohmann::json call(std::string_view cmd, const nlohmann::json& args);
    // call(), then the response's result object; throws CommandFailed for an error response.
    nlohmann::json result(std::string_view cmd, const nlohmann::json& args);
    // After a streaming command's answer (trace): the next line the daemon sends, waiting as
    // long as it takes. nullopt as soon as `stop` is true (checked at least every 200 ms and
    // after a signal). Throws Unreachable when the daemon closes the connection.
    std::optional<std::string> next_line(const volatile std::sig_atomic_t& stop);

  private:
    void send_all(const std::string& data, std::chrono::steady_clock::time_point deadline);
    std::string read_line(std::chrono::steady_clock::time_point deadline);
    [[noreturn]] void unreachable(int error) const;

    std::filesystem::path socket_;
    std::chrono::milliseconds timeout_;
    int fd_ = -1;
    int next_id_ = 1;
    std::string pending_;  // bytes read past the last line
};

}  // namespace sipproxyctl
