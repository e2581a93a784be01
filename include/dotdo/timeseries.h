// TimeSeriesStore: numeric series (a key plus optional tags, double values, millisecond
// timestamps) stored as compressed, time-ordered blocks per series — delta-of-delta timestamps and
// XOR-encoded values (Gorilla, Pelkonen et al., VLDB 2015), zstd on a full block when that makes it
// smaller — with per-block count/min/max/sum/first/last, so aggregates over whole blocks never
// decode them. Every write emits CDC events in the same transaction (docs/formats/timeseries.md).
//
//   dotdo::TimeSeriesStore ts(*db);
//   ts.Put("cpu_usage", 0.42, 1700000000000, {{"host", "a"}});
//   auto latest = ts.Get("cpu_usage", {{"host", "a"}});
//   auto it = ts.Range("cpu_usage", {.start = t0, .end = t1});
//   while (*it->Next()) use(it->sample());   // check it.ok() and Next().ok() in real code
//   auto buckets = ts.Aggregate("cpu_usage", {.start = t0, .end = t1, .bucket_ms = 3'600'000,
//                                             .metrics = {"avg", "p99"}});
//
// Grammar (anything else is kInvalidArgument and nothing is written):
//   series key   [A-Za-z_][A-Za-z0-9_.:-]{0,127}           ("cpu_usage", "http.requests:5xx")
//   tag key      [A-Za-z_][A-Za-z0-9_]{0,63}                at most kMaxTimeSeriesTags per series
//   tag value    1..256 bytes of valid UTF-8, no control characters
//   timestamp    ms since the Unix epoch, kMinTimestampMs..kMaxTimestampMs (1970 .. 9999-12-31)
//   value        a finite double: NaN and +-infinity are refused (an aggregate over them would be
//                meaningless, and a gap is expressed by the absence of a point)
//
// A series is (key, tags): "cpu" with {host=a} and "cpu" with {host=b} are two series; "cpu" with
// no tags is a third. Same series and same timestamp: the last write wins (also inside one batch:
// the later point in the vector wins).
//
// Thread-safety: a TimeSeriesStore is a light handle over a Database (held by reference; the
// Database must outlive it) and follows the Database's rules. A TimeSeriesRange must not outlive
// the Database; it reads one block at a time (bounded memory) and takes the Database lock only
// while it fetches a block.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dotdo/database.h"
#include "dotdo/export.h"
#include "dotdo/status.h"

namespace dotdo {

using TimeSeriesTags = std::map<std::string, std::string>;

inline constexpr int64_t kMinTimestampMs = 0;
inline constexpr int64_t kMaxTimestampMs = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
inline constexpr size_t kMaxTimeSeriesTags = 32;
// Largest PutBatch.
inline constexpr size_t kMaxTimeSeriesBatch = 1'000'000;

struct TimeSeriesPoint {
  std::string key;
  TimeSeriesTags tags;
  int64_t ts = 0;  // ms since epoch
  double value = 0;

  friend bool operator==(const TimeSeriesPoint&, const TimeSeriesPoint&) = default;
};

// One sample of a series (the series is implied by the call).
struct TimeSample {
  int64_t ts = 0;
  double value = 0;
  friend bool operator==(const TimeSample&, const TimeSample&) = default;
};

// {"key","tags","ts","time","value"}; time is ISO 8601.
DOTDO_EXPORT Json TimeSeriesPointToJson(const TimeSeriesPoint& point);

// Validation of the grammar above (kInvalidArgument with the reason).
DOTDO_EXPORT Status ValidateSeriesKey(std::string_view key);
DOTDO_EXPORT Status ValidateSeriesTags(const TimeSeriesTags& tags);
DOTDO_EXPORT Status ValidateTimestamp(int64_t ts, std::string_view what = "timestamp");
// A timestamp as a user types it: an integer (ms since epoch) or ISO 8601 ("2024-01-15",
// "2024-01-15T10:30:00Z", "2024-01-15T10:30:00.250+02:00"); out of range is kInvalidArgument.
DOTDO_EXPORT Result<int64_t> ParseTimestamp(std::string_view text);
// A duration ("500ms", "30s", "5m", "1h", "7d", "365d"; a bare integer is ms) that must be > 0.
DOTDO_EXPORT Result<int64_t> ParsePositiveDuration(std::string_view text, std::string_view what = "duration");

// How PutBatch reports to CDC.
enum class TimeSeriesCdcMode {
  // One "cdc.batch_insert" event per PutBatch (op "c", table "points"; after = {count, series,
  // partition, from, to}). Put emits one "cdc.insert". The default.
  kBatch,
  // One cdc.insert (new timestamp) or cdc.update (overwrite, with before) per point, also in PutBatch.
  kPerPoint,
};

struct TimeSeriesOptions {
  // Most points per block, 16..65536. A block that would grow past it splits. Default 512.
  int max_block_points = 512;
  // Try zstd on a block once it is full, and keep it when smaller. Default true.
  bool compress_full_blocks = true;
  // CDC events of PutBatch. Default kBatch.
  TimeSeriesCdcMode cdc_mode = TimeSeriesCdcMode::kBatch;
  // Entries of the GetAsOf cache (0 disables it). Default 4096.
  size_t as_of_cache_entries = 4096;
  // Store-wide retention: points older than now - retention_ms are expired (Prune removes them).
  // A key's own retention (SetRetention) takes precedence. Default: unset = keep forever. > 0.
  std::optional<int64_t> retention_ms;
  // Prune the written series (store or key retention) inside every Put / PutBatch transaction.
  // Default false.
  bool prune_on_write = false;
};

// What Prune / Compact removed.
struct TimeSeriesPruneResult {
  int64_t points_removed = 0;
  int64_t series_pruned = 0;  // series that lost points
  friend bool operator==(const TimeSeriesPruneResult&, const TimeSeriesPruneResult&) = default;
};

struct TimeSeriesRollupOptions {
  // Roll up points older than now - older_than_ms (> 0), whole buckets only. Required.
  int64_t older_than_ms = 0;
  // Bucket width (> 0); must be a multiple of the width of any earlier rollup it folds. Required.
  int64_t bucket_ms = 0;
  // Metric names the rollup must answer (ParseTimeSeriesMetric). count/sum/min/max/avg/first/last
  // are always kept; any percentile keeps a DDSketch per bucket. Default: no percentiles.
  std::vector<std::string> aggregates = {"count", "sum", "min", "max", "avg"};
};

struct TimeSeriesRollupResult {
  int64_t points_rolled_up = 0;  // raw points folded (and removed)
  int64_t buckets_written = 0;
  int64_t series_rolled_up = 0;
};

// A point-in-time copy of the whole store (series, blocks, rollups, retention).
struct TimeSeriesSnapshot {
  std::string id;  // ULID
  int64_t created_at = 0;  // ms
  int64_t series = 0, points = 0;  // raw points
  friend bool operator==(const TimeSeriesSnapshot&, const TimeSeriesSnapshot&) = default;
};

struct TimeSeriesCompactOptions {
  // Keep at most this many of the newest points of every series (>= 1). Required.
  int64_t max_versions_per_key = 0;
};

struct TimeRange {
  int64_t start = kMinTimestampMs;      // inclusive
  int64_t end = kMaxTimestampMs + 1;    // exclusive; start > end is kInvalidArgument
};

// Range over one series: points with start <= ts < end in ascending ts. Next() returns false at the
// end; an error ends the iteration. Points written between Next() calls may or may not be seen, but
// ts strictly increases and no point is returned twice.
class DOTDO_EXPORT TimeSeriesRange {
 public:
  class Impl;
  explicit TimeSeriesRange(std::unique_ptr<Impl> impl);
  ~TimeSeriesRange();
  TimeSeriesRange(TimeSeriesRange&&) noexcept;
  TimeSeriesRange& operator=(TimeSeriesRange&&) noexcept;

  Result<bool> Next();
  // The current point. REQUIRES: the last Next() returned true.
  const TimeSample& sample() const;

 private:
  std::unique_ptr<Impl> impl_;
};

// The metrics Aggregate computes. Percentiles are exact (nearest rank: the value at rank
// ceil(p/100 * count) of the sorted values of the bucket).
enum class TimeSeriesMetric { kCount, kSum, kMin, kMax, kAvg, kFirst, kLast, kP50, kP90, kP99 };
// "count" | "sum" | "min" | "max" | "avg" | "first" | "last" | "p50" | "p90" | "p99"; else
// kInvalidArgument listing them.
DOTDO_EXPORT Result<TimeSeriesMetric> ParseTimeSeriesMetric(std::string_view name);
DOTDO_EXPORT std::string_view TimeSeriesMetricName(TimeSeriesMetric metric);

struct TimeSeriesAggregateOptions {
  int64_t start = kMinTimestampMs;    // inclusive
  int64_t end = kMaxTimestampMs + 1;  // exclusive
  // Bucket width in ms, buckets aligned to the epoch (bucket start = floor(ts / bucket) * bucket).
  // Unset: one bucket over the whole range (its start is `start`). A value <= 0 is kInvalidArgument.
  std::optional<int64_t> bucket_ms;
  // Names as accepted by ParseTimeSeriesMetric. Default: count, sum, min, max, avg.
  std::vector<std::string> metrics = {"count", "sum", "min", "max", "avg"};
};

// One non-empty bucket. values[i] is metric i of the request (count as a double).
struct TimeSeriesBucket {
  int64_t start = 0;
  int64_t count = 0;
  std::vector<double> values;
};

struct TimeSeriesAggregate {
  std::vector<std::string> metrics;  // the requested metric names, in order
  std::vector<TimeSeriesBucket> buckets;  // ascending start; buckets without points are left out
};

DOTDO_EXPORT Json TimeSeriesAggregateToJson(const TimeSeriesAggregate& aggregate);

// A series of the store.
struct TimeSeriesInfo {
  std::string key;
  TimeSeriesTags tags;
  friend bool operator==(const TimeSeriesInfo&, const TimeSeriesInfo&) = default;
};

// Most series one ListSeries / AggregateWhere may match; more is kResourceExhausted.
inline constexpr size_t kMaxSeriesPerQuery = 100'000;

// The aggregate over every matched series that shares the values of the group-by tags (`group`
// holds those of them the series have; a series without a group-by tag groups under its absence).
struct TimeSeriesGroup {
  TimeSeriesTags group;
  int64_t series = 0;  // matched series in the group
  TimeSeriesAggregate aggregate;
};

// The aggregate's JSON plus "group" and "series".
DOTDO_EXPORT Json TimeSeriesGroupToJson(const TimeSeriesGroup& group);

class DOTDO_EXPORT TimeSeriesStore {
 public:
  // Checks the options (kInvalidArgument), creates or migrates the tables (and the outbox).
  // REQUIRES: db outlives the store.
  static Result<TimeSeriesStore> Open(Database& db, TimeSeriesOptions options = {});
  // A handle without checks: tables are created on the first call. Prefer Open.
  explicit TimeSeriesStore(Database& db, TimeSeriesOptions options = {});

  // Writes one point (cdc.insert, or cdc.update with `before` when the timestamp existed).
  Status Put(std::string_view key, double value, int64_t ts, const TimeSeriesTags& tags = {});
  // Writes all points in one transaction: all or nothing (the first invalid point is reported by
  // index and nothing is written). Returns the number of points written: distinct (series, ts)
  // after last-write-wins inside the batch.
  Result<int64_t> PutBatch(const std::vector<TimeSeriesPoint>& points);

  // Get and GetAsOf read raw points: data that Rollup replaced answers Aggregate only.
  // The point with the largest timestamp; kNotFound when the series has none.
  Result<TimeSample> Get(std::string_view key, const TimeSeriesTags& tags = {});
  // The latest point with ts <= `ts`; kNotFound when there is none. Repeated lookups are served
  // from an LRU cache that every write to the series (and every rollback) invalidates.
  Result<TimeSample> GetAsOf(std::string_view key, int64_t ts, const TimeSeriesTags& tags = {});
  // A streaming iterator (see TimeSeriesRange). An unknown series yields no points.
  Result<TimeSeriesRange> Range(std::string_view key, TimeRange range = {}, const TimeSeriesTags& tags = {});
  // Bucketed aggregates over [start, end). An unknown series yields no buckets.
  Result<TimeSeriesAggregate> Aggregate(std::string_view key, const TimeSeriesAggregateOptions& options,
                                        const TimeSeriesTags& tags = {});

  // The retention of every series of `key` (ms, > 0), persisted; nullopt removes the key's own
  // retention, so the store's applies again. Emits cdc.insert/update/delete on table "retention".
  Status SetRetention(std::string_view key, std::optional<int64_t> retention_ms);
  // The retention that applies to `key`: its own, else the store's; nullopt = keep forever.
  Result<std::optional<int64_t>> GetRetention(std::string_view key);
  // Removes every expired point (ts < now - retention) of every series, in one transaction: whole
  // blocks are deleted without decoding, the block holding the cutoff is rewritten. One cdc.delete
  // per series that lost points (key = series label, before = {key, tags, count, before}).
  Result<TimeSeriesPruneResult> Prune();
  // Keeps the newest max_versions_per_key points of every series and removes the older ones, in
  // one transaction, with the same events as Prune.
  Result<TimeSeriesPruneResult> Compact(const TimeSeriesCompactOptions& options);

  // Replaces, in every series, the raw points older than the cutoff (now - older_than, rounded down
  // to a bucket boundary) by one row of aggregates per bucket, and folds earlier, finer rollups
  // (and late raw points) of those buckets into it; one transaction, one cdc.rollup event per series
  // (op "r"). Aggregate then answers rolled-up ranges from these rows when its bucket is a multiple
  // of theirs (else kFailedPrecondition); percentiles over them come from the DDSketch (relative
  // error <= 1%, docs/formats/timeseries.md), percentiles over raw points stay exact.
  Result<TimeSeriesRollupResult> Rollup(const TimeSeriesRollupOptions& options);

  // Copies the store's current content (series, blocks, rollups, per-key retention) under a new
  // id, in one transaction (cdc.insert on table "snapshots"). The copy costs the store's size in
  // bytes (blocks are copied compressed).
  Result<TimeSeriesSnapshot> CreateSnapshot();
  // Replaces the store's content by the snapshot's, atomically (one transaction, one cdc.update
  // on table "snapshots" with after = {id, restored: true, series, points}). kNotFound for an
  // unknown id. Other snapshots are kept.
  Status RestoreSnapshot(std::string_view id);
  // Snapshots, oldest first.
  Result<std::vector<TimeSeriesSnapshot>> ListSnapshots();
  // kNotFound for an unknown id (cdc.delete on table "snapshots").
  Status DeleteSnapshot(std::string_view id);

  // Series of `key` whose tags match `where`: the platform's filter language (as for documents:
  // {"host": "a"}, {"region": {"$in": ["eu", "us"]}}, $and/$or/$not, $like ...) over tag names;
  // null matches every series of the key. Ordered by tags.
  Result<std::vector<TimeSeriesInfo>> ListSeries(std::string_view key, const Json& where = nullptr);
  // Aggregate over every series of `key` matching `where`, merged per bucket, one result per group
  // of `group_by` tag values (empty: one group). Groups ordered by their tag values.
  Result<std::vector<TimeSeriesGroup>> AggregateWhere(std::string_view key, const Json& where,
                                                      const TimeSeriesAggregateOptions& options,
                                                      const std::vector<std::string>& group_by = {});

 private:
  Database& db_;
  TimeSeriesOptions options_;
};

}  // namespace dotdo
