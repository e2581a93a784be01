// DuckSession: the one place tiering talks to DuckDB's C API (duckdb.h). An in-memory DuckDB
// database with one connection, used to write Parquet files (COPY ... TO) and to read them
// (read_parquet). Results are materialized; errors become Status values (kInternal naming DuckDB's
// message, or kDataLoss when a file cannot be read as Parquet).
//
// Thread-safety: not thread-safe; the owner serializes calls (tiering runs under the Database lock).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dotdo/status.h"

namespace dotdo::tiering {

// A cell of a materialized result: null, integer, double, bool or text.
using DuckValue = std::variant<std::monostate, int64_t, double, bool, std::string>;

class DuckResult {
 public:
  size_t rows() const { return rows_; }
  size_t columns() const { return columns_; }
  const DuckValue& At(size_t row, size_t col) const { return cells_[row * columns_ + col]; }
  bool IsNull(size_t row, size_t col) const { return std::holds_alternative<std::monostate>(At(row, col)); }
  // The cell as an integer (0 when null or not an integer).
  int64_t Int(size_t row, size_t col) const;
  // The cell as text ("" when null; numbers are not converted).
  const std::string& Text(size_t row, size_t col) const;
  const std::string& ColumnName(size_t col) const { return names_[col]; }

 private:
  friend class DuckSession;
  size_t rows_ = 0, columns_ = 0;
  std::vector<std::string> names_;
  std::vector<DuckValue> cells_;
};

// A column of a staging table the appender fills.
enum class DuckType { kBigint, kDouble, kBoolean, kVarchar, kTimestampMs };

class DuckSession {
 public:
  static Result<std::unique_ptr<DuckSession>> Open();
  ~DuckSession();
  DuckSession(const DuckSession&) = delete;
  DuckSession& operator=(const DuckSession&) = delete;

  Status Exec(const std::string& sql);
  // Runs sql with `params` bound to $1.. as VARCHAR (ids and other user values are never pasted).
  Result<DuckResult> Query(const std::string& sql, const std::vector<std::string>& params = {});
  // One user-supplied statement: anything but a single SELECT or EXPLAIN is kInvalidArgument, more
  // than max_rows result rows kResourceExhausted.
  Result<DuckResult> QuerySelect(const std::string& sql, int64_t max_rows);
  // Asks the running statement to stop (thread-safe); it then fails.
  void Interrupt();

  // Row-wise appends to an existing table (columns in table order), flushed by Close().
  class Appender {
   public:
    ~Appender();
    Appender(Appender&&) noexcept;
    Appender& operator=(Appender&&) = delete;
    void Null();
    void Int(int64_t v);
    void Double(double v);
    void Bool(bool v);
    void Text(std::string_view v);
    void TimestampMs(int64_t ms);
    void EndRow();
    // The first error of any call above, or of the flush.
    Status Close();

   private:
    friend class DuckSession;
    explicit Appender(void* handle) : handle_(handle) {}
    void Check(int state);
    void* handle_;
    Status status_;
  };
  Result<Appender> Append(const std::string& table, const std::string& schema = "");

  // A double-quoted SQL identifier (embedded quotes doubled).
  static std::string Ident(std::string_view name);
  // A single-quoted SQL string literal (embedded quotes doubled); only for our own object paths.
  static std::string Literal(std::string_view text);

 private:
  DuckSession() = default;
  static Result<DuckResult> Execute(void* con, const std::string& sql, const std::vector<std::string>& params,
                                    bool user_select, int64_t max_rows);
  struct Handles;
  std::unique_ptr<Handles> h_;
};

}  // namespace dotdo::tiering
