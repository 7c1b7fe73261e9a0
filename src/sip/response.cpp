// Responses built from a request (RFC 3261 8.2.6), and the reason phrases of RFC 3261 21
// and the extensions a proxy commonly answers with.
#include "sip/response.hpp"

#include <charconv>
#include <cstdint>

namespace sip {
namespace {

// A To-tag that is the same for every retransmission of the request, so a stateless
// answer stays consistent (RFC 3261 16.11): FNV-1a over Call-ID, From-tag and top branch.
std::string derived_tag(const Message& request) {
    std::uint64_t h = 14695981039346656037ull;
    auto mix = [&h](std::string_view s) {
        for (char c : s) {
            h ^= static_cast<unsigned char>(c);
            h *= 1099511628211ull;
        }
        h ^= 0xff;
        h *= 1099511628211ull;
    };
    mix(request.call_id());
    mix(request.from().tag);
    mix(request.top_branch());
    char buf[17];
    auto r = std::to_chars(buf, buf + 16, h, 16);
    return std::string(buf, r.ptr);
}

}  // namespace

std::string_view default_reason(int status) {
    switch (status) {
        case 100:
            return "Trying";
        case 180:
            return "Ringing";
        case 181:
            return "Call Is Being Forwarded";
        case 182:
            return "Queued";
        case 183:
            return "Session Progress";
        case 199:
            return "Early Dialog Terminated";
        case 200:
            return "OK";
        case 202:
            return "Accepted";
        case 204:
            return "No Notification";
        case 300:
            return "Multiple Choices";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Moved Temporarily";
        case 305:
            return "Use Proxy";
        case 380:
            return "Alternative Service";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 402:
            return "Payment Required";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 406:
            return "Not Acceptable";
        case 407:
            return "Proxy Authentication Required";
        case 408:
            return "Request Timeout";
        case 410:
            return "Gone";
        case 412:
            return "Conditional Request Failed";
        case 413:
            return "Request Entity Too Large";
        case 414:
            return "Request-URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 416:
            return "Unsupported URI Scheme";
        case 417:
            return "Unknown Resource-Priority";
        case 420:
            return "Bad Extension";
        case 421:
            return "Extension Required";
        case 422:
            return "Session Interval Too Small";
        case 423:
            return "Interval Too Brief";
        case 428:
            return "Use Identity Header";
        case 429:
            return "Provide Referrer Identity";
        case 430:
            return "Flow Failed";
        case 433:
            return "Anonymity Disallowed";
        case 436:
            return "Bad Identity-Info";
        case 437:
            return "Unsupported Certificate";
        case 438:
            return "Invalid Identity Header";
        case 439:
            return "First Hop Lacks Outbound Support";
        case 440:
            return "Max-Breadth Exceeded";
        case 469:
            return "Bad Info Package";
        case 470:
            return "Consent Needed";
        case 480:
            return "Temporarily Unavailable";
        case 481:
            return "Call/Transaction Does Not Exist";
        case 482:
            return "Loop Detected";
        case 483:
            return "Too Many Hops";
        case 484:
            return "Address Incomplete";
        case 485:
            return "Ambiguous";
        case 486:
            return "Busy Here";
        case 487:
            return "Request Terminated";
        case 488:
            return "Not Acceptable Here";
        case 489:
            return "Bad Event";
        case 491:
            return "Request Pending";
        case 493:
            return "Undecipherable";
        case 494:
            return "Security Agreement Required";
        case 500:
            return "Server Internal Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Server Time-out";
        case 505:
            return "Version Not Supported";
        case 513:
            return "Message Too Large";
        case 580:
            return "Precondition Failure";
        case 600:
            return "Busy Everywhere";
        case 603:
            return "Decline";
        case 604:
            return "Does Not Exist Anywhere";
        case 606:
            return "Not Acceptable";
        case 607:
            return "Unwanted";
        case 608:
            return "Rejected";
        default:
            break;
    }
    switch (status / 100) {
        case 1:
            return "Session Progress";
        case 2:
            return "OK";
        case 3:
            return "Redirection";
        case 4:
            return "Client Error";
        case 5:
            return "Server Error";
        case 6:
            return "Global Failure";
        default:
            return "Unknown";
    }
}

std::string make_response(const Message& request, int status, std::string_view reason,
                          std::string_view to_tag, const std::vector<ExtraHeader>& extra,
                          std::string_view content_type, std::string_view body) {
    std::string_view bytes = request.bytes();
    std::string out;
    out.reserve(256 + bytes.size() / 2 + body.size());
    char code[8];
    auto r = std::to_chars(code, code + sizeof code, status);
    out.append("SIP/2.0 ").append(code, r.ptr).append(" ");
    out.append(reason.empty() ? default_reason(status) : reason).append("\r\n");

    auto copy = [&](const HeaderField& h) { out.append(bytes.substr(h.begin, h.end - h.begin)); };
    // RFC 3261 8.2.6.2: Via lines in order, From, Call-ID, CSeq unchanged; To with a tag.
    for (const auto& h : request.headers())
        if (h.id == HeaderId::Via) copy(h);
    for (const auto& h : request.headers()) {
        switch (h.id) {
            case HeaderId::From:
            case HeaderId::CallId:
            case HeaderId::CSeq:
                copy(h);
                break;
            case HeaderId::To:
                if (status > 100 && request.to().tag.empty()) {
                    out.append(h.name).append(": ").append(h.value).append(";tag=");
                    if (to_tag.empty()) {
                        out.append(derived_tag(request));
                    } else {
                        out.append(to_tag);
                    }
                    out.append("\r\n");
                } else {
                    copy(h);
                }
                break;
            case HeaderId::Timestamp:  // RFC 3261 8.2.6.1: echoed in 100 Trying
                if (status == 100) copy(h);
                break;
            default:
                break;
        }
    }
    for (const auto& x : extra) out.append(x.name).append(": ").append(x.value).append("\r\n");
    if (!content_type.empty()) out.append("Content-Type: ").append(content_type).append("\r\n");
    char len[24];
    auto lr = std::to_chars(len, len + sizeof len, body.size());
    out.append("Content-Length: ").append(len, lr.ptr).append("\r\n\r\n");
    out.append(body);
    return out;
}

}  // namespace sip
