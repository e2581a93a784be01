// Internals shared by the TimeSeriesStore files: the schema, the per-Database state (series id
// cache and the GetAsOf LRU), block rows and the block-level read/write primitives.
//
// Invariants of `ts_blocks` (see docs/formats/timeseries.md):
//   1. The blocks of one series are disjoint and ordered: for consecutive blocks A, B of a series,
//      A.end_ts < B.start_ts. A point with timestamp t lives in the block with the largest
//      start_ts <= t (or the series' first block when t is below every start), so a late point
//      rewrites only the block it lands in (which may split into several when it overflows).
//   2. A block holds 1..max_block_points samples with strictly increasing ts; start_ts/end_ts are
//      its first/last ts; count/min/max/sum/first/last are exactly those of its samples.
//   3. At most one sample per (series, ts): the last write wins.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cdc/store_scaffold.h"
#include "core/database_internals.h"
#include "dotdo/timeseries.h"
#include "sqlite/connection.h"
#include "timeseries/ddsketch.h"
#include "timeseries/gorilla_codec.h"

namespace dotdo::internal {

extern const StoreSpec kTimeSeriesSpec;
inline constexpr std::string_view kPointsTable = "points";

// A series as validated input: key and canonical tags JSON (compact, keys sorted; "{}" for none).
struct SeriesName {
  std::string key;
  std::string tags_json;
  std::string CacheKey() const { return key + '\0' + tags_json; }
};
// Validates key and tags and builds the canonical name.
Result<SeriesName> MakeSeriesName(std::string_view key, const TimeSeriesTags& tags);
// "cpu,host=a" (tags in key order), the CDC key prefix of the series' points.
std::string SeriesLabel(std::string_view key, const TimeSeriesTags& tags);

// A series row matched by a tag filter.
struct SeriesRow {
  int64_t id = 0;
  TimeSeriesInfo info;
};
// Series of `key` whose tags match `where` (filter compiler over the tags JSON), ordered by tags.
// REQUIRES: connection lock held.
Result<std::vector<SeriesRow>> MatchSeries(Database& db, std::string_view key, const Json& where);

// Every series, by key then tags (no limit: for the maintenance calls). REQUIRES: connection lock held.
Result<std::vector<SeriesRow>> AllSeries(Database& db);

// One row of ts_blocks (data not necessarily loaded).
struct BlockRow {
  int64_t rowid = 0;
  int64_t start_ts = 0, end_ts = 0, count = 0;
  double min = 0, max = 0, sum = 0, first = 0, last = 0;
  std::string data;
};
// Columns read by BlockFromRow, in order.
inline constexpr std::string_view kBlockColumns = "rowid, start_ts, end_ts, count, min, max, sum, first, last, data";
BlockRow BlockFromRow(const Statement& st, bool with_data);

// The last block of a series as its encoder left it, so that appends extend it without reading or
// decoding it.
struct TailBlock {
  int64_t rowid = 0, start_ts = 0, end_ts = 0;
  double min = 0, max = 0, sum = 0, first = 0, last = 0;
  GorillaAppender appender;

  void Add(const TimeSample& s);
};

// Most series whose tail block is kept in memory; beyond it the cache starts over.
inline constexpr size_t kMaxCachedTails = 20000;

// Per-Database state: series ids by name, the tail blocks and the GetAsOf cache. Everything is
// dropped on any rollback (a series created by the rolled-back transaction must not keep its id; a
// cached answer may have been read inside it) and whenever another connection committed to the
// file since (PRAGMA data_version, checked by Of). REQUIRES: used with the connection lock held.
class TimeSeriesState final : public TransactionObserver {
 public:
  explicit TimeSeriesState(Database& db);
  ~TimeSeriesState() override;
  static Result<TimeSeriesState*> Of(Database& db);
  // For reads, which never create tables: nullptr when the namespace has no timeseries tables.
  static Result<TimeSeriesState*> ForRead(Database& db);
  // For reads: the id of an existing series, nullopt when it (or the whole store) does not exist;
  // *state_out (optional) gets ForRead's answer.
  static Result<std::optional<int64_t>> ReadSeriesId(Database& db, const SeriesName& name,
                                                     TimeSeriesState** state_out = nullptr);

  // The id of the series; nullopt when it does not exist (create = false).
  Result<std::optional<int64_t>> SeriesId(const SeriesName& name, bool create);

  // GetAsOf cache. A write to a series bumps its generation, which makes its entries stale.
  std::optional<std::optional<TimeSample>> CachedAsOf(int64_t series, int64_t ts, size_t capacity);
  void RememberAsOf(int64_t series, int64_t ts, std::optional<TimeSample> answer, size_t capacity);
  void SeriesWritten(int64_t series) { ++generation_[series]; }

  // The cached tail block of a series, or null.
  TailBlock* Tail(int64_t series);
  TailBlock* SetTail(int64_t series, TailBlock tail);
  void DropTail(int64_t series) { tails_.erase(series); }

  // Forgets every cached id, tail and answer (the store's tables were replaced).
  void Reset();

  void OnBegin(int) override {}
  void OnRollback(int) override;
  void OnRelease(int) override {}
  void OnCommit() override {}

 private:
  Database& db_;
  std::unordered_map<std::string, int64_t> series_ids_;
  std::unordered_map<int64_t, uint64_t> generation_;
  std::unordered_map<int64_t, TailBlock> tails_;
  int64_t data_version_ = -1;  // PRAGMA data_version when the caches were last known valid
  struct AsOfEntry {
    int64_t series, ts;
    uint64_t generation;
    std::optional<TimeSample> answer;
  };
  struct PairHash {
    size_t operator()(const std::pair<int64_t, int64_t>& p) const {
      return std::hash<int64_t>()(p.first) * 31 + std::hash<int64_t>()(p.second);
    }
  };
  std::list<AsOfEntry> lru_;  // most recent first
  std::unordered_map<std::pair<int64_t, int64_t>, std::list<AsOfEntry>::iterator, PairHash> lru_index_;
};

// Checks TimeSeriesOptions.
Status ValidateOptions(const TimeSeriesOptions& options);
// Validates one point (`what` names it in messages, e.g. "point 3").
Status ValidateSample(double value, int64_t ts, std::string_view what);
Status ValidateRange(int64_t start, int64_t end);

// A sample written over an existing one: its previous value (for cdc.update).
struct Overwrite {
  int64_t ts;
  double before;
};

// Merges `samples` (REQUIRES: non-empty, strictly ascending ts) into the blocks of `series`,
// honouring invariants 1-3. Fills `overwrites` (when not null) with the samples that replaced a
// stored one. Samples after the series' last point extend its tail block through the state's
// tail cache; others take the general merge. REQUIRES: inside db.Transaction.
Status MergeIntoBlocks(Connection& conn, TimeSeriesState& state, int64_t series, const std::vector<TimeSample>& samples,
                       const TimeSeriesOptions& options, std::vector<Overwrite>* overwrites);

// Replaces block `rowid` of `series` by `samples` (REQUIRES: non-empty, ascending, within the
// block's place by invariant 1), splitting into several blocks when needed.
Status RewriteBlock(Connection& conn, int64_t series, int64_t rowid, std::span<const TimeSample> samples,
                    const TimeSeriesOptions& options);

// Removes the points of `series` with ts < cutoff; returns how many. Drops the series' cached tail.
// REQUIRES: inside db.Transaction.
Result<int64_t> RemoveBefore(Connection& conn, TimeSeriesState& state, int64_t series, int64_t cutoff,
                             const TimeSeriesOptions& options);
// The retention that applies to `key` (its own row, else options.retention_ms).
Result<std::optional<int64_t>> RetentionOf(Connection& conn, std::string_view key, const TimeSeriesOptions& options);
// With options.prune_on_write: removes the expired points of the series just written (and its
// cdc.delete). REQUIRES: inside db.Transaction.
Status PruneWrittenSeries(Database& db, TimeSeriesState& state, int64_t series, std::string_view key,
                          const TimeSeriesTags& tags, const TimeSeriesOptions& options);
// Appends the cdc.delete of a prune/compact of one series.
Status AppendPruneEvent(Database& db, const SeriesRow& series, int64_t removed, int64_t cutoff);

// One row of ts_rollups: the aggregates of [bucket_start, bucket_start + bucket_ms) of a series.
// Rollup rows of a series never overlap in time.
struct RollupRow {
  int64_t bucket_start = 0, bucket_ms = 0, count = 0;
  double sum = 0, min = 0, max = 0, first = 0, last = 0;
  int64_t first_ts = 0, last_ts = 0;
  std::optional<DDSketch> sketch;  // kept when the rollup was asked for percentiles

  void Add(int64_t ts, double v);
  // REQUIRES: other.count > 0. The sketch survives only when both have one.
  void Merge(const RollupRow& other);
};
// Calls fn(row) -> Status for the rollup rows of `series` whose bucket starts in [start, end).
Status ForEachRollup(Connection& conn, int64_t series, int64_t start, int64_t end,
                     const std::function<Status(RollupRow&)>& fn);

// The block of `series` holding `ts` by invariant 1 (largest start_ts <= ts), if any.
Result<std::optional<BlockRow>> FloorBlock(Connection& conn, int64_t series, int64_t ts, bool with_data);
// The first block of `series` with end_ts >= `from` and start_ts < `end`, if any.
Result<std::optional<BlockRow>> NextBlock(Connection& conn, int64_t series, int64_t from, int64_t end);

// Calls fn(block) for every block of `series` intersecting [start, end), in order, with data.
// fn returns Result<bool>: false stops, an error is returned.
template <typename Fn>
Status ForEachBlock(Connection& conn, int64_t series, int64_t start, int64_t end, Fn&& fn);

}  // namespace dotdo::internal

#include "timeseries/timeseries_blocks_inl.h"
