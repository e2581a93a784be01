// Database: open/validate namespaces, transactions with savepoints, stats, read-only SQL, schema
// versions in `meta`, and extension slots for upper layers.
//
// Invariants:
//   1. depth_ == 0 iff the connection is in autocommit mode (no transaction of ours is open).
//   2. Observers hear OnBegin/OnRelease/OnRollback for every level and OnCommit only after a
//      successful COMMIT of depth 1.
#include "dotdo/database.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <unordered_map>

#include "core/database_internals.h"
#include "core/mql_match.h"
#include "core/names.h"
#include "sqlite/read_only_query.h"
#include "dotdo/ulid.h"

namespace dotdo {

class Database::Impl {
 public:
  std::string ns;
  std::filesystem::path path;
  Clock* clock;
  std::unique_ptr<internal::Connection> conn;
  UlidGenerator ulids;
  int depth = 0;  // GUARDED_BY(conn->mu_)
  std::vector<internal::TransactionObserver*> observers;
  std::unordered_map<std::type_index, std::shared_ptr<void>> extensions;
  // Component -> transaction depth at which its schema was ensured (0 = committed). A rollback of
  // that depth forgets the entry, so tables a rolled-back transaction created are made again.
  std::map<std::string, int, std::less<>> ensured_schemas;  // GUARDED_BY(conn->mu_)
  int64_t stats_read_base = 0;
  int64_t stats_written_base = 0;
  // How the namespace was opened, for the read-only door's own connection.
  bool read_only = false;
  int busy_timeout_ms = 5000;
  int64_t page_cache_bytes = 0;
  std::string vfs;
  std::mutex reader_mu;
  // Declared after conn, so it closes first: the read-write connection, closing last, checkpoints
  // and removes the WAL.
  std::unique_ptr<internal::Connection> reader;  // GUARDED_BY(reader_mu), opened on first use

  Impl(std::string ns_in, std::filesystem::path path_in, Clock* clock_in, std::unique_ptr<internal::Connection> c,
       const DatabaseOptions& options)
      : ns(std::move(ns_in)), path(std::move(path_in)), clock(clock_in), conn(std::move(c)), ulids(clock),
        read_only(options.read_only), busy_timeout_ms(options.busy_timeout_ms),
        page_cache_bytes(options.page_cache_bytes), vfs(options.vfs) {}

  Result<internal::Connection*> Reader();
  int64_t RowsRead();
};

namespace {

constexpr std::string_view kMetaDdl =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT";

Result<std::unique_ptr<internal::Connection>> OpenConnection(const std::string& file, const DatabaseOptions& o) {
  internal::ConnectionOptions co;
  co.read_only = o.read_only;
  co.create = o.create_if_missing;
  co.busy_timeout_ms = o.busy_timeout_ms;
  co.statement_cache_capacity = o.statement_cache_capacity;
  co.full_sync = o.synchronous == Synchronous::kFull;
  co.vfs = o.vfs;
  co.page_cache_bytes = o.page_cache_bytes;
  DOTDO_ASSIGN_OR_RETURN(auto conn, internal::Connection::Open(file, co));
  if (!o.read_only) DOTDO_RETURN_IF_ERROR(conn->Exec(kMetaDdl));
  DOTDO_RETURN_IF_ERROR(internal::RegisterMatchFunctions(*conn));  // what compiled filters call
  return conn;
}

Status ValidateOptions(const DatabaseOptions& o) {
  if (o.page_cache_bytes < 0) return InvalidArgumentError("page_cache_bytes must be >= 0 (0 keeps SQLite's default)");
  if (o.busy_timeout_ms < 0) return InvalidArgumentError("busy_timeout_ms must be >= 0");
  return OkStatus();
}

}  // namespace

Status Database::ValidateNamespace(std::string_view ns) { return internal::ValidateNamespaceName(ns); }

Result<std::unique_ptr<Database>> Database::Open(const std::filesystem::path& data_dir, std::string_view ns,
                                                 DatabaseOptions options) {
  DOTDO_RETURN_IF_ERROR(ValidateNamespace(ns));
  DOTDO_RETURN_IF_ERROR(ValidateOptions(options));
  if (data_dir.empty()) return InvalidArgumentError("data directory is empty");
  std::error_code ec;
  if (!std::filesystem::exists(data_dir, ec)) {
    if (!options.create_if_missing || options.read_only)
      return NotFoundError("data directory '" + data_dir.string() + "' does not exist");
    std::filesystem::create_directories(data_dir, ec);
    if (ec) return PermissionDeniedError("cannot create data directory '" + data_dir.string() + "': " + ec.message());
  } else if (!std::filesystem::is_directory(data_dir, ec)) {
    return InvalidArgumentError("data path '" + data_dir.string() + "' is not a directory");
  }
  std::filesystem::path file = data_dir / (std::string(ns) + ".sqlite");
  if (!options.create_if_missing && !std::filesystem::exists(file, ec))
    return NotFoundError("namespace '" + std::string(ns) + "' does not exist in '" + data_dir.string() + "'");
  Clock* clock = options.clock ? options.clock : SystemClock::Default();
  DOTDO_ASSIGN_OR_RETURN(auto conn, OpenConnection(file.string(), options));
  return std::unique_ptr<Database>(new Database(std::make_unique<Impl>(std::string(ns), file, clock, std::move(conn), options)));
}

Result<std::unique_ptr<Database>> Database::OpenInMemory(std::string_view ns, DatabaseOptions options) {
  DOTDO_RETURN_IF_ERROR(ValidateNamespace(ns));
  DOTDO_RETURN_IF_ERROR(ValidateOptions(options));
  Clock* clock = options.clock ? options.clock : SystemClock::Default();
  options.read_only = false;
  DOTDO_ASSIGN_OR_RETURN(auto conn, OpenConnection(":memory:", options));
  return std::unique_ptr<Database>(new Database(std::make_unique<Impl>(std::string(ns), std::filesystem::path(), clock, std::move(conn), options)));
}

Result<std::vector<std::string>> Database::ListNamespaces(const std::filesystem::path& data_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(data_dir, ec)) return out;
  for (auto it = std::filesystem::directory_iterator(data_dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const std::string name = it->path().filename().string();
    constexpr std::string_view kExt = ".sqlite";
    if (name.size() <= kExt.size() || name.compare(name.size() - kExt.size(), kExt.size(), kExt) != 0) continue;
    std::string ns = name.substr(0, name.size() - kExt.size());
    if (ValidateNamespace(ns).ok()) out.push_back(std::move(ns));
  }
  if (ec) return UnavailableError("cannot list '" + data_dir.string() + "': " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

Database::Database(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Database::~Database() {
  // Drop extensions (which may hold statements or observers) before the connection closes.
  auto lock = impl_->conn->Lock();
  impl_->extensions.clear();
}

namespace {
// Transaction-control statements go through the statement cache: parsing BEGIN/COMMIT on every small
// transaction is measurable next to a one-row insert.
Status RunCached(internal::Connection& conn, const std::string& sql) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(sql));
  return st.Run();
}
}  // namespace

Status Database::Transaction(const std::function<Status()>& fn) {
  static const std::string kBegin = "BEGIN IMMEDIATE", kCommit = "COMMIT", kRollback = "ROLLBACK";
  auto lock = impl_->conn->Lock();
  Impl& im = *impl_;
  const int depth = im.depth + 1;
  const std::string savepoint = "dotdo_sp" + std::to_string(depth);
  if (depth == 1) {
    DOTDO_RETURN_IF_ERROR(RunCached(*im.conn, kBegin));
  } else {
    DOTDO_RETURN_IF_ERROR(RunCached(*im.conn, "SAVEPOINT " + savepoint));
  }
  im.depth = depth;
  for (auto* o : im.observers) o->OnBegin(depth);

  Status st;
  try {
    st = fn();
  } catch (const std::exception& e) {
    st = InternalError(std::string("exception escaped the transaction body: ") + e.what());
  } catch (...) {
    st = InternalError("unknown exception escaped the transaction body");
  }

  auto rollback = [&](Status why) {
    if (depth == 1) {
      RunCached(*im.conn, kRollback).IgnoreError();
    } else {
      RunCached(*im.conn, "ROLLBACK TO " + savepoint).IgnoreError();
      RunCached(*im.conn, "RELEASE " + savepoint).IgnoreError();
    }
    im.depth = depth - 1;
    std::erase_if(im.ensured_schemas, [&](const auto& e) { return e.second >= depth; });
    for (auto* o : im.observers) o->OnRollback(depth);
    return why;
  };

  if (!st.ok()) return rollback(st);
  if (depth == 1) {
    Status c = RunCached(*im.conn, kCommit);
    if (!c.ok()) return rollback(c.WithContext("commit failed"));
    im.depth = 0;
    for (auto& e : im.ensured_schemas) e.second = 0;
    for (auto* o : im.observers) o->OnCommit();
  } else {
    Status r = RunCached(*im.conn, "RELEASE " + savepoint);
    if (!r.ok()) return rollback(r);
    im.depth = depth - 1;
    for (auto& e : im.ensured_schemas) e.second = std::min(e.second, depth - 1);
    for (auto* o : im.observers) o->OnRelease(depth);
  }
  return OkStatus();
}

bool Database::InTransaction() const {
  auto lock = impl_->conn->Lock();
  return impl_->depth > 0;
}

// The read-only door runs on a connection of its own (read-only at the SQLite level) for file
// namespaces; a private in-memory database has only the one connection.
Result<internal::Connection*> Database::Impl::Reader() {
  std::lock_guard<std::mutex> guard(reader_mu);
  if (path.empty() || read_only) return conn.get();
  if (!reader) {
    internal::ConnectionOptions co;
    co.read_only = true;
    co.create = false;
    co.busy_timeout_ms = busy_timeout_ms;
    co.statement_cache_capacity = 0;
    co.page_cache_bytes = page_cache_bytes;
    co.vfs = vfs;
    DOTDO_ASSIGN_OR_RETURN(reader, internal::Connection::Open(path.string(), co));
  }
  return reader.get();
}

Result<Json> Database::QueryReadOnly(std::string_view sql, const std::vector<Json>& params,
                                     const ReadOnlyQueryOptions& limits) {
  DOTDO_ASSIGN_OR_RETURN(internal::Connection * reader, impl_->Reader());
  return internal::RunReadOnlyQuery(*reader, sql, params,
                                    {.max_rows = limits.max_rows,
                                     .max_result_bytes = limits.max_result_bytes,
                                     .timeout_ms = limits.timeout_ms});
}

int64_t Database::Impl::RowsRead() {
  std::lock_guard<std::mutex> guard(reader_mu);
  return conn->counters().rows_read.load() + (reader ? reader->counters().rows_read.load() : 0);
}

DatabaseStats Database::stats() const {
  return {impl_->RowsRead() - impl_->stats_read_base,
          impl_->conn->counters().rows_written.load() - impl_->stats_written_base};
}

void Database::ResetStats() {
  auto lock = impl_->conn->Lock();
  impl_->stats_read_base = impl_->RowsRead();
  impl_->stats_written_base = impl_->conn->counters().rows_written.load();
}

const std::string& Database::ns() const { return impl_->ns; }
const std::filesystem::path& Database::path() const { return impl_->path; }
Clock& Database::clock() { return *impl_->clock; }
int64_t Database::NowMillis() { return impl_->clock->NowMillis(); }
std::string Database::NewId() { return impl_->ulids.Next(); }

namespace internal {

Connection& DatabaseInternals::Conn(Database& db) { return *db.impl_->conn; }

void DatabaseInternals::AddObserver(Database& db, TransactionObserver* observer) {
  auto lock = db.impl_->conn->Lock();
  db.impl_->observers.push_back(observer);
}

void DatabaseInternals::RemoveObserver(Database& db, TransactionObserver* observer) {
  auto lock = db.impl_->conn->Lock();
  auto& v = db.impl_->observers;
  v.erase(std::remove(v.begin(), v.end(), observer), v.end());
}

std::shared_ptr<void>& DatabaseInternals::ExtensionSlot(Database& db, std::type_index type) {
  // REQUIRES (Extension): the connection lock is held across lookup and creation. The slot map only
  // grows while the Database lives, so the reference stays valid.
  return db.impl_->extensions[type];
}

bool DatabaseInternals::SchemaEnsured(Database& db, std::string_view component) {
  auto lock = db.impl_->conn->Lock();
  return db.impl_->ensured_schemas.find(component) != db.impl_->ensured_schemas.end();
}

Result<int64_t> DatabaseInternals::SchemaVersion(Database& db, std::string_view component) {
  auto lock = db.impl_->conn->Lock();
  Database::Impl& im = *db.impl_;
  {
    DOTDO_ASSIGN_OR_RETURN(auto probe, im.conn->Prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'"));
    DOTDO_ASSIGN_OR_RETURN(bool has_meta, probe.Step());
    if (!has_meta) return int64_t{0};
  }
  DOTDO_ASSIGN_OR_RETURN(auto st, im.conn->Prepare("SELECT value FROM meta WHERE key = ?1"));
  st.Bind(1, "schema." + std::string(component));
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? std::stoll(std::string(st.ColumnText(0))) : int64_t{0};
}

Status DatabaseInternals::EnsureSchema(Database& db, std::string_view component,
                                       std::span<const std::string_view> migrations) {
  auto lock = db.impl_->conn->Lock();
  Database::Impl& im = *db.impl_;
  if (im.ensured_schemas.find(component) != im.ensured_schemas.end()) return OkStatus();
  const std::string key = "schema." + std::string(component);
  auto read_version = [&]() -> Result<int64_t> {
    DOTDO_ASSIGN_OR_RETURN(auto st, im.conn->Prepare("SELECT value FROM meta WHERE key = ?1"));
    st.Bind(1, key);
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    return row ? std::stoll(std::string(st.ColumnText(0))) : 0;
  };
  DOTDO_ASSIGN_OR_RETURN(int64_t version, read_version());
  const auto target = static_cast<int64_t>(migrations.size());
  if (version > target)
    return FailedPreconditionError("the " + std::string(component) + " tables are at schema version " +
                                   std::to_string(version) + " but this build knows only up to " +
                                   std::to_string(target) + ": upgrade dotdo");
  if (version < target) {
    DOTDO_RETURN_IF_ERROR(db.Transaction([&]() -> Status {
      DOTDO_ASSIGN_OR_RETURN(int64_t v, read_version());  // re-read under the write lock
      for (; v < target; ++v) {
        DOTDO_RETURN_IF_ERROR(im.conn->Exec(migrations[static_cast<size_t>(v)])
                                  .WithContext("migrating " + std::string(component) + " to v" + std::to_string(v + 1)));
      }
      DOTDO_ASSIGN_OR_RETURN(auto up, im.conn->Prepare(
                                          "INSERT INTO meta(key, value) VALUES (?1, ?2) "
                                          "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
      up.BindAll(key, std::to_string(target));
      return up.Run();
    }));
  }
  im.ensured_schemas.emplace(std::string(component), im.depth);
  return OkStatus();
}

}  // namespace internal
}  // namespace dotdo
