#pragma once
// [[fraud]] tables (call limits for authenticated users): read and validated after
// [[routes]], whose names they refer to. Only load.cpp includes this.
#include "config/toml_reader.hpp"

namespace sipproxy::config::detail {

void read_fraud_rules(Errors& errors, TableReader& root, Config& config);

}  // namespace sipproxy::config::detail
