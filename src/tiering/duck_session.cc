#include "tiering/duck_session.h"

#include <duckdb.h>

namespace dotdo::tiering {

struct DuckSession::Handles {
  duckdb_database db = nullptr;
  duckdb_connection con = nullptr;
  ~Handles() {
    if (con != nullptr) duckdb_disconnect(&con);
    if (db != nullptr) duckdb_close(&db);
  }
};

namespace {

Status DuckError(std::string_view what, const char* message) {
  std::string m = message == nullptr ? "unknown error" : message;
  // Unreadable or truncated files surface as IO / Invalid Input errors naming Parquet.
  if (m.find("Parquet") != std::string::npos || m.find("parquet") != std::string::npos)
    return DataLossError(std::string(what) + ": " + m);
  return InternalError(std::string(what) + ": " + m);
}

}  // namespace

int64_t DuckResult::Int(size_t row, size_t col) const {
  const DuckValue& v = At(row, col);
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
  return 0;
}

const std::string& DuckResult::Text(size_t row, size_t col) const {
  static const std::string kEmpty;
  const auto* s = std::get_if<std::string>(&At(row, col));
  return s == nullptr ? kEmpty : *s;
}

Result<std::unique_ptr<DuckSession>> DuckSession::Open() {
  std::unique_ptr<DuckSession> s(new DuckSession());
  s->h_ = std::make_unique<Handles>();
  if (duckdb_open(nullptr, &s->h_->db) != DuckDBSuccess) return InternalError("cannot open an in-memory DuckDB database");
  if (duckdb_connect(s->h_->db, &s->h_->con) != DuckDBSuccess) return InternalError("cannot connect to DuckDB");
  return s;
}

DuckSession::~DuckSession() = default;

Status DuckSession::Exec(const std::string& sql) {
  duckdb_result res;
  const bool ok = duckdb_query(h_->con, sql.c_str(), &res) == DuckDBSuccess;
  Status st = ok ? OkStatus() : DuckError("DuckDB", duckdb_result_error(&res));
  duckdb_destroy_result(&res);
  return st;
}

Result<DuckResult> DuckSession::Execute(void* handle, const std::string& sql, const std::vector<std::string>& params,
                                        bool user_select, int64_t max_rows) {
  auto con = static_cast<duckdb_connection>(handle);
  DuckResult out;
  duckdb_prepared_statement stmt = nullptr;
  if (duckdb_prepare(con, sql.c_str(), &stmt) != DuckDBSuccess) {
    std::string m = duckdb_prepare_error(stmt) == nullptr ? "cannot prepare" : duckdb_prepare_error(stmt);
    duckdb_destroy_prepare(&stmt);
    if (user_select) return InvalidArgumentError("SQL: " + m);
    return InternalError("DuckDB prepare: " + m);
  }
  struct Closer {
    duckdb_prepared_statement* s;
    ~Closer() { duckdb_destroy_prepare(s); }
  } closer{&stmt};
  if (user_select) {
    const duckdb_statement_type type = duckdb_prepared_statement_type(stmt);
    if (type != DUCKDB_STATEMENT_TYPE_SELECT && type != DUCKDB_STATEMENT_TYPE_EXPLAIN)
      return InvalidArgumentError("only one read-only statement (SELECT or EXPLAIN) can run on the warm tier");
  }
  for (size_t i = 0; i < params.size(); ++i)
    if (duckdb_bind_varchar_length(stmt, i + 1, params[i].data(), params[i].size()) != DuckDBSuccess)
      return InternalError("DuckDB: cannot bind parameter " + std::to_string(i + 1));
  duckdb_result res;
  if (duckdb_execute_prepared(stmt, &res) != DuckDBSuccess) {
    Status st = user_select ? InvalidArgumentError(std::string("SQL: ") + duckdb_result_error(&res))
                            : DuckError("DuckDB", duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    return st;
  }
  out.columns_ = duckdb_column_count(&res);
  out.rows_ = duckdb_row_count(&res);
  if (max_rows >= 0 && out.rows_ > static_cast<size_t>(max_rows)) {
    duckdb_destroy_result(&res);
    return ResourceExhaustedError("the result has " + std::to_string(out.rows_) + " rows, more than the limit of " +
                                  std::to_string(max_rows));
  }
  out.cells_.reserve(out.rows_ * out.columns_);
  std::vector<duckdb_type> types(out.columns_);
  for (idx_t c = 0; c < out.columns_; ++c) {
    types[c] = duckdb_column_type(&res, c);
    out.names_.emplace_back(duckdb_column_name(&res, c));
  }
  for (idx_t r = 0; r < out.rows_; ++r) {
    for (idx_t c = 0; c < out.columns_; ++c) {
      if (duckdb_value_is_null(&res, c, r)) {
        out.cells_.emplace_back(std::monostate{});
        continue;
      }
      switch (types[c]) {
        case DUCKDB_TYPE_BOOLEAN: out.cells_.emplace_back(duckdb_value_boolean(&res, c, r)); break;
        case DUCKDB_TYPE_TINYINT:
        case DUCKDB_TYPE_SMALLINT:
        case DUCKDB_TYPE_INTEGER:
        case DUCKDB_TYPE_BIGINT:
        case DUCKDB_TYPE_UTINYINT:
        case DUCKDB_TYPE_USMALLINT:
        case DUCKDB_TYPE_UINTEGER:
        case DUCKDB_TYPE_HUGEINT:
        case DUCKDB_TYPE_UBIGINT: out.cells_.emplace_back(duckdb_value_int64(&res, c, r)); break;
        case DUCKDB_TYPE_FLOAT:
        case DUCKDB_TYPE_DOUBLE:
        case DUCKDB_TYPE_DECIMAL: out.cells_.emplace_back(duckdb_value_double(&res, c, r)); break;
        default: {
          duckdb_string s = duckdb_value_string(&res, c, r);
          out.cells_.emplace_back(std::string(s.data == nullptr ? "" : s.data, s.size));
          duckdb_free(s.data);
        }
      }
    }
  }
  duckdb_destroy_result(&res);
  return out;
}

Result<DuckResult> DuckSession::Query(const std::string& sql, const std::vector<std::string>& params) {
  return Execute(h_->con, sql, params, false, -1);
}

Result<DuckResult> DuckSession::QuerySelect(const std::string& sql, int64_t max_rows) {
  return Execute(h_->con, sql, {}, true, max_rows);
}

void DuckSession::Interrupt() { duckdb_interrupt(h_->con); }

DuckSession::Appender::~Appender() {
  if (handle_ != nullptr) {
    auto app = static_cast<duckdb_appender>(handle_);
    duckdb_appender_destroy(&app);
  }
}

DuckSession::Appender::Appender(Appender&& o) noexcept : handle_(o.handle_), status_(std::move(o.status_)) {
  o.handle_ = nullptr;
}

void DuckSession::Appender::Check(int state) {
  if (state != DuckDBSuccess && status_.ok()) status_ = DuckError("DuckDB append", duckdb_appender_error(static_cast<duckdb_appender>(handle_)));
}

void DuckSession::Appender::Null() { Check(duckdb_append_null(static_cast<duckdb_appender>(handle_))); }
void DuckSession::Appender::Int(int64_t v) { Check(duckdb_append_int64(static_cast<duckdb_appender>(handle_), v)); }
void DuckSession::Appender::Double(double v) { Check(duckdb_append_double(static_cast<duckdb_appender>(handle_), v)); }
void DuckSession::Appender::Bool(bool v) { Check(duckdb_append_bool(static_cast<duckdb_appender>(handle_), v)); }
void DuckSession::Appender::Text(std::string_view v) {
  Check(duckdb_append_varchar_length(static_cast<duckdb_appender>(handle_), v.data(), v.size()));
}
void DuckSession::Appender::TimestampMs(int64_t ms) {
  Check(duckdb_append_timestamp(static_cast<duckdb_appender>(handle_), duckdb_timestamp{ms * 1000}));
}
void DuckSession::Appender::EndRow() { Check(duckdb_appender_end_row(static_cast<duckdb_appender>(handle_))); }

Status DuckSession::Appender::Close() {
  if (handle_ == nullptr) return status_;
  auto app = static_cast<duckdb_appender>(handle_);
  if (status_.ok() && duckdb_appender_flush(app) != DuckDBSuccess) status_ = DuckError("DuckDB append", duckdb_appender_error(app));
  duckdb_appender_destroy(&app);
  handle_ = nullptr;
  return status_;
}

Result<DuckSession::Appender> DuckSession::Append(const std::string& table, const std::string& schema) {
  duckdb_appender app = nullptr;
  if (duckdb_appender_create(h_->con, schema.empty() ? nullptr : schema.c_str(), table.c_str(), &app) != DuckDBSuccess) {
    Status st = DuckError("DuckDB appender", duckdb_appender_error(app));
    duckdb_appender_destroy(&app);
    return st;
  }
  return Appender(app);
}

std::string DuckSession::Ident(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string DuckSession::Literal(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace dotdo::tiering
