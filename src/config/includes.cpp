#include "config/includes.hpp"

#include <glob.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace sipproxy::config::detail {

namespace fs = std::filesystem;

namespace {

std::string place(const toml::source_region& r) {
    std::string out = r.path ? *r.path : std::string("?");
    if (r.begin) out += ":" + std::to_string(r.begin.line);
    return out;
}

// `from` into `into`: new keys are moved in, tables merge key by key, arrays of tables
// are appended; anything else set in both is an error at the second place.
void merge(toml::table& into, toml::table& from, const std::string& path, Errors& errors) {
    for (auto&& [k, v] : from) {
        const std::string key = path.empty() ? std::string(k.str()) : path + "." + std::string(k.str());
        toml::node* existing = into.get(k.str());
        if (!existing) {
            into.insert(k, std::move(v));
        } else if (existing->is_table() && v.is_table()) {
            merge(*existing->as_table(), *v.as_table(), key, errors);
        } else if (existing->is_array_of_tables() && v.is_array_of_tables()) {
            for (auto& element : *v.as_array()) existing->as_array()->push_back(std::move(element));
        } else {
            errors.add(&v.source(), key,
                       "also set at " + place(existing->source()) +
                           " (included files add tables and [[array]] entries; a key is set once)");
        }
    }
}

// The files of one pattern, sorted; a pattern without wildcards must name a file.
bool expand(const std::string& pattern, const fs::path& base, std::vector<fs::path>& out,
            std::string& error) {
    fs::path p(pattern);
    if (p.is_relative()) p = base / p;
    const bool wildcard = pattern.find_first_of("*?[") != std::string::npos;
    glob_t g{};
    const int rc = ::glob(p.c_str(), 0, nullptr, &g);  // a folder that is not there: no match
    if (rc == 0) {
        for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    } else if (rc == GLOB_NOMATCH) {
        if (!wildcard) error = p.string() + ": no such file";
    } else {
        error = p.string() + ": cannot list the folder";
    }
    ::globfree(&g);
    return error.empty();
}

}  // namespace

bool merge_includes(toml::table& root, const fs::path& config_file, Errors& errors) {
    const toml::node* inc = root.get("include");
    if (!inc) return true;
    const toml::array* patterns = inc->as_array();
    if (!patterns) {
        errors.add(inc, "include", "expected an array of file names or glob patterns");
        return false;
    }
    std::vector<std::pair<fs::path, const toml::node*>> files;
    for (const auto& p : *patterns) {
        const auto* s = p.as_string();
        if (!s || s->get().empty()) {
            errors.add(&p, "include", "expected non-empty strings (file names or glob patterns)");
            return false;
        }
        std::vector<fs::path> matched;
        std::string error;
        if (!expand(s->get(), config_file.parent_path(), matched, error)) {
            errors.add(&p, "include", error);
            return false;
        }
        for (auto& m : matched) files.emplace_back(std::move(m), &p);
    }
    for (const auto& [file, where] : files) {
        if (fs::equivalent(file, config_file)) {
            errors.add(where, "include", file.string() + ": the config file includes itself");
            return false;
        }
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            errors.add(where, "include", file.string() + ": cannot open: " + std::strerror(errno));
            return false;
        }
        std::ostringstream text;
        text << in.rdbuf();
        toml::table included;
#if TOML_EXCEPTIONS
        try {
            included = toml::parse(text.str(), file.string());
        } catch (const toml::parse_error& e) {
            errors.add(&e.source(), "", "TOML syntax error: " + std::string(e.description()));
            return false;
        }
#else
        auto parsed = toml::parse(text.str(), file.string());
        if (!parsed) {
            errors.add(&parsed.error().source(), "",
                       "TOML syntax error: " + std::string(parsed.error().description()));
            return false;
        }
        included = std::move(parsed).table();
#endif
        if (const auto* nested = included.get("include")) {
            errors.add(nested, "include", "only the main config file may include files");
            return false;
        }
        merge(root, included, "", errors);
        if (errors.any()) return false;
    }
    return true;
}

}  // namespace sipproxy::config::detail
