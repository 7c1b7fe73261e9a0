#include "control/socket_file.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sipproxy::control {

namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& why) {
    throw ControlSocketError("control socket " + path.string() + ": " + why);
}

// True if a process accepts connections on the socket file at `path`.
bool someone_answers(const std::filesystem::path& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(path, std::string("socket: ") + std::strerror(errno));
    int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    int err = errno;
    ::close(fd);
    if (rc == 0) return true;
    if (err == ECONNREFUSED) return false;  // left behind by a daemon that died
    if (err == EAGAIN) return true;         // alive, its backlog is full
    fail(path, std::string("cannot probe the existing socket: ") + std::strerror(err));
}

}  // namespace

void claim_socket_path(const std::filesystem::path& path) {
    if (path.native().size() >= sizeof(sockaddr_un{}.sun_path))
        fail(path, "path too long for a Unix socket (max " +
                       std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes)");
    std::error_code ec;
    if (path.has_parent_path()) {
        std::filesystem::create_directories(path.parent_path(), ec);
        if (ec) fail(path, "cannot create its folder: " + ec.message());
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return;
        fail(path, std::strerror(errno));
    }
    if (!S_ISSOCK(st.st_mode)) fail(path, "exists and is not a socket; not touching it");
    if (someone_answers(path)) fail(path, "another sipproxyd is already running on it");
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        fail(path, std::string("cannot remove the stale socket: ") + std::strerror(errno));
}

SocketFileId socket_file_id(const std::filesystem::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return {};
    return {st.st_dev, st.st_ino};
}

void remove_socket_file(const std::filesystem::path& path, SocketFileId id) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;
    if (st.st_dev == id.dev && st.st_ino == id.ino) ::unlink(path.c_str());
}

}  // namespace sipproxy::control
