// Database: one namespace = one SQLite file (`<data-dir>/<ns>.sqlite`), the unit every dotdo store
// and processing primitive is bound to. It owns the connection (WAL, busy timeout, prepared-statement
// cache), runs transactions (nested calls become savepoints), carries the injected clock and the id
// generator, and counts rows read and written (the per-row billing model).
//
// Thread-safety: a Database may be shared between threads; calls serialize on an internal mutex
// (a namespace is single-writer, like a Durable Object). A Transaction holds that mutex for its
// whole duration. Ownership: stores bound to a Database hold a reference; the Database must outlive
// them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dotdo/clock.h"
#include "dotdo/export.h"
#include "dotdo/status.h"

namespace dotdo {

using Json = nlohmann::json;

namespace internal {
struct DatabaseInternals;
}

// When an acknowledged commit is durable (survives power loss; see docs/architecture.md,
// "Durability"). The database always runs in WAL mode.
enum class Synchronous {
  // The WAL is synced only at checkpoints: a crash of the process loses nothing, a power loss may
  // lose the most recent commits (never part of one, and never leaving the file corrupt).
  kNormal,
  // The WAL is synced at every commit: every acknowledged commit survives power loss.
  kFull,
};

struct DatabaseOptions {
  // Time source for timestamps, ids, history and retention. Default: SystemClock::Default().
  // REQUIRES: outlives the Database.
  Clock* clock = nullptr;
  // How long a writer waits for a lock held by another connection before kUnavailable. Default 5000.
  int busy_timeout_ms = 5000;
  // Prepared statements kept per connection. Default 256.
  size_t statement_cache_capacity = 256;
  // Create the file when it does not exist. Default true; when false a missing namespace is kNotFound.
  bool create_if_missing = true;
  // Open without write access (for inspection tools and second-process readers). Default false.
  bool read_only = false;
  // Durability of acknowledged commits (PRAGMA synchronous). Default kNormal.
  Synchronous synchronous = Synchronous::kNormal;
  // Name of a registered SQLite VFS to open the file through (tests use the fault-injecting
  // "dotdo-fault"). Default empty: SQLite's default VFS. An unknown name is kInvalidArgument.
  std::string vfs;
  // Upper bound of the namespace's page cache, in bytes (SQLite's cache_size). Pages are cached as
  // they are read, so memory grows only with the working set, up to this bound. Default 64 MiB
  // (SQLite's own default is 2 MB, which a namespace of a few hundred MB of columns, vectors or
  // documents defeats on every read). Must be >= 0; 0 keeps SQLite's default.
  int64_t page_cache_bytes = int64_t{64} << 20;
};

// Bounds on one Database::QueryReadOnly call.
struct ReadOnlyQueryOptions {
  // A result of more rows is kResourceExhausted. Default 10000.
  int64_t max_rows = 10000;
  // A result of more bytes (values and column names) is kResourceExhausted. Default 64 MiB.
  int64_t max_result_bytes = int64_t{64} << 20;
  // A statement still running after this long ends with kDeadlineExceeded. Default 5000.
  int64_t timeout_ms = 5000;
};

// Rows read (visited by query plans) and rows written (changed) since open or the last reset.
struct DatabaseStats {
  int64_t rows_read = 0;
  int64_t rows_written = 0;
};

class DOTDO_EXPORT Database {
 public:
  // Opens (creating when allowed) the namespace `ns` under `data_dir`.
  // Namespace names match [A-Za-z0-9._-]{1,128} without a leading dot; others are kInvalidArgument,
  // so a name can never escape the data directory.
  static Result<std::unique_ptr<Database>> Open(const std::filesystem::path& data_dir, std::string_view ns,
                                                DatabaseOptions options = {});
  // A private in-memory namespace, for tests and scratch work.
  static Result<std::unique_ptr<Database>> OpenInMemory(std::string_view ns = "memory",
                                                        DatabaseOptions options = {});
  // Names of the namespaces present in data_dir, sorted.
  static Result<std::vector<std::string>> ListNamespaces(const std::filesystem::path& data_dir);
  // Namespace names match [A-Za-z0-9_-][A-Za-z0-9._-]{0,127} (no leading dot: they name files).
  static Status ValidateNamespace(std::string_view ns);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs fn in one SQLite transaction (a savepoint when already inside one). A non-OK status from fn,
  // or an exception escaping it, rolls back everything fn did and is returned. Change events written
  // inside reach subscribers only after the outermost commit.
  Status Transaction(const std::function<Status()>& fn);
  bool InTransaction() const;

  // Runs one read-only SQL statement (SELECT, EXPLAIN, a reporting PRAGMA) and returns its rows as an
  // array of objects. Parameters bind to ?1..?n. Reads only, enforced by SQLite: an authorizer that
  // allows reading actions alone, so writes, ATTACH, transactions, savepoints and setting pragmas are
  // kInvalidArgument; file namespaces run it on a separate read-only connection, which sees
  // committed data only (not the caller's open transaction). Bounded by `limits`.
  Result<Json> QueryReadOnly(std::string_view sql, const std::vector<Json>& params = {},
                             const ReadOnlyQueryOptions& limits = {});

  DatabaseStats stats() const;
  void ResetStats();

  const std::string& ns() const;
  // Empty for in-memory databases.
  const std::filesystem::path& path() const;
  Clock& clock();
  int64_t NowMillis();
  // A new ULID, strictly increasing within this Database.
  std::string NewId();

 private:
  friend struct internal::DatabaseInternals;
  class Impl;
  explicit Database(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dotdo
