// The CDR line: one fixed schema for every outcome, times in order, setup and duration,
// hostile text escaped; the writer puts each finished call on disk once.
#include "cdr/cdr_line.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>
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

// The line as nlohmann::json wrote it before cdr_line was written by hand: the reference
// the hand-written one must match byte for byte.
std::string reference_line(const CallRecord& c) {
    const auto text_or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
    const auto time_or_null = [&](const std::optional<proxy::SteadyTime>& t) {
        return t ? json(cdr::rfc3339_ms(c.wall(*t))) : json(nullptr);
    };
    const auto ms = [](proxy::SteadyTime a, proxy::SteadyTime b) {
        return std::chrono::duration_cast<milliseconds>(b - a).count();
    };
    json j;
    j["record_id"] = c.record_id;
    j["call_id"] = c.call_id;
    j["from_tag"] = c.from_tag;
    j["to_tag"] = text_or_null(c.to_tag);
    j["caller"] = c.caller;
    j["callee"] = c.callee;
    j["target"] = text_or_null(c.target);
    j["route"] = text_or_null(c.route);
    j["gateway"] = text_or_null(c.gateway);
    j["source_ip"] = c.source_ip;
    j["source_port"] = c.source_port;
    j["transport"] = c.transport;
    j["auth_user"] = text_or_null(c.auth_user);
    j["user_agent"] = text_or_null(c.user_agent);
    j["created"] = cdr::rfc3339_ms(c.created_wall);
    j["provisional"] = time_or_null(c.provisional);
    j["answered"] = time_or_null(c.answered);
    j["ended"] = time_or_null(c.ended);
    const auto final_at = c.answered ? c.answered : c.ended;
    j["setup_ms"] = final_at ? json(ms(c.created, *final_at)) : json(nullptr);
    j["duration_ms"] = c.answered && c.ended ? ms(*c.answered, *c.ended) : 0;
    j["status"] = c.status ? json(c.status) : json(nullptr);
    j["reason"] = text_or_null(c.reason);
    j["outcome"] = std::string(proxy::to_string(c.outcome));
    j["ended_by"] = c.ended_by ? json(std::string(proxy::to_string(*c.ended_by))) : json(nullptr);
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

TEST_CASE("cdr line: byte for byte what nlohmann::json wrote, hostile bytes included") {
    std::mt19937 rng(20261205);
    // Bytes that exercise every branch of the escaping and of the UTF-8 check: controls,
    // quotes, backslash, DEL, continuation bytes, every kind of lead byte and its limits.
    const std::string alphabet = std::string("aZ09 \"\\/\b\f\n\r\t\x01\x1f\x7f", 16) +
                                 "\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2\xdf\xe0\xe1\xec\xed"
                                 "\xee\xef\xf0\xf1\xf3\xf4\xf5\xff";
    const auto random_text = [&](std::size_t max) {
        std::string s(rng() % (max + 1), ' ');
        for (auto& ch : s) ch = alphabet[rng() % alphabet.size()];
        return s;
    };
    const std::vector<std::string> fixed = {
        "", "plain", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xe0\x80\x80", "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "\xf0\x9f\x98", "\xe2\x82", "\xc3", "a\xc3", "\xc0\xaf", "\xff\xfe\xfd",
        "\xf0\x9f\x98\x80\x80", std::string("nul\0inside", 10), "\x7f\x1f\x01"};
    for (int n = 0; n < 3000; ++n) {
        auto c = base();
        const auto pick = [&](std::size_t max) {
            return rng() % 4 == 0 ? fixed[rng() % fixed.size()] : random_text(max);
        };
        c.record_id = pick(8);
        c.call_id = pick(40);
        c.from_tag = pick(12);
        c.to_tag = pick(12);
        c.caller = pick(40);
        c.callee = pick(40);
        c.target = pick(40);
        c.route = pick(8);
        c.gateway = pick(8);
        c.source_ip = pick(16);
        c.source_port = static_cast<std::uint16_t>(rng());
        c.transport = pick(4);
        c.auth_user = pick(10);
        c.user_agent = pick(60);
        c.reason = pick(20);
        // any millisecond from 1970 to 2100, and times before and after `created`
        c.created_wall = std::chrono::system_clock::time_point(
            milliseconds(static_cast<std::int64_t>(rng() % 4102444800ull) * 1000 + rng() % 1000));
        const auto at = [&] { return c.created + milliseconds(static_cast<int>(rng() % 200000) - 1000); };
        if (rng() % 2) c.provisional = at();
        if (rng() % 2) c.answered = at();
        if (rng() % 2) c.ended = at();
        c.status = rng() % 3 ? static_cast<int>(100 + rng() % 600) : 0;
        c.outcome = static_cast<CallOutcome>(rng() % 7);
        if (rng() % 2) c.ended_by = static_cast<EndedBy>(rng() % 5);
        const auto line = cdr::cdr_line(c);
        REQUIRE(line == reference_line(c));
    }
}

TEST_CASE("cdr line: RFC 3339 as strftime spells it, across days, years and leap years") {
    using std::chrono::system_clock;
    std::mt19937_64 rng(7);
    for (int n = 0; n < 20000; ++n) {
        // 1970..2261 and, more rarely, back to 1678 (system_clock's nanoseconds span
        // 1677..2262)
        std::int64_t ms = static_cast<std::int64_t>(rng() % 9183110400000ull);
        if (n % 10 == 0) ms = -static_cast<std::int64_t>(rng() % 9214646400000ull);
        std::time_t secs = static_cast<std::time_t>(ms / 1000);
        long frac = static_cast<long>(ms % 1000);
        if (frac < 0) frac += 1000, --secs;
        std::tm tm{};
        gmtime_r(&secs, &tm);
        char buf[48];
        const auto k = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        std::snprintf(buf + k, sizeof buf - k, ".%03ldZ", frac);
        REQUIRE(cdr::rfc3339_ms(system_clock::time_point(milliseconds(ms))) == buf);
    }
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
