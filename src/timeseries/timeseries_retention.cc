// Retention and compaction: per-store and per-key retention (ts_retention), Prune (expired points
// of every series, or of the written ones inside a write when prune_on_write is set) and Compact
// (the newest N points per series). Whole blocks below the cutoff are deleted without decoding;
// only the one block holding the cutoff is decoded and rewritten.
#include <functional>

#include "cdc/outbox.h"
#include "timeseries/timeseries_internal.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;
using internal::TimeSeriesState;

namespace internal {

Result<int64_t> RemoveBefore(Connection& conn, TimeSeriesState& state, int64_t series, int64_t cutoff,
                             const TimeSeriesOptions& options) {
  int64_t removed = 0;
  {
    // Blocks wholly below the cutoff: their count is known without decoding.
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT COALESCE(SUM(count), 0) FROM ts_blocks WHERE series_id = ?1 "
                                                 "AND start_ts < ?2 AND end_ts < ?2"));
    st.BindAll(series, cutoff);
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    removed = row ? st.ColumnInt64(0) : 0;
  }
  if (removed > 0) {
    DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM ts_blocks WHERE series_id = ?1 AND start_ts < ?2 AND end_ts < ?2"));
    del.BindAll(series, cutoff);
    DOTDO_RETURN_IF_ERROR(del.Run());
  }
  // At most one block straddles the cutoff (invariant 1).
  DOTDO_ASSIGN_OR_RETURN(auto block, FloorBlock(conn, series, cutoff - 1, true));
  if (block && block->start_ts < cutoff && block->end_ts >= cutoff) {
    std::vector<TimeSample> samples;
    DOTDO_RETURN_IF_ERROR(DecodeBlock(block->data, block->count, samples));
    auto keep = std::lower_bound(samples.begin(), samples.end(), cutoff, [](const TimeSample& s, int64_t t) { return s.ts < t; });
    removed += keep - samples.begin();
    DOTDO_RETURN_IF_ERROR(RewriteBlock(conn, series, block->rowid, std::span<const TimeSample>(&*keep, samples.end() - keep), options));
  }
  if (removed > 0) {
    state.DropTail(series);
    state.SeriesWritten(series);
  }
  return removed;
}

Result<std::optional<int64_t>> RetentionOf(Connection& conn, std::string_view key, const TimeSeriesOptions& options) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT retention_ms FROM ts_retention WHERE key = ?1"));
  st.Bind(1, key);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (row) return std::optional<int64_t>(st.ColumnInt64(0));
  return options.retention_ms;
}

Status AppendPruneEvent(Database& db, const SeriesRow& s, int64_t removed, int64_t cutoff) {
  DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db));
  return outbox->AppendChange(ChangeOp::kDelete, kTimeSeriesSpec.name, kPointsTable, SeriesLabel(s.info.key, s.info.tags),
                              Json{{"key", s.info.key}, {"tags", s.info.tags}, {"count", removed}, {"before", cutoff}},
                              std::nullopt);
}

Status PruneWrittenSeries(Database& db, TimeSeriesState& state, int64_t series, std::string_view key,
                          const TimeSeriesTags& tags, const TimeSeriesOptions& options) {
  if (!options.prune_on_write) return OkStatus();
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(auto retention, RetentionOf(conn, key, options));
  if (!retention) return OkStatus();
  const int64_t cutoff = db.NowMillis() - *retention;
  DOTDO_ASSIGN_OR_RETURN(int64_t removed, RemoveBefore(conn, state, series, cutoff, options));
  if (removed == 0) return OkStatus();
  return AppendPruneEvent(db, SeriesRow{series, {std::string(key), tags}}, removed, cutoff);
}

}  // namespace internal


Status TimeSeriesStore::SetRetention(std::string_view key, std::optional<int64_t> retention_ms) {
  DOTDO_RETURN_IF_ERROR(ValidateSeriesKey(key));
  if (retention_ms && *retention_ms <= 0)
    return InvalidArgumentError("retention must be greater than zero, got " + std::to_string(*retention_ms) + " ms");
  return db_.Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(TimeSeriesState::Of(db_).status());
    DOTDO_ASSIGN_OR_RETURN(internal::Outbox * outbox, internal::Outbox::Of(db_));
    Connection& conn = DatabaseInternals::Conn(db_);
    DOTDO_ASSIGN_OR_RETURN(auto sel, conn.Prepare("SELECT retention_ms FROM ts_retention WHERE key = ?1"));
    sel.Bind(1, key);
    DOTDO_ASSIGN_OR_RETURN(bool had, sel.Step());
    std::optional<Json> before;
    if (had) before = Json{{"key", key}, {"retention_ms", sel.ColumnInt64(0)}};
    sel = internal::Statement();
    if (!retention_ms) {
      if (!had) return OkStatus();
      DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM ts_retention WHERE key = ?1"));
      del.Bind(1, key);
      DOTDO_RETURN_IF_ERROR(del.Run());
      return outbox->AppendChange(ChangeOp::kDelete, internal::kTimeSeriesSpec.name, "retention", key, before, std::nullopt);
    }
    DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare("INSERT INTO ts_retention(key, retention_ms, updated_at) VALUES (?1, ?2, ?3) "
                                                 "ON CONFLICT(key) DO UPDATE SET retention_ms = ?2, updated_at = ?3"));
    up.BindAll(key, *retention_ms, db_.NowMillis());
    DOTDO_RETURN_IF_ERROR(up.Run());
    return outbox->AppendChange(had ? ChangeOp::kUpdate : ChangeOp::kInsert, internal::kTimeSeriesSpec.name, "retention", key,
                                before, Json{{"key", key}, {"retention_ms", *retention_ms}});
  });
}

Result<std::optional<int64_t>> TimeSeriesStore::GetRetention(std::string_view key) {
  DOTDO_RETURN_IF_ERROR(ValidateSeriesKey(key));
  auto lock = DatabaseInternals::Conn(db_).Lock();
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesState * state, TimeSeriesState::ForRead(db_));
  if (state == nullptr) return options_.retention_ms;
  return internal::RetentionOf(DatabaseInternals::Conn(db_), key, options_);
}

namespace {

// For every series: cutoff_of(series) (nullopt: leave it), RemoveBefore and the event — all in one
// transaction.
using CutoffFn = std::function<Result<std::optional<int64_t>>(Connection&, const internal::SeriesRow&)>;
Result<TimeSeriesPruneResult> RemoveFromEverySeries(Database& db, const TimeSeriesOptions& options, const CutoffFn& cutoff_of) {
  TimeSeriesPruneResult result;
  Status st = db.Transaction([&]() -> Status {
    result = {};
    DOTDO_ASSIGN_OR_RETURN(TimeSeriesState * state, TimeSeriesState::Of(db));
    Connection& conn = DatabaseInternals::Conn(db);
    DOTDO_ASSIGN_OR_RETURN(auto series, internal::AllSeries(db));
    for (const internal::SeriesRow& s : series) {
      DOTDO_ASSIGN_OR_RETURN(std::optional<int64_t> cutoff, cutoff_of(conn, s));
      if (!cutoff) continue;
      DOTDO_ASSIGN_OR_RETURN(int64_t removed, internal::RemoveBefore(conn, *state, s.id, *cutoff, options));
      if (removed == 0) continue;
      result.points_removed += removed;
      ++result.series_pruned;
      DOTDO_RETURN_IF_ERROR(internal::AppendPruneEvent(db, s, removed, *cutoff));
    }
    return OkStatus();
  });
  DOTDO_RETURN_IF_ERROR(st);
  return result;
}

}  // namespace

Result<TimeSeriesPruneResult> TimeSeriesStore::Prune() {
  DOTDO_RETURN_IF_ERROR(internal::ValidateOptions(options_));
  const int64_t now = db_.NowMillis();
  std::map<std::string, std::optional<int64_t>> retention;  // per key
  return RemoveFromEverySeries(db_, options_, [&](Connection& conn, const internal::SeriesRow& s) -> Result<std::optional<int64_t>> {
    auto it = retention.find(s.info.key);
    if (it == retention.end()) {
      DOTDO_ASSIGN_OR_RETURN(auto r, internal::RetentionOf(conn, s.info.key, options_));
      it = retention.emplace(s.info.key, r).first;
    }
    if (!it->second) return std::optional<int64_t>();
    return std::optional<int64_t>(now - *it->second);
  });
}

Result<TimeSeriesPruneResult> TimeSeriesStore::Compact(const TimeSeriesCompactOptions& o) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateOptions(options_));
  if (o.max_versions_per_key < 1)
    return InvalidArgumentError("max_versions_per_key must be at least 1, got " + std::to_string(o.max_versions_per_key));
  return RemoveFromEverySeries(db_, options_, [&](Connection& conn, const internal::SeriesRow& s) -> Result<std::optional<int64_t>> {
    // Newest blocks first until they hold max_versions_per_key points; the cutoff is the ts of the
    // oldest point to keep.
    DOTDO_ASSIGN_OR_RETURN(auto blocks, conn.Prepare("SELECT " + std::string(internal::kBlockColumns) +
                                                     " FROM ts_blocks WHERE series_id = ?1 ORDER BY start_ts DESC"));
    blocks.Bind(1, s.id);
    int64_t seen = 0;
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, blocks.Step());
      if (!row) return std::optional<int64_t>();
      const internal::BlockRow b = internal::BlockFromRow(blocks, true);
      if (seen + b.count < o.max_versions_per_key) {
        seen += b.count;
        continue;
      }
      std::vector<TimeSample> samples;
      DOTDO_RETURN_IF_ERROR(internal::DecodeBlock(b.data, b.count, samples));
      return std::optional<int64_t>(samples[static_cast<size_t>(b.count - (o.max_versions_per_key - seen))].ts);
    }
  });
}

}  // namespace dotdo
