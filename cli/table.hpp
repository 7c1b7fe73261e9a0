#pragma once
// Aligned text tables for humans: a header row, columns as wide as their widest cell,
// two spaces between columns, no trailing blanks. A long listing can be printed as it
// arrives (print_new_rows): columns then widen as needed but never narrow.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace sipproxyctl {

class Table {
  public:
    explicit Table(std::vector<std::string> headers);
    void align_right(std::size_t column);  // numbers
    void add_row(std::vector<std::string> cells);
    bool empty() const { return rows_.empty(); }
    void print(std::ostream& out) const;
    // Prints the header (the first time) and the rows added since the last call, then
    // forgets them.
    void print_new_rows(std::ostream& out);

  private:
    void print_row(const std::vector<std::string>& row, const std::vector<std::size_t>& width,
                   std::ostream& out) const;
    void measure(const std::vector<std::string>& row, std::vector<std::size_t>& width) const;

    std::vector<std::string> headers_;
    std::vector<bool> right_;
    std::vector<std::vector<std::string>> rows_;
    std::vector<std::size_t> width_;  // print_new_rows: the widths so far
    bool header_printed_ = false;
};

// Text that came from a peer (a User-Agent, a Call-ID, a reason phrase) made safe for a
// terminal: C0 and C1 control characters, DEL, and the characters that reorder or hide
// text (bidirectional overrides and isolates, marks, line/paragraph separators) are
// shown escaped as \xNN or \uNNNN; invalid UTF-8 bytes as \xNN. Everything else as it is.
std::string printable(std::string_view text);
// JSON for --json output: every non-ASCII character as \uNNNN (so no control or
// bidirectional character reaches a terminal raw), invalid UTF-8 replaced.
std::string json_text(const nlohmann::json& value, int indent = 2);

// A JSON value as one table cell: strings as they are (through printable()), numbers as
// written, booleans "yes"/"no", arrays joined with ",", and "-" for null, missing or empty.
std::string cell(const nlohmann::json& value);
// `object[key]` as a cell; "-" when the key is missing.
std::string cell(const nlohmann::json& object, const char* key);

// Seconds as a short duration: "45s", "5m03s", "1h02m", "3d04h"; "-" for null.
std::string duration(const nlohmann::json& seconds);

// Display width of UTF-8 text (code points; good enough for SIP identities).
std::size_t display_width(const std::string& text);

}  // namespace sipproxyctl
