#pragma once
// The two real stores behind one test interface: SqliteStore on a temp dir, and
// PostgresStore on a fresh database of the process's PostgreSQL server (started on first
// use, stopped when the tests end).
#include "store/postgres_server.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/test_util.hpp"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tandem::store::test_util {

using Row = std::vector<std::optional<std::string>>;

// The PostgreSQL server shared by the tests of one process.
class SharedPostgres : public ::testing::Environment {
 public:
  static test::PostgresServer& server() {
    if (!server_) server_ = std::make_unique<test::PostgresServer>();
    return *server_;
  }
  void TearDown() override { server_.reset(); }

 private:
  static inline std::unique_ptr<test::PostgresServer> server_;
};

// Registered once per test program that includes this header (it starts nothing until a
// test asks for server()).
[[maybe_unused]] inline ::testing::Environment* const kSharedPostgres =
    ::testing::AddGlobalTestEnvironment(new SharedPostgres);

inline std::vector<Row> sqlite_query(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path.string());
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    std::string message = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error(sql + ": " + message);
  }
  std::vector<Row> rows;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    Row row;
    for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
      if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, c)));
      }
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

class Backend {
 public:
  virtual ~Backend() = default;
  // A new store (a new connection) over the same database.
  virtual std::unique_ptr<Store> make_store() = 0;
  // One SQL statement, rows as text (write it in the common subset of both dialects).
  virtual std::vector<Row> query(const std::string& sql) = 0;
  virtual std::string name() const = 0;
};

class SqliteBackend final : public Backend {
 public:
  std::unique_ptr<Store> make_store() override {
    return std::make_unique<SqliteStore>(dir_.path() / "data");
  }
  std::vector<Row> query(const std::string& sql) override {
    return sqlite_query(dir_.path() / "data" / SqliteStore::kFileName, sql);
  }
  std::string name() const override { return "sqlite"; }
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
};

class PostgresBackend final : public Backend {
 public:
  explicit PostgresBackend(test::PostgresServer& server) : conninfo_(server.create_database()) {}
  std::unique_ptr<Store> make_store() override {
    return std::make_unique<PostgresStore>(conninfo_);
  }
  std::vector<Row> query(const std::string& sql) override {
    return test::PostgresServer::query(conninfo_, sql);
  }
  std::string name() const override { return "postgresql"; }
  const std::string& conninfo() const { return conninfo_; }

 private:
  std::string conninfo_;
};

inline std::unique_ptr<Backend> make_backend(const std::string& name) {
  if (name == "sqlite") return std::make_unique<SqliteBackend>();
  return std::make_unique<PostgresBackend>(SharedPostgres::server());
}

}  // namespace tandem::store::test_util
