#include "config/toml_reader.hpp"

#include <algorithm>
#include <climits>
#include <utility>

namespace sipproxy::config::detail {

void Errors::add(const toml::source_region* where, std::string key, std::string message) {
    ConfigError e;
    // The place's own file: an included file's errors name it (config includes).
    e.file = where && where->path && !where->path->empty() ? *where->path : file_;
    if (where && where->begin) {
        e.line = static_cast<int>(where->begin.line);
        e.column = static_cast<int>(where->begin.column);
    }
    e.key = std::move(key);
    e.message = std::move(message);
    errors_.push_back(std::move(e));
}

const ConfigError& Errors::first() const {
    auto order = [](const ConfigError& e) {
        return std::pair(e.line > 0 ? e.line : INT_MAX, e.column);
    };
    return *std::min_element(errors_.begin(), errors_.end(),
                             [&](const auto& a, const auto& b) { return order(a) < order(b); });
}

std::string_view type_name(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::table:
            return "a table";
        default:
            return "nothing";
    }
}

TableReader::TableReader(Errors& errors, const toml::table* table, std::string path)
    : errors_(errors), table_(table), path_(std::move(path)) {}

std::string TableReader::key_path(std::string_view key) const {
    if (path_.empty()) return std::string(key);
    if (key.empty()) return path_;
    return path_ + "." + std::string(key);
}

const toml::node* TableReader::node(std::string_view key) {
    known_.emplace(key);
    if (!table_) return nullptr;
    return table_->get(key);
}

void TableReader::fail(std::string_view key, std::string message) {
    const toml::node* where = table_ ? table_->get(key) : nullptr;
    if (!where) where = table_;
    errors_.add(where, key_path(key), std::move(message));
}

void TableReader::fail_at(const toml::node* where, std::string key, std::string message) {
    errors_.add(where, std::move(key), std::move(message));
}

bool TableReader::get(std::string_view key, std::string& out) {
    const toml::node* n = node(key);
    if (!n) return false;
    if (auto* s = n->as_string()) {
        out = s->get();
        return true;
    }
    fail(key, "expected a string, got " + std::string(type_name(*n)));
    return false;
}

bool TableReader::get(std::string_view key, bool& out) {
    const toml::node* n = node(key);
    if (!n) return false;
    if (auto* b = n->as_boolean()) {
        out = b->get();
        return true;
    }
    fail(key, "expected a boolean (true or false), got " + std::string(type_name(*n)));
    return false;
}

bool TableReader::get_int(std::string_view key, std::int64_t& out, std::int64_t min,
                          std::int64_t max) {
    const toml::node* n = node(key);
    if (!n) return false;
    auto* i = n->as_integer();
    if (!i) {
        fail(key, "expected an integer, got " + std::string(type_name(*n)));
        return false;
    }
    std::int64_t v = i->get();
    if (v < min || v > max) {
        fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                      ", got " + std::to_string(v));
        return false;
    }
    out = v;
    return true;
}

bool TableReader::get(std::string_view key, std::vector<std::string>& out,
                      std::vector<const toml::node*>* nodes) {
    const toml::node* n = node(key);
    if (!n) return false;
    auto* arr = n->as_array();
    if (!arr) {
        fail(key, "expected an array of strings, got " + std::string(type_name(*n)));
        return false;
    }
    std::vector<std::string> values;
    std::vector<const toml::node*> where;
    bool ok = true;
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const toml::node& e = *arr->get(i);
        if (auto* s = e.as_string()) {
            values.push_back(s->get());
            where.push_back(&e);
        } else {
            fail_at(&e, key_path(key) + "[" + std::to_string(i) + "]",
                    "expected a string, got " + std::string(type_name(e)));
            ok = false;
        }
    }
    if (!ok) return false;
    out = std::move(values);
    if (nodes) *nodes = std::move(where);
    return true;
}

void TableReader::finish() {
    if (!table_) return;
    // Report in file order, so the operator fixes them top to bottom.
    std::vector<std::pair<const toml::key*, const toml::node*>> unknown;
    for (auto&& [k, v] : *table_) {
        if (!known_.count(k.str())) unknown.emplace_back(&k, &v);
    }
    std::sort(unknown.begin(), unknown.end(), [](const auto& a, const auto& b) {
        auto la = a.first->source().begin, lb = b.first->source().begin;
        return la.line != lb.line ? la.line < lb.line : la.column < lb.column;
    });
    for (auto& [k, v] : unknown) {
        const toml::source_region* where = k->source().begin ? &k->source() : &v->source();
        errors_.add(where, key_path(k->str()), "unknown key");
    }
}

const toml::table* sub_table(TableReader& parent, std::string_view key) {
    const toml::node* n = parent.node(key);
    if (!n) return nullptr;
    if (auto* t = n->as_table()) return t;
    parent.fail(key, "expected a table ([" + parent.key_path(key) + "]), got " +
                         std::string(type_name(*n)));
    return nullptr;
}

std::vector<const toml::table*> table_array(TableReader& parent, std::string_view key) {
    std::vector<const toml::table*> out;
    const toml::node* n = parent.node(key);
    if (!n) return out;
    auto* arr = n->as_array();
    if (arr && arr->empty()) return out;
    if (!arr || !arr->is_array_of_tables()) {
        parent.fail(key, "expected an array of tables ([[" + parent.key_path(key) + "]]), got " +
                             std::string(type_name(*n)));
        return out;
    }
    for (std::size_t i = 0; i < arr->size(); ++i) out.push_back(arr->get(i)->as_table());
    return out;
}

}  // namespace sipproxy::config::detail
