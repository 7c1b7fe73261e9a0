// PendingResponse: a REGISTER's answer held back until the location store has committed,
// completed from another thread, sent on the worker's executor, one wake-up per batch.
#include "proxy/pending_response.hpp"

#include <asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

using namespace sipproxy::proxy;

namespace {

struct Sent {
    int status;
    std::string store_error;
};

struct Worker {
    asio::io_context io;
    std::vector<Sent> sent;
    PendingResponses pending{io.get_executor(),
                             [this](const auto&, const Decision& d, const std::string& error) {
                                 sent.push_back({d.status, error});
                             }};
};

}  // namespace

TEST_CASE("pending response: complete before the hand-over is sent at once") {
    Worker w;
    auto p = PendingResponse::make();
    p->complete("");  // the memory store: inside Registrar::handle
    w.pending.send_when_committed(std::move(p), nullptr, Decision::respond(200, "OK"));
    REQUIRE(w.sent.size() == 1);
    CHECK(w.sent[0].status == 200);
    CHECK(w.sent[0].store_error.empty());
    CHECK(w.io.poll() == 0);  // nothing was posted
}

TEST_CASE("pending response: completed by the writer, sent on the worker, one wake-up a batch") {
    Worker w;
    std::vector<PendingResponse*> raw;
    for (int i = 0; i < 100; ++i) {
        auto p = PendingResponse::make();
        raw.push_back(p.get());
        w.pending.send_when_committed(std::move(p), nullptr, Decision::respond(200 + i % 2, "OK"));
    }
    CHECK(w.sent.empty());
    std::thread writer([&] {
        for (std::size_t i = 0; i < raw.size(); ++i) raw[i]->complete(i == 7 ? "disk full" : "");
    });
    writer.join();
    CHECK(w.sent.empty());    // not on the writer's thread
    CHECK(w.io.poll() == 1);  // one handler for the whole batch
    REQUIRE(w.sent.size() == 100);
    CHECK(w.sent[7].store_error == "disk full");
    CHECK(w.sent[8].store_error.empty());
    CHECK(w.io.poll() == 0);
}

TEST_CASE("pending response: dropped before the hand-over, freed after completion") {
    Worker w;
    const auto before = PendingResponse::alive();
    PendingResponse* raw = nullptr;
    {
        auto p = PendingResponse::make();
        raw = p.get();
    }  // e.g. the REGISTER was refused: the store still holds the pointer
    CHECK(PendingResponse::alive() == before + 1);  // not freed under the store's feet
    raw->complete("");
    CHECK(PendingResponse::alive() == before);  // freed by the completion
    {
        auto p = PendingResponse::make();
        p->complete("");
        CHECK(PendingResponse::alive() == before + 1);
    }  // completed first: freed with the Ptr
    CHECK(PendingResponse::alive() == before);
    CHECK(w.sent.empty());
}

TEST_CASE("pending response: responses never sent are freed with their worker") {
    const auto before = PendingResponse::alive();
    auto w = std::make_unique<Worker>();
    auto p = PendingResponse::make();
    PendingResponse* raw = p.get();
    w->pending.send_when_committed(std::move(p), nullptr, Decision::respond(200, "OK"));
    raw->complete("");  // posted, but the worker's loop never runs again
    CHECK(PendingResponse::alive() == before + 1);
    CHECK(w->sent.empty());
    w.reset();
    CHECK(PendingResponse::alive() == before);
}
