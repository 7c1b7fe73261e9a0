#pragma once
// The control socket: newline-delimited JSON over a Unix stream socket, for sipproxyctl
// and scripts (docs/control-protocol.md). One coroutine per connection; handlers run on
// the io_context given here, so they may touch the daemon's state without locks as long
// as that state lives on the same io_context.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>

#include "control/command.hpp"
#include "control/socket_file.hpp"

namespace asio {
class io_context;
}

namespace sipproxy::control {

struct ControlLimits {
    std::size_t max_request = 64 * 1024;            // bytes per request line, newline included
    std::chrono::milliseconds idle_timeout{30000};  // no complete request for this long: close
    // A new connection must send its first request this soon (sipproxyctl sends at once):
    // idle clients cannot hold the slots for long.
    std::chrono::milliseconds first_request_timeout{3000};
    // At the cap, the connection idle the longest makes room for the new one (the
    // operator's sipproxyctl always gets in); only when all are busy is the new one refused.
    std::size_t max_connections = 32;
};

struct ControlServerState;  // control_server.cpp

class ControlServer {
  public:
    // Claims `socket_path` (see claim_socket_path), binds it with mode 0660 and starts
    // accepting once `io` runs. `io` must outlive the server. Throws ControlSocketError (what()
    // names the path and the reason) if the socket cannot be set up, e.g. another sipproxyd answers
    // on it.
    // `waiting` holds the commands that are coroutines (they may wait without holding up
    // other connections); `streams` those that keep writing to their connection after the
    // answer (trace), free of the idle timeout.
    ControlServer(asio::io_context& io, std::filesystem::path socket_path, CommandTable commands,
                  ControlLimits limits = {}, AsyncCommandTable waiting = {},
                  StreamCommandTable streams = {});
    // Stops (see stop()).
    ~ControlServer();

    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Stops accepting, closes open connections and removes the socket file. Idempotent.
    // Call it on the io_context's thread, or after the io_context has stopped running.
    void stop();

    const std::filesystem::path& socket_path() const;

  private:
    std::shared_ptr<ControlServerState> state_;  // shared with the connection coroutines
};

}  // namespace sipproxy::control
