// The read-only SQL door (see read_only_query.h).
#include "sqlite/read_only_query.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <string>

#include "sqlite/connection.h"
#include "sqlite/statement.h"
#include "sqlite/status_from_sqlite.h"

namespace dotdo::internal {
namespace {

using Json = nlohmann::json;

// Pragmas that only report (in their query form, without an argument).
constexpr std::array<std::string_view, 24> kQueryPragmas = {
    "application_id", "auto_vacuum",     "cache_size",    "collation_list", "compile_options", "data_version",
    "database_list",  "encoding",        "foreign_keys",  "freelist_count", "function_list",   "journal_mode",
    "module_list",    "page_count",      "page_size",     "pragma_list",    "schema_version",  "synchronous",
    "table_list",     "user_version",    "integrity_check", "quick_check",  "foreign_key_check", "max_page_count",
};
// Pragmas whose argument names a table or index (or bounds a check): still only reports.
constexpr std::array<std::string_view, 10> kArgumentPragmas = {
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
};

bool Contains(const auto& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

struct DoorState {
  std::chrono::steady_clock::time_point deadline;
  bool timed_out = false;
  std::string refused;  // the first action the authorizer denied
};

std::string_view ActionName(int action) {
  switch (action) {
    case SQLITE_ATTACH: return "ATTACH";
    case SQLITE_DETACH: return "DETACH";
    case SQLITE_TRANSACTION: return "BEGIN/COMMIT/ROLLBACK";
    case SQLITE_SAVEPOINT: return "SAVEPOINT";
    case SQLITE_INSERT: return "INSERT";
    case SQLITE_UPDATE: return "UPDATE";
    case SQLITE_DELETE: return "DELETE";
    case SQLITE_ANALYZE: return "ANALYZE";
    case SQLITE_REINDEX: return "REINDEX";
    case SQLITE_ALTER_TABLE: return "ALTER TABLE";
    default: return "schema changes";
  }
}

int Authorize(void* ctx, int action, const char* a1, const char* a2, const char* /*db*/, const char* /*trigger*/) {
  auto* state = static_cast<DoorState*>(ctx);
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_PRAGMA: {
      const std::string_view name = a1 ? a1 : "";
      if (a2 == nullptr ? Contains(kQueryPragmas, name) || Contains(kArgumentPragmas, name)
                        : Contains(kArgumentPragmas, name))
        return SQLITE_OK;
      if (state->refused.empty())
        state->refused = a2 ? "PRAGMA " + std::string(name) + " with a value" : "PRAGMA " + std::string(name);
      return SQLITE_DENY;
    }
    default:
      if (state->refused.empty()) state->refused = std::string(ActionName(action));
      return SQLITE_DENY;
  }
}

int Progress(void* ctx) {
  auto* state = static_cast<DoorState*>(ctx);
  if (std::chrono::steady_clock::now() < state->deadline) return 0;
  state->timed_out = true;
  return 1;
}

// Installs the door on a connection for one call and takes it down again.
class DoorGuard {
 public:
  DoorGuard(sqlite3* db, DoorState* state) : db_(db) {
    attached_ = sqlite3_limit(db_, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_set_authorizer(db_, Authorize, state);
    sqlite3_progress_handler(db_, 1000, Progress, state);
  }
  ~DoorGuard() {
    sqlite3_progress_handler(db_, 0, nullptr, nullptr);
    sqlite3_set_authorizer(db_, nullptr, nullptr);
    sqlite3_limit(db_, SQLITE_LIMIT_ATTACHED, attached_);
  }
  DoorGuard(const DoorGuard&) = delete;
  DoorGuard& operator=(const DoorGuard&) = delete;

 private:
  sqlite3* db_;
  int attached_;
};

Json ColumnToJson(const Statement& st, int i, int64_t& bytes) {
  switch (st.GetColumnType(i)) {
    case ColumnType::kInteger: bytes += 8; return st.ColumnInt64(i);
    case ColumnType::kFloat: bytes += 8; return st.ColumnDouble(i);
    case ColumnType::kText: {
      std::string text(st.ColumnText(i));
      bytes += static_cast<int64_t>(text.size());
      return text;
    }
    case ColumnType::kBlob:  // blobs are shown by size
      bytes += 16;
      return Json{{"$blob", st.ColumnBlob(i).size()}};
    case ColumnType::kNull: break;
  }
  return nullptr;
}

void Bind(Statement& st, int idx, const Json& v) {
  if (v.is_null()) st.BindNull(idx);
  else if (v.is_boolean()) st.Bind(idx, static_cast<int64_t>(v.get<bool>()));
  else if (v.is_number_integer()) st.Bind(idx, v.get<int64_t>());
  else if (v.is_number()) st.Bind(idx, v.get<double>());
  else if (v.is_string()) st.Bind(idx, v.get_ref<const std::string&>());
  else st.Bind(idx, v.dump());
}

// After the first statement only whitespace, semicolons and comments may follow.
Status CheckSingleStatement(sqlite3* db, const char* tail, const char* end) {
  while (tail < end) {
    sqlite3_stmt* next = nullptr;
    const char* rest = nullptr;
    int rc = sqlite3_prepare_v2(db, tail, static_cast<int>(end - tail), &next, &rest);
    if (next != nullptr || rc != SQLITE_OK) {
      sqlite3_finalize(next);
      return InvalidArgumentError("only one SQL statement may be given");
    }
    if (rest == nullptr || rest <= tail) break;
    tail = rest;
  }
  return OkStatus();
}

}  // namespace

Result<Json> RunReadOnlyQuery(Connection& conn, std::string_view sql, const std::vector<Json>& params,
                              const ReadOnlyQueryLimits& limits) {
  if (limits.max_rows < 0 || limits.max_result_bytes < 0 || limits.timeout_ms <= 0)
    return InvalidArgumentError("read-only query limits must be non-negative (timeout positive)");
  auto lock = conn.Lock();
  sqlite3* db = conn.handle();
  DoorState state;
  state.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limits.timeout_ms);
  DoorGuard guard(db, &state);

  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, &tail);
  Statement st(&conn, raw, conn.Lock());  // finalizes the statement (it is not a cached one)
  if (!state.refused.empty())
    return InvalidArgumentError(state.refused + " is not allowed in a read-only query");
  if (rc != SQLITE_OK) return StatusFromSqlite(rc, db, "cannot prepare SQL");
  if (raw == nullptr) return InvalidArgumentError("empty SQL statement");
  DOTDO_RETURN_IF_ERROR(CheckSingleStatement(db, tail, sql.data() + sql.size()));
  if (!st.ReadOnly())
    return InvalidArgumentError("only read-only statements are allowed here (SELECT, EXPLAIN, read-only PRAGMA)");
  if (static_cast<int>(params.size()) > sqlite3_bind_parameter_count(raw))
    return InvalidArgumentError(std::to_string(params.size()) + " parameters given; the statement has " +
                                std::to_string(sqlite3_bind_parameter_count(raw)));
  for (size_t i = 0; i < params.size(); ++i) Bind(st, static_cast<int>(i + 1), params[i]);

  Json rows = Json::array();
  int64_t bytes = 0;
  const int columns = st.ColumnCount();
  for (;;) {
    Result<bool> row = st.Step();
    if (!row.ok()) {
      if (state.timed_out)
        return Status(StatusCode::kDeadlineExceeded,
                      "read-only query ran past its time limit of " + std::to_string(limits.timeout_ms) + " ms");
      if (!state.refused.empty()) return InvalidArgumentError(state.refused + " is not allowed in a read-only query");
      return row.status();
    }
    if (!*row) break;
    if (static_cast<int64_t>(rows.size()) >= limits.max_rows)
      return ResourceExhaustedError("read-only query returns more than " + std::to_string(limits.max_rows) +
                                    " rows; add a LIMIT or raise the row limit");
    Json obj = Json::object();
    for (int i = 0; i < columns; ++i) {
      bytes += 16;
      obj[std::string(st.ColumnName(i))] = ColumnToJson(st, i, bytes);
    }
    if (bytes > limits.max_result_bytes)
      return ResourceExhaustedError("read-only query returns more than " + std::to_string(limits.max_result_bytes) +
                                    " bytes; select fewer rows or columns");
    rows.push_back(std::move(obj));
  }
  return rows;
}

}  // namespace dotdo::internal
