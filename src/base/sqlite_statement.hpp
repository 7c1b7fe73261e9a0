#pragma once
// RAII for an SQLite prepared statement (for the parts that link SQLite: the location
// store, the user database).
#include <sqlite3.h>

namespace sipproxy {

struct SqliteStatement {
    sqlite3_stmt* stmt = nullptr;
    SqliteStatement() = default;
    SqliteStatement(const SqliteStatement&) = delete;
    SqliteStatement& operator=(const SqliteStatement&) = delete;
    ~SqliteStatement() { sqlite3_finalize(stmt); }
};

}  // namespace sipproxy
