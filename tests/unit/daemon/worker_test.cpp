// A worker whose event loop sees an exception keeps serving (issue: a dead worker whose
// socket still receives).
#include "daemon/worker.hpp"

#include <asio/post.hpp>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>

using namespace sipproxy;
using namespace std::chrono_literals;

TEST_CASE("worker: an exception escaping a handler is counted and the loop goes on") {
    proxy::Services services;
    ingress::Admission admission;
    std::vector<transport::Local> locals{
        transport::Local::at(transport::Protocol::Udp, asio::ip::make_address("127.0.0.1"), 0)};
    daemon::Worker w(0, locals, {}, {}, services, admission);
    std::vector<daemon::Worker*> all{&w};
    w.link(all);
    w.open();
    w.start();
    std::atomic<bool> after{false};
    asio::post(w.io(), [] { throw std::runtime_error("a bug"); });
    asio::post(w.io(), [&] { after = true; });
    const auto end = std::chrono::steady_clock::now() + 10s;
    while (!after && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(5ms);
    CHECK(after);
    CHECK(w.failures() == 1);
    w.stop();
}
