#include "daemon/trace_command.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <ctime>

#include "base/log.hpp"

namespace sipproxy::daemon {

using nlohmann::json;

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// RFC 3339 UTC with milliseconds: 2026-12-04T18:30:01.123Z.
std::string timestamp(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
    const std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buf[40];
    const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms.count() % 1000));
    return buf;
}

// A session and what wakes its writer: the tracer's workers call wake (any thread), which
// cancels the timer the writer waits on (the control thread).
struct TraceStream {
    TraceStream(std::shared_ptr<trace::Tracer> t, asio::io_context& io)
        : tracer(std::move(t)), timer(io) {}
    ~TraceStream() {
        if (subscription) log::info("trace: session closed");
    }
    std::shared_ptr<trace::Tracer> tracer;  // outlives the subscription
    asio::steady_timer timer;
    std::unique_ptr<trace::TraceSubscription> subscription;
};

std::string render(const trace::TraceBatch& batch) {
    std::string out;
    if (batch.dropped) out += json{{"dropped", batch.dropped}}.dump() + '\n';
    for (const auto& e : batch.events) out += trace_event_line(*e) + '\n';
    return out;
}

asio::awaitable<std::string> next_lines(std::shared_ptr<TraceStream> stream) {
    for (;;) {
        auto batch = stream->subscription->take();
        if (!batch.empty()) co_return render(batch);
        // Woken by the next message, or a look every second whatever happens.
        stream->timer.expires_after(std::chrono::seconds(1));
        co_await stream->timer.async_wait(use_tuple);
        auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) co_return std::string();
    }
}

}  // namespace

std::string trace_event_line(const trace::TraceEvent& e) {
    json j{{"time", timestamp(e.time)},
           {"direction", e.direction == trace::Direction::In ? "in" : "out"},
           {"transport", e.transport},
           {"local", e.local},
           {"remote", e.remote},
           {"call_id", e.call_id},
           {"size", e.message.size()},
           {"message", e.message}};
    // Bytes from the network may be invalid UTF-8: replaced, never a failure.
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

trace::TraceFilter trace_filter(const json& args) {
    trace::TraceFilter f;
    f.call_id = control::optional_string(args, "call_id");
    f.user = control::optional_string(args, "user");
    if (auto source = control::optional_string(args, "source")) {
        auto cidr = Cidr::parse(*source);
        if (!cidr) throw control::CommandError(cidr.error());
        f.source = *cidr;
    }
    if (f.call_id && f.call_id->empty()) throw control::CommandError("call_id must not be empty");
    if (f.user && f.user->empty()) throw control::CommandError("user must not be empty");
    return f;
}

control::StreamHandler trace_command(std::shared_ptr<trace::Tracer> tracer, asio::io_context& io) {
    return [tracer, &io](const json& args) {
        auto filter = trace_filter(args);
        json described = json::object();
        if (filter.call_id) described["call_id"] = *filter.call_id;
        if (filter.user) described["user"] = *filter.user;
        if (filter.source) described["source"] = filter.source->to_string();

        auto stream = std::make_shared<TraceStream>(tracer, io);
        std::weak_ptr<TraceStream> weak = stream;
        auto wake = [weak, &io]() {
            asio::post(io, [weak]() {
                if (auto s = weak.lock()) s->timer.cancel();
            });
        };
        auto subscription = tracer->open(std::move(filter), std::move(wake));
        if (!subscription) throw control::CommandError(subscription.error());
        stream->subscription = std::move(subscription.value());
        log::info("trace: session opened ({}), {} running", described.dump(), tracer->sessions());

        control::CommandStream s;
        s.result = json{{"filter", described}, {"limit", tracer->limits().max_sessions}};
        s.next = [stream]() { return next_lines(stream); };
        return s;
    };
}

}  // namespace sipproxy::daemon
