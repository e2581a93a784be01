// Read tracking for the tiering's last-access rule.
#include "document/document_reads.h"

#include <algorithm>

#include "core/database_internals.h"
#include "sqlite/connection.h"

namespace dotdo::internal {
namespace {

constexpr std::string_view kSinceKey = "document.reads_tracked_since";
constexpr std::string_view kReadsDdl =
    "CREATE TABLE IF NOT EXISTS doc_reads (id TEXT PRIMARY KEY NOT NULL, read_at INTEGER NOT NULL) "
    "STRICT, WITHOUT ROWID";

Result<int64_t> ReadSince(Connection& conn) {
  if (!conn.TableExists("meta")) return int64_t{0};
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT value FROM meta WHERE key = ?1"));
  st.Bind(1, kSinceKey);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return int64_t{0};
  const std::string text = st.ColumnString(0);
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || v <= 0)
    return DataLossError("meta '" + std::string(kSinceKey) + "' is not a positive integer: '" + text + "'");
  return static_cast<int64_t>(v);
}

// Runs `body` in a transaction of its own on the raw connection (no observers: it touches only
// doc_reads and meta).
template <typename Body>
Status InOwnTransaction(Connection& conn, Body body) {
  DOTDO_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
  Status st = body();
  if (st.ok()) st = conn.Exec("COMMIT");
  if (!st.ok() && conn.InTransaction()) (void)conn.Exec("ROLLBACK");
  return st;
}

}  // namespace

DocumentReadLog::~DocumentReadLog() {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  std::lock_guard<std::mutex> guard(mu_);
  if (!pending_.empty() && !conn.InTransaction()) (void)FlushLocked();
}

bool DocumentReadLog::TrackingLocked(int64_t now) {
  if (!checked_ || now - checked_at_ >= kRecheckMillis || now < checked_at_) {
    Connection& conn = DatabaseInternals::Conn(db_);
    auto since = ReadSince(conn);
    // Unreadable meta leaves tracking as it was; the next check tries again.
    if (since.ok()) tracked_since_ = *since;
    checked_ = true;
    checked_at_ = now;
  }
  return tracked_since_ > 0;
}

bool DocumentReadLog::Tracking() {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  std::lock_guard<std::mutex> guard(mu_);
  return !conn.read_only() && TrackingLocked(db_.NowMillis());
}

bool DocumentReadLog::Record(std::string_view id) {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  std::lock_guard<std::mutex> guard(mu_);
  const int64_t now = db_.NowMillis();
  if (conn.read_only() || !TrackingLocked(now)) return false;
  auto it = pending_.find(std::string(id));
  if (it != pending_.end()) {
    it->second = std::max(it->second, now);
  } else if (pending_.size() < kMaxPendingReads) {
    if (pending_.empty()) first_pending_at_ = now;
    pending_.emplace(std::string(id), now);
  } else {
    ++dropped_;
  }
  return DueLocked(now);
}

void DocumentReadLog::FlushIfDue() {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  std::lock_guard<std::mutex> guard(mu_);
  if (DueLocked(db_.NowMillis()) && !conn.InTransaction()) (void)FlushLocked();
}

Status DocumentReadLog::Flush() {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  std::lock_guard<std::mutex> guard(mu_);
  if (conn.InTransaction()) return FailedPreconditionError("reads are flushed outside a transaction");
  return FlushLocked();
}

Status DocumentReadLog::FlushLocked() {
  if (pending_.empty()) return OkStatus();
  Connection& conn = DatabaseInternals::Conn(db_);
  DOTDO_RETURN_IF_ERROR(InOwnTransaction(conn, [&]() -> Status {
    DOTDO_RETURN_IF_ERROR(conn.Exec(kReadsDdl));
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("INSERT INTO doc_reads (id, read_at) VALUES (?1, ?2) ON CONFLICT (id) "
                                                 "DO UPDATE SET read_at = max(read_at, excluded.read_at)"));
    for (const auto& [id, at] : pending_) {
      st.Reset();
      st.Bind(1, id).Bind(2, at);
      DOTDO_RETURN_IF_ERROR(st.Run());
    }
    return OkStatus();
  }));
  pending_.clear();
  return OkStatus();
}

Status DocumentReadLog::PruneGone() {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  if (conn.InTransaction()) return FailedPreconditionError("reads are pruned outside a transaction");
  if (!conn.TableExists("doc_reads")) return OkStatus();
  return conn.Exec("DELETE FROM doc_reads WHERE id NOT IN (SELECT id FROM doc_documents)");
}

Result<int64_t> DocumentReadLog::TrackedSince() {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  std::lock_guard<std::mutex> guard(mu_);
  DOTDO_ASSIGN_OR_RETURN(tracked_since_, ReadSince(conn));
  checked_ = true;
  checked_at_ = db_.NowMillis();
  return tracked_since_;
}

Result<int64_t> DocumentReadLog::Enable(int64_t now) {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  std::lock_guard<std::mutex> guard(mu_);
  if (conn.InTransaction()) return FailedPreconditionError("read tracking is turned on outside a transaction");
  DOTDO_ASSIGN_OR_RETURN(int64_t since, ReadSince(conn));
  if (since == 0) {
    since = std::max<int64_t>(now, 1);
    DOTDO_RETURN_IF_ERROR(InOwnTransaction(conn, [&]() -> Status {
      DOTDO_RETURN_IF_ERROR(conn.Exec(kReadsDdl));
      DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)"));
      st.Bind(1, kSinceKey).Bind(2, std::to_string(since));
      return st.Run();
    }));
    DOTDO_ASSIGN_OR_RETURN(since, ReadSince(conn));  // another process may have won the insert
  }
  tracked_since_ = since;
  checked_ = true;
  checked_at_ = db_.NowMillis();
  return since;
}

DocumentReadLog& ReadLogOf(Database& db) { return DatabaseInternals::Extension<DocumentReadLog>(db); }

}  // namespace dotdo::internal
