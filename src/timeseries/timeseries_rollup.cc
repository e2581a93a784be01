// Rollup: raw points older than a bucket-aligned cutoff become one ts_rollups row per bucket
// (count/sum/min/max/first/last, plus a DDSketch when percentiles are asked for); earlier finer
// rollup rows and late raw points of those buckets are folded in, so rollup rows never overlap.
#include "cdc/outbox.h"
#include "timeseries/timeseries_internal.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;
using internal::RollupRow;

namespace internal {

void RollupRow::Add(int64_t ts, double v) {
  if (count == 0 || ts < first_ts) first = v, first_ts = ts;
  if (count == 0 || ts > last_ts) last = v, last_ts = ts;
  if (count == 0) min = max = v;
  min = std::min(min, v);
  max = std::max(max, v);
  sum += v;
  ++count;
  if (sketch) sketch->Add(v);
}

void RollupRow::Merge(const RollupRow& o) {
  if (count == 0) {
    const int64_t start = bucket_start, width = bucket_ms;
    const bool keep_sketch = sketch.has_value();
    *this = o;
    bucket_start = start;
    bucket_ms = width;
    if (!keep_sketch) sketch.reset();
    return;
  }
  if (o.first_ts < first_ts) first = o.first, first_ts = o.first_ts;
  if (o.last_ts > last_ts) last = o.last, last_ts = o.last_ts;
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  sum += o.sum;
  count += o.count;
  if (sketch && o.sketch) sketch->Merge(*o.sketch);
  else sketch.reset();
}

Status ForEachRollup(Connection& conn, int64_t series, int64_t start, int64_t end,
                     const std::function<Status(RollupRow&)>& fn) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
      "SELECT bucket_start, bucket_ms, count, sum, min, max, first, first_ts, last, last_ts, sketch FROM ts_rollups "
      "WHERE series_id = ?1 AND bucket_start >= ?2 AND bucket_start < ?3 ORDER BY bucket_start"));
  st.BindAll(series, start, end);
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    RollupRow r{st.ColumnInt64(0), st.ColumnInt64(1), st.ColumnInt64(2), st.ColumnDouble(3), st.ColumnDouble(4),
                st.ColumnDouble(5), st.ColumnDouble(6), st.ColumnDouble(8), st.ColumnInt64(7), st.ColumnInt64(9), std::nullopt};
    if (!st.IsNull(10)) {
      DOTDO_ASSIGN_OR_RETURN(DDSketch sk, DDSketch::Deserialize(st.ColumnBlob(10)));
      r.sketch = std::move(sk);
    }
    DOTDO_RETURN_IF_ERROR(fn(r));
  }
  return OkStatus();
}

}  // namespace internal

namespace {

struct SeriesRollup {
  int64_t points = 0, buckets = 0, first_bucket = 0;
};

// Rolls one series up to `cutoff`.
Result<SeriesRollup> RollupSeries(Connection& conn, internal::TimeSeriesState& state, int64_t series,
                                                 int64_t cutoff, int64_t width, bool sketch, const TimeSeriesOptions& options) {
  std::map<int64_t, RollupRow> buckets;
  const auto bucket = [&](int64_t start) -> RollupRow& {
    auto [it, fresh] = buckets.try_emplace(start);
    if (fresh) {
      it->second.bucket_start = start;
      it->second.bucket_ms = width;
      if (sketch) it->second.sketch.emplace();
    }
    return it->second;
  };
  int64_t points = 0;
  std::vector<TimeSample> samples;
  DOTDO_RETURN_IF_ERROR(internal::ForEachBlock(conn, series, kMinTimestampMs, cutoff, [&](internal::BlockRow b) -> Result<bool> {
    samples.clear();
    DOTDO_RETURN_IF_ERROR(internal::DecodeBlock(b.data, b.count, samples));
    for (const TimeSample& s : samples) {
      if (s.ts >= cutoff) return false;
      bucket(s.ts - s.ts % width).Add(s.ts, s.value);
      ++points;
    }
    return true;
  }));
  // Earlier rollup rows below the cutoff: finer ones are folded, equal ones merged where raw points
  // arrived late, coarser ones cannot be split.
  std::vector<std::pair<int64_t, int64_t>> folded;  // (bucket_start, bucket_ms) rows to delete
  DOTDO_RETURN_IF_ERROR(internal::ForEachRollup(conn, series, kMinTimestampMs, cutoff, [&](RollupRow& r) -> Status {
    if (r.bucket_ms > width || width % r.bucket_ms != 0)
      return FailedPreconditionError("series holds rollups of " + std::to_string(r.bucket_ms) + " ms buckets; a rollup to " +
                                     std::to_string(width) + " ms buckets must use a multiple of that width");
    const int64_t start = r.bucket_start - r.bucket_start % width;
    if (r.bucket_ms == width && !buckets.count(start)) return OkStatus();
    if (sketch && !r.sketch)
      return FailedPreconditionError("earlier rollups of this series kept no quantile sketch; percentiles cannot be rolled up");
    bucket(start).Merge(r);
    folded.emplace_back(r.bucket_start, r.bucket_ms);
    return OkStatus();
  }));
  if (buckets.empty()) return SeriesRollup{};
  for (const auto& [start, w] : folded) {
    DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM ts_rollups WHERE series_id = ?1 AND bucket_start = ?2 AND bucket_ms = ?3"));
    del.BindAll(series, start, w);
    DOTDO_RETURN_IF_ERROR(del.Run());
  }
  for (const auto& [start, r] : buckets) {
    DOTDO_ASSIGN_OR_RETURN(auto ins, conn.Prepare(
        "INSERT INTO ts_rollups(series_id, bucket_start, bucket_ms, count, sum, min, max, first, first_ts, last, last_ts, sketch) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
    ins.BindAll(series, start, width, r.count, r.sum, r.min, r.max, r.first, r.first_ts, r.last, r.last_ts);
    if (r.sketch) ins.BindBlob(12, r.sketch->Serialize());
    else ins.BindNull(12);
    DOTDO_RETURN_IF_ERROR(ins.Run());
  }
  DOTDO_ASSIGN_OR_RETURN(int64_t removed, internal::RemoveBefore(conn, state, series, cutoff, options));
  if (removed != points) return InternalError("rollup folded a different number of points than it removed");
  return SeriesRollup{points, static_cast<int64_t>(buckets.size()), buckets.begin()->first};
}

}  // namespace

Result<TimeSeriesRollupResult> TimeSeriesStore::Rollup(const TimeSeriesRollupOptions& o) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateOptions(options_));
  if (o.older_than_ms <= 0) return InvalidArgumentError("older_than must be greater than zero");
  if (o.bucket_ms <= 0) return InvalidArgumentError("bucket must be greater than zero, got " + std::to_string(o.bucket_ms) + " ms");
  if (o.aggregates.empty()) return InvalidArgumentError("aggregates: name at least one metric");
  bool sketch = false;
  for (const std::string& name : o.aggregates) {
    DOTDO_ASSIGN_OR_RETURN(TimeSeriesMetric m, ParseTimeSeriesMetric(name));
    sketch = sketch || m == TimeSeriesMetric::kP50 || m == TimeSeriesMetric::kP90 || m == TimeSeriesMetric::kP99;
  }
  TimeSeriesRollupResult result;
  Status st = db_.Transaction([&]() -> Status {
    result = {};
    DOTDO_ASSIGN_OR_RETURN(internal::TimeSeriesState * state, internal::TimeSeriesState::Of(db_));
    DOTDO_ASSIGN_OR_RETURN(internal::Outbox * outbox, internal::Outbox::Of(db_));
    Connection& conn = DatabaseInternals::Conn(db_);
    const int64_t raw_cutoff = db_.NowMillis() - o.older_than_ms;
    if (raw_cutoff <= 0) return OkStatus();
    const int64_t cutoff = raw_cutoff - raw_cutoff % o.bucket_ms;
    DOTDO_ASSIGN_OR_RETURN(auto series, internal::AllSeries(db_));
    for (const internal::SeriesRow& s : series) {
      DOTDO_ASSIGN_OR_RETURN(auto done, RollupSeries(conn, *state, s.id, cutoff, o.bucket_ms, sketch, options_));
      if (done.buckets == 0) continue;
      result.points_rolled_up += done.points;
      result.buckets_written += done.buckets;
      ++result.series_rolled_up;
      UnifiedEvent e;
      e.type = "cdc.rollup";
      e.op = std::string(ChangeOpCode(ChangeOp::kRead));
      e.store = std::string(internal::kTimeSeriesSpec.name);
      e.table = "rollups";
      e.key = internal::SeriesLabel(s.info.key, s.info.tags);
      e.after = Json{{"key", s.info.key}, {"tags", s.info.tags}, {"partition", FormatIso8601(done.first_bucket).substr(0, 10)},
                     {"count", done.points}, {"buckets", done.buckets}, {"bucket_ms", o.bucket_ms},
                     {"before", cutoff}, {"aggregates", o.aggregates}};
      DOTDO_RETURN_IF_ERROR(outbox->Append(e));
    }
    return OkStatus();
  });
  DOTDO_RETURN_IF_ERROR(st);
  return result;
}

}  // namespace dotdo
