// Snapshots: a full copy of the store's tables (series, blocks, rollups, retention) into the
// ts_snapshot_* tables under a ULID, and the atomic restore that replaces the live tables by it.
#include <array>
#include <cctype>

#include "cdc/outbox.h"
#include "timeseries/timeseries_internal.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;

namespace {

constexpr std::string_view kSnapshotsTable = "snapshots";
constexpr std::string_view kSeriesCols = "id, key, tags, created_at";
constexpr std::string_view kBlockCols = "series_id, start_ts, end_ts, count, min, max, sum, first, last, data";
constexpr std::string_view kRollupCols =
    "series_id, bucket_start, bucket_ms, count, sum, min, max, first, first_ts, last, last_ts, sketch";
constexpr std::string_view kRetentionCols = "key, retention_ms, updated_at";

// (live table, snapshot table, columns)
struct CopiedTable {
  std::string_view live, copy, columns;
};
constexpr std::array<CopiedTable, 4> kTables = {{{"ts_series", "ts_snapshot_series", kSeriesCols},
                                                  {"ts_blocks", "ts_snapshot_blocks", kBlockCols},
                                                  {"ts_rollups", "ts_snapshot_rollups", kRollupCols},
                                                  {"ts_retention", "ts_snapshot_retention", kRetentionCols}}};

Status Exec(Connection& conn, const std::string& sql, std::string_view id) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(sql));
  if (!id.empty()) st.Bind(1, id);
  return st.Run();
}

Result<std::optional<TimeSeriesSnapshot>> FindSnapshot(Connection& conn, std::string_view id) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT id, created_at, series, points FROM ts_snapshots WHERE id = ?1"));
  st.Bind(1, id);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<TimeSeriesSnapshot>();
  return std::optional<TimeSeriesSnapshot>(TimeSeriesSnapshot{st.ColumnString(0), st.ColumnInt64(1), st.ColumnInt64(2), st.ColumnInt64(3)});
}

Json SnapshotImage(const TimeSeriesSnapshot& s) {
  return Json{{"id", s.id}, {"created_at", s.created_at}, {"series", s.series}, {"points", s.points}};
}

Status CheckId(std::string_view id) {
  if (id.empty() || id.size() > 64) return InvalidArgumentError("snapshot id must be 1..64 characters");
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c))) return InvalidArgumentError("snapshot id must be alphanumeric (a ULID)");
  return OkStatus();
}

Status Missing(std::string_view id) { return NotFoundError("no time-series snapshot '" + std::string(id) + "'"); }

}  // namespace

Result<TimeSeriesSnapshot> TimeSeriesStore::CreateSnapshot() {
  TimeSeriesSnapshot snap;
  Status st = db_.Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(internal::TimeSeriesState::Of(db_).status());
    DOTDO_ASSIGN_OR_RETURN(internal::Outbox * outbox, internal::Outbox::Of(db_));
    Connection& conn = DatabaseInternals::Conn(db_);
    snap = {db_.NewId(), db_.NowMillis(), 0, 0};
    DOTDO_ASSIGN_OR_RETURN(auto count, conn.Prepare("SELECT (SELECT COUNT(*) FROM ts_series), (SELECT COALESCE(SUM(count), 0) FROM ts_blocks)"));
    DOTDO_ASSIGN_OR_RETURN(bool row, count.Step());
    if (row) snap.series = count.ColumnInt64(0), snap.points = count.ColumnInt64(1);
    count = internal::Statement();
    for (const CopiedTable& t : kTables)
      DOTDO_RETURN_IF_ERROR(Exec(conn, "INSERT INTO " + std::string(t.copy) + "(snapshot_id, " + std::string(t.columns) +
                                           ") SELECT ?1, " + std::string(t.columns) + " FROM " + std::string(t.live), snap.id));
    DOTDO_ASSIGN_OR_RETURN(auto ins, conn.Prepare("INSERT INTO ts_snapshots(id, created_at, series, points) VALUES (?1, ?2, ?3, ?4)"));
    ins.BindAll(snap.id, snap.created_at, snap.series, snap.points);
    DOTDO_RETURN_IF_ERROR(ins.Run());
    return outbox->AppendChange(ChangeOp::kInsert, internal::kTimeSeriesSpec.name, kSnapshotsTable, snap.id, std::nullopt,
                                SnapshotImage(snap));
  });
  DOTDO_RETURN_IF_ERROR(st);
  return snap;
}

Status TimeSeriesStore::RestoreSnapshot(std::string_view id) {
  DOTDO_RETURN_IF_ERROR(CheckId(id));
  return db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(internal::TimeSeriesState * state, internal::TimeSeriesState::Of(db_));
    DOTDO_ASSIGN_OR_RETURN(internal::Outbox * outbox, internal::Outbox::Of(db_));
    Connection& conn = DatabaseInternals::Conn(db_);
    DOTDO_ASSIGN_OR_RETURN(auto snap, FindSnapshot(conn, id));
    if (!snap) return Missing(id);
    for (const CopiedTable& t : kTables) {
      DOTDO_RETURN_IF_ERROR(Exec(conn, "DELETE FROM " + std::string(t.live), {}));
      DOTDO_RETURN_IF_ERROR(Exec(conn, "INSERT INTO " + std::string(t.live) + "(" + std::string(t.columns) + ") SELECT " +
                                           std::string(t.columns) + " FROM " + std::string(t.copy) + " WHERE snapshot_id = ?1",
                                 id));
    }
    state->Reset();  // a rollback of this transaction resets the caches again
    Json after = SnapshotImage(*snap);
    after["restored"] = true;
    return outbox->AppendChange(ChangeOp::kUpdate, internal::kTimeSeriesSpec.name, kSnapshotsTable, snap->id,
                                SnapshotImage(*snap), after);
  });
}

Result<std::vector<TimeSeriesSnapshot>> TimeSeriesStore::ListSnapshots() {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(internal::TimeSeriesState * state, internal::TimeSeriesState::ForRead(db_));
  if (state == nullptr) return std::vector<TimeSeriesSnapshot>();
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT id, created_at, series, points FROM ts_snapshots ORDER BY id"));
  std::vector<TimeSeriesSnapshot> out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({st.ColumnString(0), st.ColumnInt64(1), st.ColumnInt64(2), st.ColumnInt64(3)});
  }
  return out;
}

Status TimeSeriesStore::DeleteSnapshot(std::string_view id) {
  DOTDO_RETURN_IF_ERROR(CheckId(id));
  return db_.Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(internal::TimeSeriesState::Of(db_).status());
    DOTDO_ASSIGN_OR_RETURN(internal::Outbox * outbox, internal::Outbox::Of(db_));
    Connection& conn = DatabaseInternals::Conn(db_);
    DOTDO_ASSIGN_OR_RETURN(auto snap, FindSnapshot(conn, id));
    if (!snap) return Missing(id);
    for (const CopiedTable& t : kTables)
      DOTDO_RETURN_IF_ERROR(Exec(conn, "DELETE FROM " + std::string(t.copy) + " WHERE snapshot_id = ?1", id));
    DOTDO_RETURN_IF_ERROR(Exec(conn, "DELETE FROM ts_snapshots WHERE id = ?1", id));
    return outbox->AppendChange(ChangeOp::kDelete, internal::kTimeSeriesSpec.name, kSnapshotsTable, snap->id,
                                SnapshotImage(*snap), std::nullopt);
  });
}

}  // namespace dotdo
