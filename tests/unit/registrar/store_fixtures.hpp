#pragma once
// The two LocationStore implementations behind one interface, so that every store and
// registrar test runs against both (TEMPLATE_TEST_CASE over these types).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "registrar/memory_location_store.hpp"
#include "registrar/sqlite_location_store.hpp"

namespace sipproxy::registrar::test {

// A fresh folder under /tmp, removed with everything in it.
class TempDir {
  public:
    TempDir() {
        std::string tmpl = "/tmp/sipproxy-registrar-XXXXXX";
        if (!mkdtemp(tmpl.data())) FAIL("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path file(const std::string& name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

struct MemoryStore {
    static constexpr const char* name = "memory";
    MemoryLocationStore store;
    LocationStore& get() { return store; }
};

struct SqliteStore {
    static constexpr const char* name = "sqlite";
    TempDir dir;
    std::unique_ptr<SqliteLocationStore> store;
    SqliteStore() {
        auto opened = SqliteLocationStore::open(dir.file("location.sqlite"));
        if (!opened) FAIL(opened.error());
        store = std::move(*opened);
    }
    LocationStore& get() { return *store; }
};

}  // namespace sipproxy::registrar::test
