// Connection open/close, pragmas and the prepared-statement cache.
#include "sqlite/connection.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <string>
#include <thread>

#include <sqlite3.h>

#include "sqlite/status_from_sqlite.h"

namespace dotdo::internal {

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, const ConnectionOptions& options) {
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;  // we serialize on our own mutex
  if (options.read_only) flags |= SQLITE_OPEN_READONLY;
  else flags |= SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0);
  if (path == ":memory:") flags |= SQLITE_OPEN_MEMORY;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, options.vfs.empty() ? nullptr : options.vfs.c_str());
  if (rc != SQLITE_OK) {
    Status st = StatusFromSqlite(rc, db, "cannot open database '" + path + "'");
    sqlite3_close_v2(db);
    return st;
  }
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, nullptr);
  std::unique_ptr<Connection> conn(new Connection(db, path, options));
  if (!options.read_only && path != ":memory:" && options.wal) {
    // Two connections opening a new file at once both switch it to WAL; SQLite returns BUSY to
    // the second without calling the busy handler (it needs an exclusive lock to change the
    // journal mode), so the switch is retried here for up to busy_timeout_ms.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
    for (int attempt = 0;; ++attempt) {
      Status wal = conn->Exec("PRAGMA journal_mode=WAL");
      if (wal.ok()) break;
      if (wal.code() != StatusCode::kUnavailable || std::chrono::steady_clock::now() >= deadline) return wal;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1 + attempt, 20)));
    }
    DOTDO_RETURN_IF_ERROR(conn->Exec(options.full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  }
  // Savepoint sub-journals stay in memory (each is emptied when its outermost savepoint ends). With
  // the default, a sub-journal that passes 64 KiB moves to a temporary file for the rest of the
  // transaction, and every later savepoint (each store call inside a caller's transaction opens one)
  // pays a write system call per page it touches.
  DOTDO_RETURN_IF_ERROR(conn->Exec("PRAGMA temp_store=MEMORY"));
  if (options.page_cache_bytes > 0) {
    // A negative cache_size is a size in KiB (the value is ours, not a user's text).
    const int64_t kib = std::max<int64_t>(1, options.page_cache_bytes / 1024);
    DOTDO_RETURN_IF_ERROR(conn->Exec("PRAGMA cache_size=-" + std::to_string(kib)));
  }
  // Probe the file so a non-database fails here, with a clear error, rather than on first use.
  DOTDO_RETURN_IF_ERROR(conn->Exec("PRAGMA schema_version"));
  return conn;
}

Connection::Connection(sqlite3* db, std::string path, const ConnectionOptions& options)
    : db_(db), path_(std::move(path)), options_(options) {}

Connection::~Connection() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  for (sqlite3_stmt* s : idle_) sqlite3_finalize(s);
  idle_.clear();
  cache_.clear();
  sqlite3_close_v2(db_);
}

Result<Statement> Connection::Prepare(std::string_view sql) {
  std::unique_lock<std::recursive_mutex> lock(mu_);
  std::string key(sql);
  auto it = cache_.find(key);
  if (it != cache_.end() && !it->second.empty()) {
    sqlite3_stmt* s = *it->second.back();
    idle_.erase(it->second.back());
    it->second.pop_back();
    return Statement(this, s, std::move(lock));
  }
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) return StatusFromSqlite(rc, db_, "cannot prepare SQL");
  if (s == nullptr) return InvalidArgumentError("empty SQL statement");
  cache_key_.emplace(s, std::move(key));
  return Statement(this, s, std::move(lock));
}

Result<Statement> Connection::PrepareUncached(std::string_view sql) {
  std::unique_lock<std::recursive_mutex> lock(mu_);
  sqlite3_stmt* s = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, &tail);
  if (rc != SQLITE_OK) return StatusFromSqlite(rc, db_, "cannot prepare SQL");
  if (s == nullptr) return InvalidArgumentError("empty SQL statement");
  std::string_view rest(tail, static_cast<size_t>(sql.data() + sql.size() - tail));
  if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
    sqlite3_finalize(s);
    return InvalidArgumentError("only one SQL statement may be given");
  }
  return Statement(this, s, std::move(lock));
}

void Connection::ReturnToCache(sqlite3_stmt* stmt) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  auto k = cache_key_.find(stmt);
  if (k == cache_key_.end() || options_.statement_cache_capacity == 0) {
    if (k != cache_key_.end()) cache_key_.erase(k);
    sqlite3_finalize(stmt);
    return;
  }
  if (idle_.size() >= options_.statement_cache_capacity) {
    // Make room: finalize the least recently used idle statement.
    const IdleList::iterator victim = std::prev(idle_.end());
    auto vk = cache_key_.find(*victim);
    auto& same_sql = cache_[vk->second];
    same_sql.erase(std::find(same_sql.begin(), same_sql.end(), victim));
    if (same_sql.empty()) cache_.erase(vk->second);
    sqlite3_finalize(*victim);
    cache_key_.erase(vk);
    idle_.erase(victim);
  }
  idle_.push_front(stmt);
  cache_[k->second].push_back(idle_.begin());
}

namespace {

void CallTextFunction(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto* fn = static_cast<Connection::TextFunction*>(sqlite3_user_data(ctx));
  std::optional<std::string_view> args[8];
  const int n = std::min(argc, 8);
  for (int i = 0; i < n; ++i) {
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL) continue;
    const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[i]));
    args[i] = std::string_view(text ? text : "", static_cast<size_t>(sqlite3_value_bytes(argv[i])));
  }
  try {
    SqlValue out = (*fn)(std::span<const std::optional<std::string_view>>(args, static_cast<size_t>(n)));
    if (const auto* i = std::get_if<int64_t>(&out)) {
      sqlite3_result_int64(ctx, *i);
    } else if (const auto* d = std::get_if<double>(&out)) {
      sqlite3_result_double(ctx, *d);
    } else if (const auto* t = std::get_if<std::string>(&out)) {
      sqlite3_result_text(ctx, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
    } else {
      sqlite3_result_null(ctx);
    }
  } catch (const std::exception& e) {
    sqlite3_result_error(ctx, e.what(), -1);
  }
}

}  // namespace

Status Connection::RegisterFunction(const std::string& name, int nargs, TextFunction fn) {
  if (nargs < 0 || nargs > 8) return InvalidArgumentError("a registered SQL function takes 0 to 8 arguments");
  auto* held = new TextFunction(std::move(fn));
  int rc = sqlite3_create_function_v2(
      db_, name.c_str(), nargs, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, held, CallTextFunction,
      nullptr, nullptr, [](void* p) { delete static_cast<TextFunction*>(p); });
  if (rc != SQLITE_OK) return StatusFromSqlite(rc, db_, "registering SQL function " + name);
  return OkStatus();
}

Status Connection::Exec(std::string_view sql) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Status st = StatusFromSqlite(rc, db_, "");
    sqlite3_free(err);
    return st;
  }
  return OkStatus();
}

int64_t Connection::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
bool Connection::TableExists(const std::string& name) {
  return sqlite3_table_column_metadata(db_, "main", name.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr) ==
         SQLITE_OK;
}

int64_t Connection::Changes() const { return sqlite3_changes64(db_); }
bool Connection::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

}  // namespace dotdo::internal
