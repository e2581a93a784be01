// Statement: a prepared SQLite statement with typed binding and column access, and the row counters
// that feed Database::stats(). Statements come from Connection::Prepare (cached) and are returned to
// the cache, reset and unbound, when the Statement handle is destroyed.
//
// Thread-safety: a Statement is used by one thread at a time; the handle holds the connection's
// mutex for its lifetime, so statements of one connection never run concurrently.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dotdo/status.h"

struct sqlite3_stmt;

namespace dotdo::internal {

class Connection;

// A value bound to or read from SQL. Blob is distinct from text.
struct SqlBlob {
  std::string bytes;
};
using SqlValue = std::variant<std::monostate, int64_t, double, std::string, SqlBlob>;

enum class ColumnType { kInteger, kFloat, kText, kBlob, kNull };

// " LIMIT <n>", to append to SQL text. A row limit is written into the statement, never bound:
// SQLite's planner reads a bound LIMIT's value, so every re-bind of that parameter (even to the same
// value) makes the statement re-prepare on its next step. REQUIRES: n was validated by the caller.
std::string LimitClause(int64_t n);

class Statement {
 public:
  Statement() = default;
  Statement(Connection* conn, sqlite3_stmt* stmt, std::unique_lock<std::recursive_mutex> lock);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binding; indices are 1-based as in SQLite. Text and blobs are copied (SQLITE_TRANSIENT).
  Statement& Bind(int index, int64_t v);
  Statement& Bind(int index, int v) { return Bind(index, static_cast<int64_t>(v)); }
  Statement& Bind(int index, double v);
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& Bind(int index, const std::string& text) { return Bind(index, std::string_view(text)); }
  Statement& BindBlob(int index, std::string_view bytes);
  Statement& BindNull(int index);
  Statement& Bind(int index, const SqlValue& v);
  Statement& Bind(int index, std::nullopt_t) { return BindNull(index); }
  template <typename T>
  Statement& Bind(int index, const std::optional<T>& v) {
    return v ? Bind(index, *v) : BindNull(index);
  }
  // Binds args to parameters 1..n in order.
  template <typename... Args>
  Statement& BindAll(const Args&... args) {
    int i = 0;
    (Bind(++i, args), ...);
    return *this;
  }
  Statement& BindValues(const std::vector<SqlValue>& values);

  // Advances; true when a row is available, false when done. Errors map to Status.
  Result<bool> Step();
  // Runs to completion, discarding rows.
  Status Run();
  // Rewinds for re-execution with the same or new bindings.
  void Reset();

  int ColumnCount() const;
  std::string_view ColumnName(int i) const;
  ColumnType GetColumnType(int i) const;
  bool IsNull(int i) const { return GetColumnType(i) == ColumnType::kNull; }
  int64_t ColumnInt64(int i) const;
  double ColumnDouble(int i) const;
  // Valid until the next Step/Reset.
  std::string_view ColumnText(int i) const;
  std::string_view ColumnBlob(int i) const;
  std::string ColumnString(int i) const { return std::string(ColumnText(i)); }
  std::optional<std::string> ColumnOptionalText(int i) const;
  SqlValue ColumnValue(int i) const;

  bool valid() const { return stmt_ != nullptr; }
  bool ReadOnly() const;
  std::string ExpandedSql() const;

 private:
  void Release();
  void AccountRows();

  Connection* conn_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::unique_lock<std::recursive_mutex> lock_;
  bool accounted_ = false;
  int64_t rows_returned_ = 0;
};

}  // namespace dotdo::internal
