// The CDR line: one fixed schema for every outcome, times in order, setup and duration,
// hostile text escaped; the writer puts each finished call on disk once.
#include "cdr/cdr_line.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

#include "cdr/cdr_writer.hpp"

using namespace sipproxy;
using json = nlohmann::ordered_json;
using proxy::CallEvent;
using proxy::CallOutcome;
using proxy::CallRecord;
using proxy::EndedBy;
using std::chrono::milliseconds;

namespace {

const std::vector<std::string> schema = {
    "record_id", "call_id",     "from_tag",    "to_tag",     "caller",    "callee",
    "target",    "route",       "gateway",     "source_ip",  "source_port", "transport",
    "auth_user", "user_agent",  "created",     "provisional", "answered", "ended",
    "setup_ms",  "duration_ms", "status",      "reason",     "outcome",   "ended_by"};

CallRecord base() {
    CallRecord c;
    c.record_id = "abcd-1";
    c.call_id = "call-1@host";
    c.from_tag = "ft";
    c.caller = "sip:alice@example.test";
    c.callee = "sip:9123@example.test";
    c.route = "pstn";
    c.gateway = "carrier-a";
    c.source_ip = "127.0.0.1";
    c.source_port = 5070;
    c.transport = "udp";
    c.auth_user = "alice";
    c.user_agent = "softphone 1.0";
    // 2026-12-04T16:15:00.250Z
    c.created_wall = std::chrono::system_clock::time_point(milliseconds(1796400900250));
    c.created = std::chrono::steady_clock::time_point(std::chrono::hours(100));
    return c;
}

json parse(const CallRecord& c) {
    const auto line = cdr::cdr_line(c);
    REQUIRE(line.back() == '\n');
    REQUIRE(line.find('\n') == line.size() - 1);  // one line
    return json::parse(line);
}

void check_schema(const json& j) {
    REQUIRE(j.size() == schema.size());
    std::size_t i = 0;
    for (auto it = j.begin(); it != j.end(); ++it, ++i) CHECK(it.key() == schema[i]);
}

}  // namespace

TEST_CASE("cdr line: an answered call hung up by the caller") {
    auto c = base();
    c.provisional = c.created + milliseconds(120);
    c.answered = c.created + milliseconds(2500);
    c.ended = *c.answered + milliseconds(61000);
    c.to_tag = "tt";
    c.target = "sip:+19123@192.0.2.10";
    c.status = 200;
    c.reason = "OK";
    c.outcome = CallOutcome::Answered;
    c.ended_by = EndedBy::Caller;
    const auto j = parse(c);
    check_schema(j);
    CHECK(j["created"] == "2026-12-04T16:15:00.250Z");
    CHECK(j["provisional"] == "2026-12-04T16:15:00.370Z");
    CHECK(j["answered"] == "2026-12-04T16:15:02.750Z");
    CHECK(j["ended"] == "2026-12-04T16:16:03.750Z");
    CHECK(j["setup_ms"] == 2500);
    CHECK(j["duration_ms"] == 61000);
    CHECK(j["outcome"] == "answered");
    CHECK(j["ended_by"] == "caller");
    CHECK(j["status"] == 200);
    CHECK(j["route"] == "pstn");
    CHECK(j["source_port"] == 5070);
}

TEST_CASE("cdr line: every outcome has the same fields; times not reached are null") {
    for (auto [outcome, status, by] :
         {std::tuple{CallOutcome::Busy, 486, EndedBy::Callee},
          std::tuple{CallOutcome::NoAnswer, 408, EndedBy::Proxy},
          std::tuple{CallOutcome::Cancelled, 487, EndedBy::Caller},
          std::tuple{CallOutcome::Rejected, 404, EndedBy::Proxy},
          std::tuple{CallOutcome::Failed, 500, EndedBy::Proxy},
          std::tuple{CallOutcome::PolicyRefused, 403, EndedBy::Proxy}}) {
        auto c = base();
        c.route.clear();
        c.gateway.clear();
        c.auth_user.clear();
        c.ended = c.created + milliseconds(800);
        c.status = status;
        c.reason = "why";
        c.outcome = outcome;
        c.ended_by = by;
        const auto j = parse(c);
        check_schema(j);
        CHECK(j["outcome"] == std::string(proxy::to_string(outcome)));
        CHECK(j["provisional"].is_null());
        CHECK(j["answered"].is_null());
        CHECK(j["to_tag"].is_null());
        CHECK(j["route"].is_null());
        CHECK(j["auth_user"].is_null());
        CHECK(j["setup_ms"] == 800);
        CHECK(j["duration_ms"] == 0);
        CHECK(j["status"] == status);
    }
}

TEST_CASE("cdr line: outcome and ended_by names are the documented ones") {
    CHECK(proxy::to_string(CallOutcome::NoAnswer) == "no-answer");
    CHECK(proxy::to_string(CallOutcome::PolicyRefused) == "policy-refused");
    CHECK(proxy::to_string(EndedBy::Timeout) == "timeout");
    CHECK(proxy::to_string(EndedBy::Shutdown) == "shutdown");
}

TEST_CASE("cdr line: a hostile User-Agent stays inside its string") {
    auto c = base();
    c.user_agent = std::string("evil\"}\n{\"outcome\":\"answered\\\x01\x7f") + "\xff\xfe" + "\xc3\xa9";
    c.caller = "sip:\"x\"@h\r\n";
    c.ended = c.created;
    const auto line = cdr::cdr_line(c);
    CHECK(line.find('\n') == line.size() - 1);
    const auto j = json::parse(line);
    check_schema(j);
    const std::string ua = j["user_agent"];
    CHECK(ua.rfind("evil\"}\n{\"outcome\"", 0) == 0);
    CHECK(ua.find("\xef\xbf\xbd") != std::string::npos);  // invalid UTF-8 replaced
    CHECK(ua.find("\xc3\xa9") != std::string::npos);      // valid UTF-8 kept
    CHECK(j["caller"] == "sip:\"x\"@h\r\n");
    CHECK(j["outcome"] == "failed");
}

TEST_CASE("cdr line: RFC 3339 with milliseconds, UTC") {
    using std::chrono::system_clock;
    CHECK(cdr::rfc3339_ms(system_clock::time_point(milliseconds(0))) == "1970-01-01T00:00:00.000Z");
    CHECK(cdr::rfc3339_ms(system_clock::time_point(milliseconds(1796400900007))) ==
          "2026-12-04T16:15:00.007Z");
}

namespace {
std::vector<json> read_lines(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::vector<json> out;
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
}
}  // namespace

TEST_CASE("cdr writer: final events only, on disk within the batch delay, reopened") {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("cdr_writer_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    const auto path = dir / "sub" / "cdr.jsonl";
    {
        cdr::CdrWriter w;
        w.open(path);
        auto c = base();
        c.ended = c.created;
        w.on_call(CallEvent::Started, c);  // not a record
        w.on_call(CallEvent::Answered, c);
        w.on_call(CallEvent::Failed, c);
        std::this_thread::sleep_for(cdr::CdrWriter::batch_delay * 4);
        CHECK(read_lines(path).size() == 1);  // without stop(): fsync'd by the batch timer
        CHECK(w.written() == 1);

        // logrotate: the file moved away, reload reopens a new one.
        std::filesystem::rename(path, dir / "rotated");
        w.open(path);
        c.record_id = "abcd-2";
        w.on_call(CallEvent::Ended, c);
        w.stop();
        CHECK(read_lines(dir / "rotated").size() == 1);
        const auto now = read_lines(path);
        REQUIRE(now.size() == 1);
        CHECK(now[0]["record_id"] == "abcd-2");
        CHECK(w.dropped() == 0);
    }
    {
        // Records queued when a reload turns records off still reach the file.
        cdr::CdrWriter w;
        w.open(dir / "off.jsonl");
        w.on_call(CallEvent::Failed, base());
        w.open("");
        w.on_call(CallEvent::Failed, base());  // off now: not a record
        w.stop();
        CHECK(read_lines(dir / "off.jsonl").size() == 1);
        CHECK(w.written() == 1);
        CHECK(w.dropped() == 0);
    }
    {
        // Disabled: nothing queued, nothing counted.
        cdr::CdrWriter w;
        w.open("");
        w.on_call(CallEvent::Failed, base());
        w.stop();
        CHECK(w.written() == 0);
        CHECK(w.dropped() == 0);
    }
    {
        // A bounded queue: what does not fit is dropped and counted, nobody waits.
        cdr::CdrWriter w(2);
        w.open(dir / "full.jsonl");
        for (int i = 0; i < 1000; ++i) w.on_call(CallEvent::Failed, base());
        w.stop();
        CHECK(w.written() + w.dropped() == 1000);
        CHECK(w.dropped() > 0);
    }
    std::filesystem::remove_all(dir);
}
