#include "control_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

namespace sipproxyctl {

namespace {

using Clock = std::chrono::steady_clock;

// A reply larger than this is not from sipproxyd.
constexpr std::size_t max_reply = 64 * 1024 * 1024;

std::string hint_for(int error) {
    switch (error) {
        case EACCES:
        case EPERM:
            return " (the socket is mode 0660: run as its owner or a member of its group)";
        case ETIMEDOUT:
            return " (is it running, or stuck?)";
        default:
            return " (is it running?)";
    }
}

// Waits until `fd` is ready for `events` or the deadline passes (returns false).
bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, events, 0};
        int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return true;  // let the following call report the error
    }
}

}  // namespace

ControlClient::ControlClient(std::filesystem::path socket, std::chrono::milliseconds timeout)
    : socket_(std::move(socket)), timeout_(timeout) {
    sockaddr_un addr{};
    if (socket_.native().size() >= sizeof addr.sun_path)
        throw Unreachable("cannot reach sipproxyd at " + socket_.string() +
                          ": socket path too long (max " +
                          std::to_string(sizeof addr.sun_path - 1) + " bytes)");
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_.c_str(), socket_.native().size());

    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) unreachable(errno);
    const auto deadline = Clock::now() + timeout_;
    for (;;) {
        if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return;
        int error = errno;
        if (error == EINTR) continue;
        if (error == EAGAIN) {  // AF_UNIX: the daemon's backlog is full; it may catch up
            if (Clock::now() >= deadline) unreachable(ETIMEDOUT);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;
        }
        if (error == EINPROGRESS) {
            if (!wait_for(fd_, POLLOUT, deadline)) unreachable(ETIMEDOUT);
            socklen_t len = sizeof error;
            ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len);
            if (error == 0) return;
        }
        unreachable(error);
    }
}

ControlClient::~ControlClient() {
    if (fd_ >= 0) ::close(fd_);
}

void ControlClient::unreachable(int error) const {
    std::string why = std::strerror(error);
    if (error == ETIMEDOUT) {
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%g", static_cast<double>(timeout_.count()) / 1000);
        why = std::string("no answer within ") + seconds + " s";
    }
    throw Unreachable("cannot reach sipproxyd at " + socket_.string() + ": " + why +
                      hint_for(error));
}

void ControlClient::send_all(const std::string& data, Clock::time_point deadline) {
    std::size_t done = 0;
    while (done < data.size()) {
        auto n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_for(fd_, POLLOUT, deadline)) unreachable(ETIMEDOUT);
        } else {
            unreachable(errno);
        }
    }
}

std::string ControlClient::read_line(Clock::time_point deadline) {
    for (;;) {
        if (auto nl = pending_.find('\n'); nl != std::string::npos) {
            std::string line = pending_.substr(0, nl);
            pending_.erase(0, nl + 1);
            return line;
        }
        if (pending_.size() > max_reply)
            throw BadReply("reply from sipproxyd at " + socket_.string() + " is too large");
        char buf[16384];
        auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
            pending_.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0) {
            throw Unreachable("sipproxyd at " + socket_.string() +
                              " closed the connection without answering");
        } else if (errno == EAGAIN || errno == EINTR) {
            if (!wait_for(fd_, POLLIN, deadline)) unreachable(ETIMEDOUT);
        } else {
            unreachable(errno);
        }
    }
}

nlohmann::json ControlClient::call(std::string_view cmd, const nlohmann::json& args) {
    const int id = next_id_++;
    nlohmann::json request{{"v", 1}, {"id", id}, {"cmd", cmd}, {"args", args}};
    const auto deadline = Clock::now() + timeout_;
    send_all(request.dump() + "\n", deadline);
    std::string line = read_line(deadline);

    nlohmann::json response;
    try {
        response = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error&) {
        throw BadReply("reply from sipproxyd at " + socket_.string() + " is not JSON");
    }
    if (!response.is_object() || !response.contains("ok") || !response["ok"].is_boolean())
        throw BadReply("reply from sipproxyd at " + socket_.string() +
                       " is not a protocol response: " + line.substr(0, 200));
    if (response.value("id", nlohmann::json()) != id && !response["id"].is_null())
        throw BadReply("reply from sipproxyd at " + socket_.string() + " answers another request");
    return response;
}

std::optional<std::string> ControlClient::next_line(const volatile std::sig_atomic_t& stop) {
    for (;;) {
        if (auto nl = pending_.find('\n'); nl != std::string::npos) {
            std::string line = pending_.substr(0, nl);
            pending_.erase(0, nl + 1);
            return line;
        }
        if (stop) return std::nullopt;
        if (pending_.size() > max_reply)
            throw BadReply("a line from sipproxyd at " + socket_.string() + " is too large");
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;  // a timeout, or a signal (EINTR)
        char buf[65536];
        auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
            pending_.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0) {
            throw Unreachable("sipproxyd at " + socket_.string() +
                              " closed the connection (stopped?)");
        } else if (errno != EAGAIN && errno != EINTR) {
            unreachable(errno);
        }
    }
}

nlohmann::json ControlClient::result(std::string_view cmd, const nlohmann::json& args) {
    nlohmann::json response = call(cmd, args);
    if (!response["ok"].get<bool>()) {
        const auto& error = response.value("error", nlohmann::json("(no message)"));
        throw CommandFailed(error.is_string() ? error.get<std::string>() : error.dump());
    }
    return response.value("result", nlohmann::json::object());
}

}  // namespace sipproxyctl
