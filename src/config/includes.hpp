#pragma once
// `include = ["routes.d/*.toml", "users.d/*.toml"]` at the top of the config file: the
// files each pattern matches (glob, relative to the config file's folder, sorted) are
// read and merged into it, in order. An included file may add tables and entries to
// [[arrays]] ([[routes]], [[gateways]], [[auth.users]]); a key set in two files is an
// error naming both. Errors inside an included file name that file and line. Included
// files include nothing further. Only src/config/*.cpp include this (toml++ is heavy).
#include <toml++/toml.h>

#include <filesystem>

#include "config/toml_reader.hpp"

namespace sipproxy::config::detail {

// Reads and merges the files `root`'s "include" names. Returns false after an error.
bool merge_includes(toml::table& root, const std::filesystem::path& config_file, Errors& errors);

}  // namespace sipproxy::config::detail
