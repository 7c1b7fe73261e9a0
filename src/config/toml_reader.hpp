#pragma once
// Typed, position-aware reading of TOML tables for the config loader. Every accessor
// checks the type, records the first error with file/line/column and the dotted key, and
// marks the key as known so that whatever is left over can be reported as "unknown key".
// Only src/config/*.cpp include this (toml++ is heavy).
#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace sipproxy::config::detail {

// Collects errors. The operator sees the one nearest the top of the file (errors without
// a place come last), so a broken file can be fixed top to bottom.
class Errors {
  public:
    explicit Errors(std::string file) : file_(std::move(file)) {}
    void add(const toml::source_region* where, std::string key, std::string message);
    void add(const toml::node* where, std::string key, std::string message) {
        add(where ? &where->source() : nullptr, std::move(key), std::move(message));
    }
    bool any() const { return !errors_.empty(); }
    const ConfigError& first() const;
    const std::string& file() const { return file_; }

  private:
    std::string file_;
    std::vector<ConfigError> errors_;
};

// "an integer", "a string", ... for messages.
std::string_view type_name(const toml::node& n);

// One TOML table being read. `table` may be null (the section is absent): every getter
// then leaves its output at the default.
class TableReader {
  public:
    TableReader(Errors& errors, const toml::table* table, std::string path);

    bool present() const { return table_ != nullptr; }
    const toml::table* table() const { return table_; }
    const std::string& path() const { return path_; }
    std::string key_path(std::string_view key) const;

    // The node for a key (marks it known); null if absent.
    const toml::node* node(std::string_view key);

    // Each returns true when the key is present with the right type and valid value
    // (so callers can post-validate), false when absent or wrong (error recorded).
    bool get(std::string_view key, std::string& out);
    bool get(std::string_view key, bool& out);
    bool get_int(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max);
    template <class T>
    bool get_uint(std::string_view key, T& out, std::int64_t min, std::int64_t max) {
        std::int64_t v = 0;
        if (!get_int(key, v, min, max)) return false;
        out = static_cast<T>(v);
        return true;
    }
    // An array of strings; `nodes` (optional) receives each element for error positions.
    bool get(std::string_view key, std::vector<std::string>& out,
             std::vector<const toml::node*>* nodes = nullptr);

    // Records an error at a key of this table (or the table itself when the key is absent).
    void fail(std::string_view key, std::string message);
    void fail_at(const toml::node* where, std::string key, std::string message);

    // Reports the keys never asked for, as "unknown key".
    void finish();

  private:
    Errors& errors_;
    const toml::table* table_;
    std::string path_;
    std::set<std::string, std::less<>> known_;
};

// A sub-table of `parent` (or null with an error when it has the wrong type).
const toml::table* sub_table(TableReader& parent, std::string_view key);
// An array of tables such as [[routes]]: the tables, or empty with an error.
std::vector<const toml::table*> table_array(TableReader& parent, std::string_view key);

}  // namespace sipproxy::config::detail
