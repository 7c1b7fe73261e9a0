#pragma once
// The control socket's file in the filesystem: claimed at start (a stale file left by a
// crashed daemon is replaced, a live daemon's is not), mode 0660, removed at stop.
#include <sys/types.h>

#include <filesystem>
#include <stdexcept>

namespace sipproxy::control {

inline constexpr mode_t socket_file_mode = 0660;

// Why the control socket could not be set up; what() names the path and the reason.
struct ControlSocketError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Makes `path` free for bind(): creates the parent folder if missing, removes a stale
// socket file (nobody accepts on it). Throws ControlSocketError if another process answers
// on it or the path is something other than a socket.
void claim_socket_path(const std::filesystem::path& path);

// Identity of the file bind() created, so stop removes only our own file (another daemon
// may have replaced it since).
struct SocketFileId {
    dev_t dev = 0;
    ino_t ino = 0;
};
SocketFileId socket_file_id(const std::filesystem::path& path);
void remove_socket_file(const std::filesystem::path& path, SocketFileId id);

}  // namespace sipproxy::control
