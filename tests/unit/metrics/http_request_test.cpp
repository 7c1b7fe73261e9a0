// The metrics endpoint's HTTP request parser.
#include "metrics/http_request.hpp"

#include <catch2/catch.hpp>

using namespace sipproxy::metrics;
using S = HttpParse::Status;

TEST_CASE("http request: a Prometheus scrape") {
    const std::string req =
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9095\r\nUser-Agent: Prometheus/2.42.0\r\n"
        "Accept: text/plain;version=0.0.4\r\n\r\n";
    auto p = parse_http_request(req);
    REQUIRE(p.status == S::Ok);
    CHECK(p.request.method == "GET");
    CHECK(p.request.path == "/metrics");
    CHECK(p.request.keep_alive);
    CHECK(p.consumed == req.size());
    // Pipelined: only the first is consumed.
    auto two = parse_http_request(req + "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(two.consumed == req.size());
}

TEST_CASE("http request: incomplete until the blank line, too large past the limit") {
    CHECK(parse_http_request("GET /metrics HTTP/1.1\r\nHost: x\r\n").status == S::Incomplete);
    CHECK(parse_http_request("").status == S::Incomplete);
    CHECK(parse_http_request(std::string(9000, 'A')).status == S::TooLarge);
    CHECK(parse_http_request("GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(200, 'a') + "\r\n\r\n", 100)
              .status == S::TooLarge);
}

TEST_CASE("http request: connection handling and query strings") {
    auto p = parse_http_request("GET /metrics?name[]=x HTTP/1.0\r\n\r\n");
    REQUIRE(p.status == S::Ok);
    CHECK(p.request.path == "/metrics");
    CHECK_FALSE(p.request.keep_alive);
    p = parse_http_request("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n");
    CHECK_FALSE(p.request.keep_alive);
    p = parse_http_request("GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK(p.request.keep_alive);
}

TEST_CASE("http request: what a scraper never sends is bad") {
    for (const char* bad : {
             "GET /metrics\r\n\r\n",                              // HTTP/0.9
             "GET  HTTP/1.1\r\nHost: x\r\n\r\n",                  // empty target
             "GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n",  // absolute form
             "GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n",
             "GET /metrics HTTP/1.1\r\n\r\n",                     // no Host
             "G(T /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
             "GET /metrics HTTP/1.1\r\nHost x\r\n\r\n",
             "GET /metrics HTTP/1.1\r\nHo st: x\r\n\r\n",
             "GET /metrics HTTP/1.1\r\nHost: x\x01y\r\n\r\n",
             "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
             "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
         }) {
        INFO(bad);
        CHECK(parse_http_request(bad).status == S::Bad);
    }
}
