#pragma once
// Aligned text tables for humans: a header row, columns as wide as their widest cell,
// two spaces between columns, no trailing blanks.
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

  private:
    std::vector<std::string> headers_;
    std::vector<bool> right_;
    std::vector<std::vector<std::string>> rows_;
};

// A JSON value as one table cell: strings as they are, numbers as written, booleans
// "yes"/"no", arrays joined with ",", and "-" for null, missing or empty. Control
// characters (a peer's User-Agent can hold any) are shown as '?'.
std::string cell(const nlohmann::json& value);
// `object[key]` as a cell; "-" when the key is missing.
std::string cell(const nlohmann::json& object, const char* key);

// Seconds as a short duration: "45s", "5m03s", "1h02m", "3d04h"; "-" for null.
std::string duration(const nlohmann::json& seconds);

// Display width of UTF-8 text (code points; good enough for SIP identities).
std::size_t display_width(const std::string& text);

}  // namespace sipproxyctl
