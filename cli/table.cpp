#include "table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

namespace sipproxyctl {

using nlohmann::json;

Table::Table(std::vector<std::string> headers)
    : headers_(std::move(headers)), right_(headers_.size(), false) {}

void Table::align_right(std::size_t column) {
    if (column < right_.size()) right_[column] = true;
}

void Table::add_row(std::vector<std::string> cells) {
    cells.resize(headers_.size(), "-");
    rows_.push_back(std::move(cells));
}

void Table::measure(const std::vector<std::string>& row, std::vector<std::size_t>& width) const {
    for (std::size_t c = 0; c < row.size(); ++c)
        width[c] = std::max(width[c], display_width(row[c]));
}

void Table::print_row(const std::vector<std::string>& row, const std::vector<std::size_t>& width,
                      std::ostream& out) const {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
        std::string pad(width[c] - display_width(row[c]), ' ');
        if (c > 0) line += "  ";
        line += right_[c] ? pad + row[c] : row[c] + pad;
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << '\n';
}

void Table::print(std::ostream& out) const {
    std::vector<std::size_t> width(headers_.size(), 0);
    measure(headers_, width);
    for (const auto& row : rows_) measure(row, width);
    print_row(headers_, width, out);
    for (const auto& row : rows_) print_row(row, width, out);
}

void Table::print_new_rows(std::ostream& out) {
    if (width_.empty()) {
        width_.assign(headers_.size(), 0);
        measure(headers_, width_);
    }
    for (const auto& row : rows_) measure(row, width_);
    if (!header_printed_) {
        print_row(headers_, width_, out);
        header_printed_ = true;
    }
    for (const auto& row : rows_) print_row(row, width_, out);
    rows_.clear();
}

std::size_t display_width(const std::string& text) {
    return static_cast<std::size_t>(
        std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string cell(const json& value) {
    std::string text;
    switch (value.type()) {
        case json::value_t::null:
        case json::value_t::discarded:
            return "-";
        case json::value_t::string:
            text = value.get<std::string>();
            break;
        case json::value_t::boolean:
            return value.get<bool>() ? "yes" : "no";
        case json::value_t::array:
            for (const auto& item : value) {
                if (!text.empty()) text += ',';
                text += cell(item);
            }
            break;
        default:
            text = value.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    if (text.empty()) return "-";
    return printable(text);
}

namespace {
// Code points that a terminal would obey rather than show.
bool hidden(std::uint32_t cp) {
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||  // C0, DEL, C1
           cp == 0x061c ||                             // Arabic letter mark
           cp == 0x200e || cp == 0x200f ||             // LRM, RLM
           (cp >= 0x2028 && cp <= 0x202e) ||           // separators, embeddings, overrides
           (cp >= 0x2066 && cp <= 0x2069) ||           // isolates
           cp == 0xfeff;                               // zero-width no-break space
}

void escape_to(std::string& out, std::uint32_t value, bool byte) {
    char buf[12];
    std::snprintf(buf, sizeof buf, byte ? "\\x%02x" : "\\u%04x", static_cast<unsigned>(value));
    out += buf;
}
}  // namespace

std::string json_text(const json& value, int indent) {
    return value.dump(indent, ' ', true, json::error_handler_t::replace);
}

std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
        bool valid = n != 0 && i + n <= text.size();
        for (std::size_t k = 1; valid && k < n; ++k) {
            const auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xc0) != 0x80) valid = false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        // Overlong forms and surrogates are invalid too (they hide what they are).
        if (valid && ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
                      (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff))
            valid = false;
        if (!valid) {
            escape_to(out, c, true);
            ++i;
            continue;
        }
        if (hidden(cp)) escape_to(out, cp, cp < 0x80);
        else out.append(text.substr(i, n));
        i += n;
    }
    return out;
}

std::string cell(const json& object, const char* key) {
    if (!object.is_object()) return "-";
    auto it = object.find(key);
    return it == object.end() ? "-" : cell(*it);
}

std::string duration(const json& seconds) {
    if (!seconds.is_number()) return cell(seconds);
    double value = seconds.get<double>();
    if (value < 0) return "-";
    auto s = static_cast<long long>(std::floor(value));
    char text[48];
    if (s < 60)
        std::snprintf(text, sizeof text, "%llds", s);
    else if (s < 3600)
        std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        std::snprintf(text, sizeof text, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else
        std::snprintf(text, sizeof text, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
    return text;
}

}  // namespace sipproxyctl
