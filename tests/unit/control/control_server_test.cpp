// ControlServer against a real Unix socket in /tmp.
#include "control/control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "base/log.hpp"

using nlohmann::json;
using namespace sipproxy::control;
namespace fs = std::filesystem;

namespace {

fs::path make_temp_dir() {
    std::string tmpl = "/tmp/sipproxy-control-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    return tmpl;
}

CommandTable table() {
    return {
        {"status",
         [](const json&) {
             return json{{"pid", 42}};
         }},
        {"echo", [](const json& args) { return args; }},
    };
}

// Commands that wait: "slow" for args.ms milliseconds, "fails" after a wait.
AsyncCommandTable waiting() {
    AsyncCommandTable t;
    t["slow"] = [](json args) -> asio::awaitable<json> {
        auto ms = args.value("ms", 0);
        asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
        co_await timer.async_wait(asio::use_awaitable);
        co_return json{{"waited", ms}};
    };
    t["fails"] = [](json) -> asio::awaitable<json> {
        asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(10));
        co_await timer.async_wait(asio::use_awaitable);
        throw CommandError("not saved: location store write failed: disk I/O error");
    };
    return t;
}

// Streaming commands: "ticks" writes {"tick":n} every 20 ms until the client closes
// (`open_streams` counts the streams alive); "refused" fails as trace does at its limit.
std::atomic<int> open_streams{0};

struct TickState {
    explicit TickState(asio::any_io_executor ex) : timer(ex) { ++open_streams; }
    ~TickState() { --open_streams; }
    asio::steady_timer timer;
    int n = 0;
};

asio::awaitable<std::string> next_tick(std::shared_ptr<TickState> s) {
    s->timer.expires_after(std::chrono::milliseconds(20));
    co_await s->timer.async_wait(asio::use_awaitable);
    co_return json{{"tick", ++s->n}}.dump() + "\n";
}

StreamCommandTable streams(asio::io_context& io) {
    StreamCommandTable t;
    t["ticks"] = [&io](const json&) {
        auto state = std::make_shared<TickState>(io.get_executor());
        return CommandStream{json{{"streaming", true}}, [state] { return next_tick(state); }};
    };
    t["refused"] = [](const json&) -> CommandStream {
        throw CommandError("too many trace sessions");
    };
    return t;
}

// The daemon side: a ControlServer on its own io_context thread.
struct Daemon {
    fs::path dir = make_temp_dir();
    fs::path socket_path = dir / "var" / "sipproxy.sock";
    asio::io_context io;
    std::optional<ControlServer> server;
    std::thread thread;

    void start(ControlLimits limits = {}) {
        sipproxy::log::set_level(sipproxy::log::Level::warn);
        server.emplace(io, socket_path, table(), limits, waiting(), streams(io));
        thread = std::thread([this] { io.run(); });
    }
    void stop() {
        if (!thread.joinable()) return;
        asio::post(io, [this] { server->stop(); });
        thread.join();  // returns once every connection coroutine has finished
    }
    ~Daemon() {
        stop();
        server.reset();
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

sockaddr_un address_of(const fs::path& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    return addr;
}

// The CLI side, with plain blocking sockets.
class Client {
  public:
    explicit Client(const fs::path& path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        auto addr = address_of(path);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~Client() { ::close(fd_); }

    void send(const std::string& data) {
        std::size_t done = 0;
        while (done < data.size()) {
            auto n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
            REQUIRE(n > 0);
            done += static_cast<std::size_t>(n);
        }
    }
    // The next line without its newline; nullopt once the server closed the connection.
    std::optional<std::string> read_line() {
        for (;;) {
            if (auto nl = pending_.find('\n'); nl != std::string::npos) {
                auto line = pending_.substr(0, nl);
                pending_.erase(0, nl + 1);
                return line;
            }
            char buf[4096];
            auto n = ::recv(fd_, buf, sizeof buf, 0);
            // Closed, or reset because the server closed with our bytes still unread.
            if (n == 0 || (n < 0 && errno == ECONNRESET)) return std::nullopt;
            REQUIRE(n > 0);  // else the 5 s receive timeout expired
            pending_.append(buf, static_cast<std::size_t>(n));
        }
    }
    json request(const json& req) {
        send(req.dump() + "\n");
        auto line = read_line();
        REQUIRE(line);
        return json::parse(*line);
    }

  private:
    int fd_ = -1;
    std::string pending_;
};

}  // namespace

TEST_CASE("control socket: a good command is answered") {
    Daemon d;
    d.start();
    Client c(d.socket_path);
    auto r = c.request({{"v", 1}, {"id", 7}, {"cmd", "status"}, {"args", json::object()}});
    CHECK(r == json{{"v", 1}, {"id", 7}, {"ok", true}, {"result", {{"pid", 42}}}});
}

TEST_CASE("control socket: unknown command and bad JSON keep the connection open") {
    Daemon d;
    d.start();
    Client c(d.socket_path);
    auto r = c.request({{"v", 1}, {"id", 1}, {"cmd", "x"}});
    CHECK(r["ok"] == false);
    CHECK(r["error"] == "unknown command 'x'");

    c.send("{\"v\":1,\"cmd\n");
    auto bad = json::parse(*c.read_line());
    CHECK(bad["ok"] == false);
    CHECK(bad["id"].is_null());
    CHECK(bad["error"].get<std::string>().rfind("bad request: invalid JSON", 0) == 0);

    CHECK(c.request({{"v", 1}, {"id", 2}, {"cmd", "status"}})["ok"] == true);
}

TEST_CASE("control socket: several requests on one connection, answered in order") {
    Daemon d;
    d.start();
    Client c(d.socket_path);
    // Pipelined in one write, a blank line and a CRLF among them.
    c.send(R"({"v":1,"id":1,"cmd":"echo","args":{"n":1}})"
           "\n\n"
           R"({"v":1,"id":2,"cmd":"echo","args":{"n":2}})"
           "\r\n"
           R"({"v":1,"id":3,"cmd":"status"})"
           "\n");
    for (int id = 1; id <= 3; ++id) {
        auto r = json::parse(*c.read_line());
        CHECK(r["id"] == id);
        CHECK(r["ok"] == true);
    }
    CHECK(c.request({{"v", 1}, {"id", 4}, {"cmd", "echo"}, {"args", {{"a", "b"}}}})["result"] ==
          json{{"a", "b"}});
}

TEST_CASE("control socket: a waiting command holds up only its own connection") {
    Daemon d;
    d.start();
    Client slow(d.socket_path), other(d.socket_path);
    const auto started = std::chrono::steady_clock::now();
    // Pipelined behind the slow one on its connection: answered after it, in order.
    slow.send(R"({"v":1,"id":1,"cmd":"slow","args":{"ms":400}})"
              "\n"
              R"({"v":1,"id":2,"cmd":"status"})"
              "\n");
    CHECK(other.request({{"v", 1}, {"id", 9}, {"cmd", "status"}})["ok"] == true);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(350));
    auto first = json::parse(*slow.read_line());
    CHECK(first == json{{"v", 1}, {"id", 1}, {"ok", true}, {"result", {{"waited", 400}}}});
    CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(400));
    CHECK(json::parse(*slow.read_line())["id"] == 2);

    auto failed = other.request({{"v", 1}, {"id", 10}, {"cmd", "fails"}});
    CHECK(failed == json{{"v", 1},
                         {"id", 10},
                         {"ok", false},
                         {"error", "not saved: location store write failed: disk I/O error"}});
    CHECK(other.request({{"v", 1}, {"id", 11}, {"cmd", "slow"}, {"args", {{"ms", "x"}}}})["error"]
              .get<std::string>()
              .rfind("bad request: ", 0) == 0);
}

TEST_CASE("control socket: an oversized request gets an error and the connection closes") {
    Daemon d;
    d.start();
    Client c(d.socket_path);
    c.send(std::string(70 * 1024, 'x'));
    auto r = json::parse(*c.read_line());
    CHECK(r["ok"] == false);
    CHECK(r["error"] == "bad request: request exceeds 65536 bytes");
    CHECK_FALSE(c.read_line());

    // A request of just under the limit is fine.
    Client c2(d.socket_path);
    std::string pad(60 * 1024, 'p');
    CHECK(c2.request({{"v", 1}, {"id", 1}, {"cmd", "echo"}, {"args", {{"pad", pad}}}})["ok"] ==
          true);
}

TEST_CASE("control socket: an idle connection is closed") {
    Daemon d;
    d.start({.idle_timeout = std::chrono::milliseconds(200)});
    Client c(d.socket_path);
    CHECK(c.request({{"v", 1}, {"id", 1}, {"cmd", "status"}})["ok"] == true);
    auto before = std::chrono::steady_clock::now();
    CHECK_FALSE(c.read_line());
    CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(3));
}

TEST_CASE("control socket: at the cap the connection idle the longest makes room") {
    // Idle local clients must not lock the operator out (issue: 32 idle connections kept
    // sipproxyctl out for 30 s at a time).
    Daemon d;
    d.start({.max_connections = 2});
    Client oldest(d.socket_path);
    CHECK(oldest.request({{"v", 1}, {"id", 1}, {"cmd", "status"}})["ok"] == true);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    Client newer(d.socket_path);
    CHECK(newer.request({{"v", 1}, {"id", 2}, {"cmd", "status"}})["ok"] == true);
    Client operator_cli(d.socket_path);
    CHECK(operator_cli.request({{"v", 1}, {"id", 3}, {"cmd", "status"}})["ok"] == true);
    CHECK_FALSE(oldest.read_line());  // closed to make room
    CHECK(newer.request({{"v", 1}, {"id", 4}, {"cmd", "status"}})["ok"] == true);
}

TEST_CASE("control socket: when every connection is busy a new one is refused with an error") {
    Daemon d;
    d.start({.max_connections = 1});
    Client first(d.socket_path);
    first.send(json({{"v", 1}, {"id", 1}, {"cmd", "slow"}, {"args", {{"ms", 1500}}}}).dump() + "\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the command is running
    Client second(d.socket_path);
    auto r = json::parse(*second.read_line());
    CHECK(r["error"] == "too many control connections");
    CHECK_FALSE(second.read_line());
    CHECK(json::parse(*first.read_line())["result"]["waited"] == 1500);
}

TEST_CASE("control socket: a connection that sends nothing is closed soon") {
    Daemon d;
    d.start({.idle_timeout = std::chrono::milliseconds(30000),
             .first_request_timeout = std::chrono::milliseconds(200)});
    Client silent(d.socket_path);
    auto before = std::chrono::steady_clock::now();
    CHECK_FALSE(silent.read_line());
    CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(4));
    // One that asked something keeps the longer idle timeout.
    Client talking(d.socket_path);
    CHECK(talking.request({{"v", 1}, {"id", 1}, {"cmd", "status"}})["ok"] == true);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    CHECK(talking.request({{"v", 1}, {"id", 2}, {"cmd", "status"}})["ok"] == true);
}

TEST_CASE("control socket: a number that overflows gets an error, the connection stays") {
    Daemon d;
    d.start();
    Client c(d.socket_path);
    c.send("{\"v\":1,\"id\":1e999999,\"cmd\":\"status\"}\n");
    auto line = c.read_line();
    REQUIRE(line);
    auto r = json::parse(*line);
    CHECK(r["ok"] == false);
    CHECK(r["error"].get<std::string>().rfind("bad request: invalid JSON", 0) == 0);
    CHECK(c.request({{"v", 1}, {"id", 2}, {"cmd", "status"}})["ok"] == true);
}

TEST_CASE("control socket: the file has mode 0660 whatever the umask, and is removed on stop") {
    auto old = ::umask(0);
    Daemon d;
    d.start();
    ::umask(old);
    struct stat st {};
    REQUIRE(::stat(d.socket_path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0660);
    d.stop();
    CHECK_FALSE(fs::exists(d.socket_path));
}

TEST_CASE("control socket: a stale socket file from a crashed daemon is replaced") {
    Daemon d;
    fs::create_directories(d.socket_path.parent_path());
    {  // bound, then closed without unlink: what a crash leaves behind
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        auto addr = address_of(d.socket_path);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        ::close(fd);
    }
    REQUIRE(fs::is_socket(d.socket_path));
    d.start();
    Client c(d.socket_path);
    CHECK(c.request({{"v", 1}, {"id", 1}, {"cmd", "status"}})["ok"] == true);
}

TEST_CASE("control socket: refuses to start while another daemon answers on the path") {
    Daemon d;
    d.start();
    asio::io_context other;
    CHECK_THROWS_WITH(ControlServer(other, d.socket_path, table()),
                      Catch::Contains("another sipproxyd is already running"));
    // The live daemon's socket is untouched.
    Client c(d.socket_path);
    CHECK(c.request({{"v", 1}, {"id", 1}, {"cmd", "status"}})["ok"] == true);
}

TEST_CASE("control socket: refuses to replace a file that is not a socket") {
    Daemon d;
    fs::create_directories(d.socket_path.parent_path());
    std::ofstream(d.socket_path) << "precious\n";
    asio::io_context io;
    CHECK_THROWS_WITH(ControlServer(io, d.socket_path, table()),
                      Catch::Contains("is not a socket"));
    CHECK(fs::is_regular_file(d.socket_path));
}

TEST_CASE("control socket: stop closes open connections") {
    Daemon d;
    d.start();
    Client c(d.socket_path);
    CHECK(c.request({{"v", 1}, {"id", 1}, {"cmd", "status"}})["ok"] == true);
    auto before = std::chrono::steady_clock::now();
    d.stop();  // joins the io thread: returns only once the connection coroutine is done
    CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(3));
    CHECK_FALSE(c.read_line());
    CHECK_FALSE(fs::exists(d.socket_path));
}

TEST_CASE("control socket: a server whose io_context never ran is torn down cleanly") {
    Daemon d;
    {
        asio::io_context io;
        ControlServer server(io, d.socket_path, table());
        CHECK(fs::is_socket(d.socket_path));
    }
    CHECK_FALSE(fs::exists(d.socket_path));
}

TEST_CASE("control socket: a streaming command writes until the client closes, free of timeouts") {
    Daemon d;
    d.start({.idle_timeout = std::chrono::milliseconds(200),
             .first_request_timeout = std::chrono::milliseconds(200)});
    {
        Client c(d.socket_path);
        auto r = c.request({{"v", 1}, {"id", 5}, {"cmd", "ticks"}});
        CHECK(r == json{{"v", 1}, {"id", 5}, {"ok", true}, {"result", {{"streaming", true}}}});
        // Well past the idle timeout: the lines keep coming, in order.
        for (int n = 1; n <= 30; ++n) {
            auto line = c.read_line();
            REQUIRE(line);
            CHECK(json::parse(*line) == json{{"tick", n}});
        }
        CHECK(open_streams == 1);
    }
    // The client closed: the server notices and ends the stream.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (open_streams != 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(open_streams == 0);
}

TEST_CASE("control socket: a refused streaming command is an error, the connection goes on") {
    Daemon d;
    d.start();
    Client c(d.socket_path);
    auto r = c.request({{"v", 1}, {"id", 1}, {"cmd", "refused"}});
    CHECK(r["ok"] == false);
    CHECK(r["error"] == "too many trace sessions");
    CHECK(c.request({{"v", 1}, {"id", 2}, {"cmd", "status"}})["ok"] == true);
}

TEST_CASE("control socket: stop ends a streaming connection") {
    Daemon d;
    d.start();
    Client c(d.socket_path);
    CHECK(c.request({{"v", 1}, {"id", 1}, {"cmd", "ticks"}})["ok"] == true);
    REQUIRE(c.read_line());
    d.stop();
    // The lines already sent, then the end.
    for (int i = 0; i < 1000; ++i)
        if (!c.read_line()) break;
    CHECK_FALSE(c.read_line());
    CHECK(open_streams == 0);
}
