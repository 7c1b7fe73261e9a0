// Forwarding a message from its original bytes plus edits (RFC 3261 16.6, 16.7).
#include "sip/rewrite.hpp"

#include <charconv>

#include "sip/syntax.hpp"

namespace sip {

Rewrite& Rewrite::request_uri(std::string uri) {
    request_uri_ = std::move(uri);
    has_request_uri_ = true;
    return *this;
}

Rewrite& Rewrite::push_top(std::string_view name, std::string value) {
    std::string line;
    line.reserve(name.size() + 2 + value.size());
    line.append(name).append(": ").append(value);
    top_.push_back(std::move(line));
    return *this;
}

Rewrite& Rewrite::append(std::string_view name, std::string value) {
    std::string line;
    line.reserve(name.size() + 2 + value.size());
    line.append(name).append(": ").append(value);
    bottom_.push_back(std::move(line));
    return *this;
}

Rewrite& Rewrite::remove(std::size_t header_index) {
    edits_.push_back({header_index, Op::Remove, {}});
    return *this;
}

Rewrite& Rewrite::replace(std::size_t header_index, std::string value) {
    edits_.push_back({header_index, Op::Replace, std::move(value)});
    return *this;
}

Rewrite& Rewrite::remove_first_value(std::size_t header_index) {
    edits_.push_back({header_index, Op::RemoveFirstValue, {}});
    return *this;
}

Rewrite& Rewrite::max_forwards(std::uint32_t n) {
    char digits[16];
    auto r = std::to_chars(digits, digits + sizeof digits, n);
    std::string value(digits, r.ptr);
    if (const HeaderField* h = m_->find(HeaderId::MaxForwards)) {
        return replace(static_cast<std::size_t>(h - m_->headers().data()), std::move(value));
    }
    return append("Max-Forwards", std::move(value));
}

Rewrite& Rewrite::ensure_content_length() {
    ensure_content_length_ = true;
    return *this;
}

std::string Rewrite::write() const {
    const Message& m = *m_;
    std::string_view bytes = m.bytes();
    std::size_t extra = 64 + request_uri_.size();
    for (const auto& l : top_) extra += l.size() + 2;
    for (const auto& l : bottom_) extra += l.size() + 2;
    for (const auto& e : edits_) extra += e.value.size();
    std::string out;
    out.reserve(bytes.size() + extra);

    if (has_request_uri_ && m.is_request()) {
        out.append(m.method_text())
            .append(" ")
            .append(request_uri_)
            .append(" ")
            .append(m.version());
    } else {
        out.append(m.start_line());
    }
    out.append("\r\n");
    // The last pushed line goes on top (RFC 3261 16.6 step 8: our Via above all others).
    for (auto it = top_.rbegin(); it != top_.rend(); ++it) out.append(*it).append("\r\n");

    const auto& headers = m.headers();
    for (std::size_t i = 0; i < headers.size(); ++i) {
        const HeaderField& h = headers[i];
        bool removed = false;
        const std::string* replacement = nullptr;
        std::size_t drop_values = 0;
        for (const auto& e : edits_) {
            if (e.header_index != i) continue;
            if (e.op == Op::Remove) removed = true;
            if (e.op == Op::Replace) replacement = &e.value;
            if (e.op == Op::RemoveFirstValue) ++drop_values;
        }
        if (removed) continue;
        if (replacement) {
            out.append(h.name).append(": ").append(*replacement).append("\r\n");
            continue;
        }
        if (drop_values == 0) {
            out.append(bytes.substr(h.begin, h.end - h.begin));  // untouched: byte for byte
            continue;
        }
        syntax::ValueList list(h.value);
        std::string_view v;
        while (drop_values > 0 && list.next(v)) --drop_values;
        std::string_view rest = syntax::trim(h.value.substr(list.rest_offset()));
        if (rest.empty()) continue;  // that line held only the removed value(s)
        out.append(h.name).append(": ").append(rest).append("\r\n");
    }
    for (const auto& l : bottom_) out.append(l).append("\r\n");
    if (ensure_content_length_ && !m.content_length()) {
        char digits[24];
        auto r = std::to_chars(digits, digits + sizeof digits, m.body().size());
        out.append("Content-Length: ").append(digits, r.ptr).append("\r\n");
    }
    out.append("\r\n");
    out.append(m.body());
    return out;
}

}  // namespace sip
