// Statement binding, stepping, column access and row accounting.
#include "sqlite/statement.h"

#include <sqlite3.h>

#include "sqlite/connection.h"
#include "sqlite/status_from_sqlite.h"

namespace dotdo::internal {

std::string LimitClause(int64_t n) { return " LIMIT " + std::to_string(n); }

Statement::Statement(Connection* conn, sqlite3_stmt* stmt, std::unique_lock<std::recursive_mutex> lock)
    : conn_(conn), stmt_(stmt), lock_(std::move(lock)) {}

Statement::Statement(Statement&& o) noexcept
    : conn_(o.conn_), stmt_(o.stmt_), lock_(std::move(o.lock_)), accounted_(o.accounted_),
      rows_returned_(o.rows_returned_) {
  o.conn_ = nullptr;
  o.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    Release();
    conn_ = o.conn_;
    stmt_ = o.stmt_;
    lock_ = std::move(o.lock_);
    accounted_ = o.accounted_;
    rows_returned_ = o.rows_returned_;
    o.conn_ = nullptr;
    o.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() { Release(); }

void Statement::Release() {
  if (stmt_ == nullptr) return;
  AccountRows();
  conn_->ReturnToCache(stmt_);
  stmt_ = nullptr;
  conn_ = nullptr;
  if (lock_.owns_lock()) lock_.unlock();
}

// Rows read = rows visited by every loop of the plan (SQLITE_SCANSTAT_NVISIT), which is what a
// per-row billing model charges; rows written = rows changed by a write statement.
void Statement::AccountRows() {
  if (accounted_ || stmt_ == nullptr) return;
  accounted_ = true;
  if (!sqlite3_stmt_busy(stmt_) && rows_returned_ == 0 && sqlite3_stmt_status(stmt_, SQLITE_STMTSTATUS_VM_STEP, 0) == 0)
    return;  // never ran
  int64_t visited = 0;
  for (int idx = 0;; ++idx) {
    sqlite3_int64 n = 0;
    if (sqlite3_stmt_scanstatus(stmt_, idx, SQLITE_SCANSTAT_NVISIT, &n) != 0) break;
    visited += n;
  }
  sqlite3_stmt_scanstatus_reset(stmt_);
  sqlite3_stmt_status(stmt_, SQLITE_STMTSTATUS_VM_STEP, 1);
  if (visited > 0) conn_->counters().rows_read.fetch_add(visited, std::memory_order_relaxed);
  rows_returned_ = 0;
}

Statement& Statement::Bind(int index, int64_t v) {
  sqlite3_bind_int64(stmt_, index, v);
  return *this;
}
Statement& Statement::Bind(int index, double v) {
  sqlite3_bind_double(stmt_, index, v);
  return *this;
}
Statement& Statement::Bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}
Statement& Statement::BindBlob(int index, std::string_view bytes) {
  sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}
Statement& Statement::Bind(int index, const SqlValue& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) BindNull(index);
        else if constexpr (std::is_same_v<T, SqlBlob>) BindBlob(index, x.bytes);
        else Bind(index, x);
      },
      v);
  return *this;
}
Statement& Statement::BindValues(const std::vector<SqlValue>& values) {
  for (size_t i = 0; i < values.size(); ++i) Bind(static_cast<int>(i + 1), values[i]);
  return *this;
}

Result<bool> Statement::Step() {
  accounted_ = false;
  // sqlite3_changes64 keeps the count of the last INSERT/UPDATE/DELETE until another one completes,
  // so a non-read-only statement that changes no row (BEGIN IMMEDIATE, DDL) would count it again:
  // only a step that moved the connection's total counts. (A RETURNING statement, which changes
  // its rows in its first step, would not be counted; none is used.)
  const int64_t total_before = sqlite3_total_changes64(conn_->handle());
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    ++rows_returned_;
    return true;
  }
  if (rc == SQLITE_DONE) {
    if (!sqlite3_stmt_readonly(stmt_) && sqlite3_total_changes64(conn_->handle()) != total_before) {
      int64_t changed = sqlite3_changes64(conn_->handle());
      if (changed > 0) conn_->counters().rows_written.fetch_add(changed, std::memory_order_relaxed);
    }
    return false;
  }
  Status st = StatusFromSqlite(rc, conn_->handle(), "");
  sqlite3_reset(stmt_);
  return st;
}

Status Statement::Run() {
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return OkStatus();
  }
}

void Statement::Reset() {
  AccountRows();
  sqlite3_reset(stmt_);
}

int Statement::ColumnCount() const { return sqlite3_column_count(stmt_); }
std::string_view Statement::ColumnName(int i) const {
  const char* n = sqlite3_column_name(stmt_, i);
  return n ? std::string_view(n) : std::string_view();
}
ColumnType Statement::GetColumnType(int i) const {
  switch (sqlite3_column_type(stmt_, i)) {
    case SQLITE_INTEGER: return ColumnType::kInteger;
    case SQLITE_FLOAT: return ColumnType::kFloat;
    case SQLITE_TEXT: return ColumnType::kText;
    case SQLITE_BLOB: return ColumnType::kBlob;
    default: return ColumnType::kNull;
  }
}
int64_t Statement::ColumnInt64(int i) const { return sqlite3_column_int64(stmt_, i); }
double Statement::ColumnDouble(int i) const { return sqlite3_column_double(stmt_, i); }
std::string_view Statement::ColumnText(int i) const {
  const unsigned char* p = sqlite3_column_text(stmt_, i);
  int n = sqlite3_column_bytes(stmt_, i);
  return p ? std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string_view();
}
std::string_view Statement::ColumnBlob(int i) const {
  const void* p = sqlite3_column_blob(stmt_, i);
  int n = sqlite3_column_bytes(stmt_, i);
  return p ? std::string_view(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string_view();
}
std::optional<std::string> Statement::ColumnOptionalText(int i) const {
  if (IsNull(i)) return std::nullopt;
  return std::string(ColumnText(i));
}
SqlValue Statement::ColumnValue(int i) const {
  switch (GetColumnType(i)) {
    case ColumnType::kInteger: return ColumnInt64(i);
    case ColumnType::kFloat: return ColumnDouble(i);
    case ColumnType::kText: return std::string(ColumnText(i));
    case ColumnType::kBlob: return SqlBlob{std::string(ColumnBlob(i))};
    case ColumnType::kNull: break;
  }
  return std::monostate{};
}

bool Statement::ReadOnly() const { return sqlite3_stmt_readonly(stmt_) != 0; }

std::string Statement::ExpandedSql() const {
  char* s = sqlite3_expanded_sql(stmt_);
  std::string out = s ? s : "";
  sqlite3_free(s);
  return out;
}

}  // namespace dotdo::internal
