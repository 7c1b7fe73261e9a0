#include "control/control_server.hpp"

#include <sys/stat.h>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>

#include "base/accept_loop.hpp"
#include "base/log.hpp"
#include "control/request.hpp"

namespace sipproxy::control {

namespace {

using asio::awaitable;
using asio::local::stream_protocol;
using namespace asio::experimental::awaitable_operators;
// Errors as values: `read() || watchdog()` finishes with the first operation that
// *succeeds*, so a read that fails (peer closed) must still complete normally.
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

class ConnectionEntry;

struct ControlServerState {
    ControlServerState(asio::io_context& io, std::filesystem::path p, CommandTable c,
                       ControlLimits l, AsyncCommandTable w, StreamCommandTable s)
        : path(std::move(p)),
          commands(std::move(c)),
          waiting(std::move(w)),
          streams(std::move(s)),
          limits(l),
          acceptor(io) {}

    std::filesystem::path path;
    CommandTable commands;
    AsyncCommandTable waiting;
    StreamCommandTable streams;
    ControlLimits limits;
    stream_protocol::acceptor acceptor;
    SocketFileId file_id;
    std::set<ConnectionEntry*> connections;  // open ones, closed by stop()
    bool stopped = false;
};

// Registers an open connection so stop() can close it, and so a new connection at the
// cap can take the place of the one idle the longest.
class ConnectionEntry {
  public:
    ConnectionEntry(std::set<ConnectionEntry*>& set, stream_protocol::socket& s)
        : set_(set), socket_(s) {
        set_.insert(this);
    }
    ~ConnectionEntry() { set_.erase(this); }
    ConnectionEntry(const ConnectionEntry&) = delete;
    ConnectionEntry& operator=(const ConnectionEntry&) = delete;

    stream_protocol::socket& socket() { return socket_; }
    // Waiting for a request (not running a command) since `idle_since`.
    bool idle = true;
    std::chrono::steady_clock::time_point idle_since = std::chrono::steady_clock::now();

  private:
    std::set<ConnectionEntry*>& set_;
    stream_protocol::socket& socket_;
};

namespace {

awaitable<void> watchdog(std::chrono::milliseconds timeout) {
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    co_await timer.async_wait(asio::use_awaitable);
}

// Closes the connection idle the longest (other than `self`); false when none is idle.
bool evict_idlest(std::set<ConnectionEntry*>& connections, const ConnectionEntry* self) {
    ConnectionEntry* victim = nullptr;
    for (auto* c : connections)
        if (c != self && c->idle && (!victim || c->idle_since < victim->idle_since)) victim = c;
    if (!victim) return false;
    std::error_code ec;
    victim->socket().close(ec);  // its read completes with an error and it ends
    return true;
}

struct ReadResult {
    std::error_code ec;
    std::size_t length = 0;  // of the line, newline included
};

using LineBuffer = asio::dynamic_string_buffer<char, std::char_traits<char>, std::allocator<char>>;

awaitable<ReadResult> read_line(stream_protocol::socket& socket, LineBuffer buffer) {
    auto [ec, n] = co_await asio::async_read_until(socket, buffer, '\n', use_tuple);
    co_return ReadResult{ec, n};
}

awaitable<std::error_code> write_line(stream_protocol::socket& socket, std::string line) {
    line += '\n';
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(line), use_tuple);
    (void)n;
    co_return ec;
}

// The response to one request line: a plain command runs at once, a waiting one as a
// coroutine.
awaitable<std::string> answer(const ControlServerState& state, Expected<Request, std::string> request) {
    if (!request) co_return request.error();
    auto waiting = state.waiting.find(request->cmd);
    if (waiting == state.waiting.end()) co_return run_request(state.commands, *request);
    AsyncHandler handler = waiting->second;  // the table may not outlive the wait
    std::exception_ptr failure;
    nlohmann::json result;
    try {
        result = co_await handler(std::move(request->args));
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) co_return exception_response(request->id, failure);
    co_return result_response(request->id, std::move(result));
}

// The answer to a streaming command; `stream` is set when it succeeded.
std::string open_stream(const StreamHandler& handler, const Request& request,
                        std::optional<CommandStream>& stream) {
    try {
        stream = handler(request.args);
    } catch (...) {
        return exception_response(request.id, std::current_exception());
    }
    return result_response(request.id, std::move(stream->result));
}

awaitable<void> write_stream(stream_protocol::socket& socket, CommandStream& stream) {
    for (;;) {
        std::string lines = co_await stream.next();
        if (lines.empty()) continue;
        auto [ec, n] = co_await asio::async_write(socket, asio::buffer(lines), use_tuple);
        (void)n;
        if (ec) co_return;
    }
}

// Whatever the client sends after a streaming command is ignored; its end ends the stream.
awaitable<void> until_closed(stream_protocol::socket& socket) {
    char ignored[512];
    for (;;) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(ignored), use_tuple);
        (void)n;
        if (ec) co_return;
    }
}

// One conversation with one client: request line in, response line out, until the client
// closes, goes idle, or breaks the rules.
awaitable<void> serve(std::shared_ptr<ControlServerState> state, stream_protocol::socket socket) {
    ConnectionEntry entry(state->connections, socket);
    const auto& limits = state->limits;
    const auto timeout = limits.idle_timeout;

    if (state->connections.size() > limits.max_connections) {
        if (evict_idlest(state->connections, &entry)) {
            log::info("control: {} connections open, the one idle the longest was closed",
                      limits.max_connections);
        } else {
            co_await (write_line(socket, error_response(nullptr, "too many control connections")) ||
                      watchdog(timeout));
            co_return;
        }
    }

    std::string buffer;
    bool first = true;
    for (;;) {
        entry.idle = true;
        entry.idle_since = std::chrono::steady_clock::now();
        const auto wait = first ? std::min(timeout, limits.first_request_timeout) : timeout;
        auto read = co_await (read_line(socket, asio::dynamic_buffer(buffer, limits.max_request)) ||
                              watchdog(wait));
        if (read.index() == 1) {
            log::debug("control: closing a connection idle for {} ms", wait.count());
            co_return;
        }
        entry.idle = false;
        first = false;
        auto [ec, length] = std::get<0>(read);
        if (ec == asio::error::not_found) {  // the buffer filled up without a newline
            co_await (
                write_line(socket, error_response(nullptr, "bad request: request exceeds " +
                                                               std::to_string(limits.max_request) +
                                                               " bytes")) ||
                watchdog(timeout));
            co_return;
        }
        if (ec) co_return;  // closed by the client (eof) or by stop()

        std::string_view line(buffer.data(), length - 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // from `socat -` etc.
        std::string response;
        std::optional<CommandStream> stream;
        if (line.find_first_not_of(" \t") != std::string_view::npos) {
            auto request = parse_request(line);  // copies what it needs of `line`
            auto streaming = request ? state->streams.find(request->cmd) : state->streams.end();
            if (streaming != state->streams.end())
                response = open_stream(streaming->second, *request, stream);
            else
                response = co_await answer(*state, std::move(request));
        }
        buffer.erase(0, length);
        if (response.empty()) continue;  // blank lines are ignored

        auto written = co_await (write_line(socket, std::move(response)) || watchdog(timeout));
        if (written.index() == 1 || std::get<0>(written)) co_return;
        if (stream) {
            // No idle timeout from here on: the stream lasts until the client closes (or
            // stop() closes the socket).
            co_await (write_stream(socket, *stream) || until_closed(socket));
            co_return;
        }
    }
}

awaitable<void> accept_loop(std::shared_ptr<ControlServerState> state) {
    const std::string what = "control: accept on " + state->path.string();
    co_await accept_until_stopped(state->acceptor, state->stopped, what,
                                  [&state](auto socket) {
                                      asio::co_spawn(state->acceptor.get_executor(),
                                                     serve(state, std::move(socket)),
                                                     asio::detached);
                                  });
}

}  // namespace

ControlServer::ControlServer(asio::io_context& io, std::filesystem::path socket_path,
                             CommandTable commands, ControlLimits limits, AsyncCommandTable waiting,
                             StreamCommandTable streams)
    : state_(std::make_shared<ControlServerState>(io, std::move(socket_path), std::move(commands),
                                                  limits, std::move(waiting), std::move(streams))) {
    auto& st = *state_;
    claim_socket_path(st.path);

    auto fail = [&](const char* what, const std::error_code& ec) {
        throw ControlSocketError("control socket " + st.path.string() + ": " + what + ": " +
                                 ec.message());
    };
    std::error_code ec;
    st.acceptor.open(stream_protocol(), ec);
    if (ec) fail("socket", ec);
    // Linux applies a socket's own mode to the file bind() creates: restricting it first
    // leaves no moment where the file is more open than 0660, without touching the
    // process-wide umask. chmod afterwards makes it exact whatever the umask.
    ::fchmod(st.acceptor.native_handle(), socket_file_mode);
    st.acceptor.bind(stream_protocol::endpoint(st.path.string()), ec);
    if (ec) fail("bind", ec);
    st.file_id = socket_file_id(st.path);
    if (::chmod(st.path.c_str(), socket_file_mode) != 0) {
        ec = std::error_code(errno, std::generic_category());
        remove_socket_file(st.path, st.file_id);
        fail("chmod", ec);
    }
    st.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        remove_socket_file(st.path, st.file_id);
        fail("listen", ec);
    }
    asio::co_spawn(io, accept_loop(state_), asio::detached);
    log::info("control: listening on {}", st.path.string());
}

ControlServer::~ControlServer() {
    stop();
}

void ControlServer::stop() {
    auto& st = *state_;
    if (st.stopped) return;
    st.stopped = true;
    std::error_code ec;
    st.acceptor.close(ec);
    for (auto* c : st.connections) c->socket().close(ec);
    remove_socket_file(st.path, st.file_id);
}

const std::filesystem::path& ControlServer::socket_path() const {
    return state_->path;
}

}  // namespace sipproxy::control
