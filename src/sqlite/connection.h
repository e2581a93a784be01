// Connection: one SQLite database handle with a prepared-statement cache, our pragmas, and the row
// counters behind Database::stats(). It is the only owner of a sqlite3* in dotdo.
//
// Invariants:
//   1. A cached statement is handed out to at most one Statement at a time; it goes back to the
//      cache reset and with its bindings cleared. At most statement_cache_capacity statements are
//      idle in the cache; beyond that the least recently used idle one is finalized.
//   2. Every statement step runs with mu_ held (Statement holds the lock), so the cache and the
//      handle are never used by two threads at once.
//
// Thread-safety: safe to share between threads; operations serialize on an internal recursive mutex
// which callers may also hold (Lock()) to make several statements atomic with respect to others.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dotdo/status.h"
#include "sqlite/statement.h"

struct sqlite3;

namespace dotdo::internal {

struct ConnectionOptions {
  bool read_only = false;
  bool create = true;
  int busy_timeout_ms = 5000;           // default 5 s
  size_t statement_cache_capacity = 256;  // default 256 statements
  bool wal = true;                       // journal_mode=WAL for file databases
  // PRAGMA synchronous=FULL (sync the WAL at every commit) instead of NORMAL (sync at checkpoints).
  // Default false (NORMAL).
  bool full_sync = false;
  // Name of a registered SQLite VFS. Default empty: SQLite's default VFS.
  std::string vfs;
  // Upper bound of this connection's page cache (PRAGMA cache_size), in bytes; pages are allocated
  // as they are read, so an idle connection costs little. 0 keeps SQLite's default (2 MB).
  int64_t page_cache_bytes = 0;
};

struct RowCounters {
  std::atomic<int64_t> rows_read{0};
  std::atomic<int64_t> rows_written{0};
};

class Connection {
 public:
  // path ":memory:" opens a private in-memory database.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Prepares (or takes from the cache) one SQL statement.
  Result<Statement> Prepare(std::string_view sql);
  // Prepares without caching; for one-off and user-supplied SQL.
  Result<Statement> PrepareUncached(std::string_view sql);
  // Runs one or more statements without results (DDL, pragmas).
  Status Exec(std::string_view sql);

  // A deterministic, side-effect-free SQL function over text arguments (SQL NULL reads as nullopt;
  // numbers read as their text), returning an integer, real, text or NULL. Registered on this handle
  // only; `fn` runs inside statement steps (with the connection lock held) and must not use the
  // connection. A thrown exception becomes an SQL error.
  using TextFunction = std::function<SqlValue(std::span<const std::optional<std::string_view>>)>;
  Status RegisterFunction(const std::string& name, int nargs, TextFunction fn);

  int64_t LastInsertRowId() const;
  int64_t Changes() const;
  // Whether the main database has a table `name` (read from the schema, not counted as rows read).
  bool TableExists(const std::string& name);
  bool InTransaction() const;  // false when in autocommit mode

  std::unique_lock<std::recursive_mutex> Lock() { return std::unique_lock<std::recursive_mutex>(mu_); }

  RowCounters& counters() { return counters_; }
  sqlite3* handle() { return db_; }
  const std::string& path() const { return path_; }
  bool read_only() const { return options_.read_only; }

 private:
  friend class Statement;
  Connection(sqlite3* db, std::string path, const ConnectionOptions& options);
  void ReturnToCache(sqlite3_stmt* stmt);

  sqlite3* db_;
  std::string path_;
  ConnectionOptions options_;
  std::recursive_mutex mu_;
  // Idle cached statements, most recently returned first; when the cache is full the last one is
  // finalized to make room, so one-off SQL cannot crowd out the hot statements. GUARDED_BY(mu_)
  using IdleList = std::list<sqlite3_stmt*>;
  IdleList idle_;
  // sql text -> its idle statements (positions in idle_). GUARDED_BY(mu_)
  std::unordered_map<std::string, std::vector<IdleList::iterator>> cache_;
  std::unordered_map<sqlite3_stmt*, std::string> cache_key_;  // statements that belong to the cache
  RowCounters counters_;
};

}  // namespace dotdo::internal
