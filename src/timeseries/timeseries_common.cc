// TimeSeriesStore foundations: the schema, the grammar of series keys and tags, timestamps and
// durations, the per-Database state (series ids, GetAsOf LRU), and the block merge that every
// write goes through (invariants in timeseries_internal.h).
#include <algorithm>
#include <array>
#include <cmath>

#include "core/json.h"
#include "core/names.h"
#include "timeseries/gorilla_codec.h"
#include "timeseries/timeseries_internal.h"

namespace dotdo {
namespace {

bool KeyStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool KeyChar(char c) { return KeyStart(c) || (c >= '0' && c <= '9') || c == '.' || c == ':' || c == '-'; }
bool TagChar(char c) { return KeyStart(c) || (c >= '0' && c <= '9'); }

const internal::NameGrammar kSeriesKeyGrammar{"series key", "[A-Za-z_][A-Za-z0-9_.:-]{0,127}", 128, KeyStart, KeyChar,
                                              "a letter or '_'", "letters, digits and _ . : -"};
const internal::NameGrammar kTagKeyGrammar{"tag key", "[A-Za-z_][A-Za-z0-9_]{0,63}", 64, KeyStart, TagChar,
                                           "a letter or '_'", "letters, digits and '_'"};
constexpr size_t kMaxTagValueBytes = 256;

}  // namespace

Status ValidateSeriesKey(std::string_view key) { return internal::ValidateName(kSeriesKeyGrammar, key, "series key"); }

Status ValidateSeriesTags(const TimeSeriesTags& tags) {
  if (tags.size() > kMaxTimeSeriesTags)
    return InvalidArgumentError("a series has at most " + std::to_string(kMaxTimeSeriesTags) + " tags, got " +
                                std::to_string(tags.size()));
  for (const auto& [k, v] : tags) {
    DOTDO_RETURN_IF_ERROR(internal::ValidateName(kTagKeyGrammar, k, "tag key"));
    if (v.empty() || v.size() > kMaxTagValueBytes)
      return InvalidArgumentError("tag '" + k + "': the value must be 1.." + std::to_string(kMaxTagValueBytes) + " bytes");
    for (char ch : v) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c == 0x7f) return InvalidArgumentError("tag '" + k + "': the value contains a control character");
    }
    DOTDO_RETURN_IF_ERROR(internal::ValidateUtf8(v, "tag '" + k + "' value"));
  }
  return OkStatus();
}

Status ValidateTimestamp(int64_t ts, std::string_view what) {
  if (ts < kMinTimestampMs || ts > kMaxTimestampMs)
    return InvalidArgumentError(std::string(what) + " " + std::to_string(ts) + " is out of range: use ms since the epoch in " +
                                std::to_string(kMinTimestampMs) + ".." + std::to_string(kMaxTimestampMs) +
                                " (1970-01-01 .. 9999-12-31)");
  return OkStatus();
}

Result<int64_t> ParseTimestamp(std::string_view text) {
  bool digits = !text.empty();
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  int64_t ts = 0;
  if (digits) {
    if (text.size() > 15) return InvalidArgumentError("timestamp '" + std::string(text.substr(0, 40)) + "' is out of range");
    for (char c : text) ts = ts * 10 + (c - '0');
  } else {
    auto parsed = ParseIso8601(text);
    if (!parsed.ok())
      return InvalidArgumentError("invalid timestamp '" + std::string(text.substr(0, 80)) +
                                  "': use ms since the epoch or ISO 8601 (2024-01-15T10:30:00Z)");
    ts = *parsed;
  }
  DOTDO_RETURN_IF_ERROR(ValidateTimestamp(ts));
  return ts;
}

Result<int64_t> ParsePositiveDuration(std::string_view text, std::string_view what) {
  DOTDO_ASSIGN_OR_RETURN(int64_t ms, ParseDurationMillis(text));
  if (ms <= 0) return InvalidArgumentError(std::string(what) + " must be greater than zero, got '" + std::string(text) + "'");
  return ms;
}

Json TimeSeriesPointToJson(const TimeSeriesPoint& p) {
  return Json{{"key", p.key}, {"tags", p.tags}, {"ts", p.ts}, {"time", FormatIso8601(p.ts)}, {"value", p.value}};
}

namespace internal {
namespace {

constexpr std::string_view kMigrationV1 = R"sql(
CREATE TABLE ts_series (
  id         INTEGER PRIMARY KEY,
  key        TEXT NOT NULL,
  tags       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (key, tags)
);
CREATE TABLE ts_blocks (
  series_id INTEGER NOT NULL,
  start_ts  INTEGER NOT NULL,
  end_ts    INTEGER NOT NULL,
  count     INTEGER NOT NULL,
  min       REAL NOT NULL,
  max       REAL NOT NULL,
  sum       REAL NOT NULL,
  first     REAL NOT NULL,
  last      REAL NOT NULL,
  data      BLOB NOT NULL,
  UNIQUE (series_id, start_ts)
);
CREATE TABLE ts_rollups (
  series_id    INTEGER NOT NULL,
  bucket_start INTEGER NOT NULL,
  bucket_ms    INTEGER NOT NULL,
  count        INTEGER NOT NULL,
  sum          REAL NOT NULL,
  min          REAL NOT NULL,
  max          REAL NOT NULL,
  first        REAL NOT NULL,
  first_ts     INTEGER NOT NULL,
  last         REAL NOT NULL,
  last_ts      INTEGER NOT NULL,
  sketch       BLOB,
  PRIMARY KEY (series_id, bucket_start, bucket_ms)
) WITHOUT ROWID;
CREATE TABLE ts_snapshots (
  id         TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  series     INTEGER NOT NULL,
  points     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE ts_snapshot_series (
  snapshot_id TEXT NOT NULL, id INTEGER NOT NULL, key TEXT NOT NULL, tags TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (snapshot_id, id)
) WITHOUT ROWID;
CREATE TABLE ts_snapshot_blocks (
  snapshot_id TEXT NOT NULL, series_id INTEGER NOT NULL, start_ts INTEGER NOT NULL, end_ts INTEGER NOT NULL,
  count INTEGER NOT NULL, min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, first REAL NOT NULL,
  last REAL NOT NULL, data BLOB NOT NULL
);
CREATE INDEX ts_snapshot_blocks_id ON ts_snapshot_blocks(snapshot_id);
CREATE TABLE ts_snapshot_rollups (
  snapshot_id TEXT NOT NULL, series_id INTEGER NOT NULL, bucket_start INTEGER NOT NULL, bucket_ms INTEGER NOT NULL,
  count INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, first REAL NOT NULL,
  first_ts INTEGER NOT NULL, last REAL NOT NULL, last_ts INTEGER NOT NULL, sketch BLOB
);
CREATE INDEX ts_snapshot_rollups_id ON ts_snapshot_rollups(snapshot_id);
CREATE TABLE ts_snapshot_retention (
  snapshot_id TEXT NOT NULL, key TEXT NOT NULL, retention_ms INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (snapshot_id, key)
) WITHOUT ROWID;
CREATE TABLE ts_retention (
  key          TEXT PRIMARY KEY,
  retention_ms INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) WITHOUT ROWID;
)sql";
constexpr std::array<std::string_view, 1> kMigrations = {kMigrationV1};

}  // namespace

const StoreSpec kTimeSeriesSpec{.name = "timeseries", .table_prefix = "ts_", .migrations = kMigrations};

Result<SeriesName> MakeSeriesName(std::string_view key, const TimeSeriesTags& tags) {
  DOTDO_RETURN_IF_ERROR(ValidateSeriesKey(key));
  DOTDO_RETURN_IF_ERROR(ValidateSeriesTags(tags));
  Json j = Json::object();
  for (const auto& [k, v] : tags) j[k] = v;
  return SeriesName{std::string(key), DumpJson(j)};
}

std::string SeriesLabel(std::string_view key, const TimeSeriesTags& tags) {
  std::string out(key);
  for (const auto& [k, v] : tags) out += "," + k + "=" + v;
  return out;
}

BlockRow BlockFromRow(const Statement& st, bool with_data) {
  BlockRow b;
  b.rowid = st.ColumnInt64(0);
  b.start_ts = st.ColumnInt64(1);
  b.end_ts = st.ColumnInt64(2);
  b.count = st.ColumnInt64(3);
  b.min = st.ColumnDouble(4);
  b.max = st.ColumnDouble(5);
  b.sum = st.ColumnDouble(6);
  b.first = st.ColumnDouble(7);
  b.last = st.ColumnDouble(8);
  if (with_data) b.data = std::string(st.ColumnBlob(9));
  return b;
}

TimeSeriesState::TimeSeriesState(Database& db) : db_(db) { DatabaseInternals::AddObserver(db_, this); }
TimeSeriesState::~TimeSeriesState() { DatabaseInternals::RemoveObserver(db_, this); }

Result<TimeSeriesState*> TimeSeriesState::ForRead(Database& db) {
  DOTDO_ASSIGN_OR_RETURN(bool present, StoreSchemaPresent(db, kTimeSeriesSpec));
  if (!present) return static_cast<TimeSeriesState*>(nullptr);
  return Of(db);
}

Result<std::optional<int64_t>> TimeSeriesState::ReadSeriesId(Database& db, const SeriesName& name,
                                                             TimeSeriesState** state_out) {
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesState * state, ForRead(db));
  if (state_out != nullptr) *state_out = state;
  if (state == nullptr) return std::optional<int64_t>();
  return state->SeriesId(name, false);
}

Result<TimeSeriesState*> TimeSeriesState::Of(Database& db) {
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesState * state, StoreStateOf<TimeSeriesState>(db, kTimeSeriesSpec));
  // Another connection (a second Database on the file, another process) that committed since our
  // last look may have changed any block: the caches are dropped rather than trusted.
  DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db).Prepare("PRAGMA data_version"));
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  const int64_t version = row ? st.ColumnInt64(0) : 0;
  if (version != state->data_version_) {
    state->Reset();
    state->data_version_ = version;
  }
  return state;
}

void TimeSeriesState::Reset() { OnRollback(0); }

void TimeSeriesState::OnRollback(int) {
  series_ids_.clear();
  tails_.clear();
  lru_.clear();
  lru_index_.clear();
}

Result<std::optional<int64_t>> TimeSeriesState::SeriesId(const SeriesName& name, bool create) {
  const std::string cache_key = name.CacheKey();
  if (auto it = series_ids_.find(cache_key); it != series_ids_.end()) return std::optional<int64_t>(it->second);
  Connection& conn = DatabaseInternals::Conn(db_);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT id FROM ts_series WHERE key = ?1 AND tags = ?2"));
  st.BindAll(name.key, name.tags_json);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  std::optional<int64_t> id;
  if (row) id = st.ColumnInt64(0);
  st = Statement();
  if (!id && create) {
    DOTDO_ASSIGN_OR_RETURN(auto ins, conn.Prepare("INSERT INTO ts_series(key, tags, created_at) VALUES (?1, ?2, ?3)"));
    ins.BindAll(name.key, name.tags_json, db_.NowMillis());
    DOTDO_RETURN_IF_ERROR(ins.Run());
    id = conn.LastInsertRowId();
  }
  if (id) series_ids_.emplace(cache_key, *id);
  return id;
}

void TailBlock::Add(const TimeSample& s) {
  if (appender.count() == 0) {
    start_ts = s.ts;
    min = max = first = s.value;
  }
  min = std::min(min, s.value);
  max = std::max(max, s.value);
  sum += s.value;
  last = s.value;
  end_ts = s.ts;
  appender.Append(s);
}

TailBlock* TimeSeriesState::Tail(int64_t series) {
  auto it = tails_.find(series);
  return it == tails_.end() ? nullptr : &it->second;
}

TailBlock* TimeSeriesState::SetTail(int64_t series, TailBlock tail) {
  if (tails_.size() >= kMaxCachedTails && !tails_.count(series)) tails_.clear();
  return &(tails_[series] = std::move(tail));
}

std::optional<std::optional<TimeSample>> TimeSeriesState::CachedAsOf(int64_t series, int64_t ts, size_t capacity) {
  if (capacity == 0) return std::nullopt;
  auto it = lru_index_.find({series, ts});
  if (it == lru_index_.end()) return std::nullopt;
  if (it->second->generation != generation_[series]) {
    lru_.erase(it->second);
    lru_index_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->answer;
}

void TimeSeriesState::RememberAsOf(int64_t series, int64_t ts, std::optional<TimeSample> answer, size_t capacity) {
  if (capacity == 0) return;
  if (auto it = lru_index_.find({series, ts}); it != lru_index_.end()) {
    lru_.erase(it->second);
    lru_index_.erase(it);
  }
  lru_.push_front({series, ts, generation_[series], answer});
  lru_index_[{series, ts}] = lru_.begin();
  while (lru_.size() > capacity) {
    lru_index_.erase({lru_.back().series, lru_.back().ts});
    lru_.pop_back();
  }
}

Status ValidateOptions(const TimeSeriesOptions& o) {
  if (o.max_block_points < 16 || o.max_block_points > 65536)
    return InvalidArgumentError("max_block_points must be 16..65536, got " + std::to_string(o.max_block_points));
  if (o.retention_ms && *o.retention_ms <= 0)
    return InvalidArgumentError("retention_ms must be greater than zero, got " + std::to_string(*o.retention_ms));
  if (o.as_of_cache_entries > 10'000'000)
    return InvalidArgumentError("as_of_cache_entries must be at most 10000000");
  return OkStatus();
}

Status ValidateSample(double value, int64_t ts, std::string_view what) {
  if (!std::isfinite(value))
    return InvalidArgumentError(std::string(what) + ": the value must be a finite number (NaN and infinity are refused)");
  return ValidateTimestamp(ts, std::string(what) + ": timestamp");
}

Status ValidateRange(int64_t start, int64_t end) {
  DOTDO_RETURN_IF_ERROR(ValidateTimestamp(start, "start"));
  if (end < kMinTimestampMs || end > kMaxTimestampMs + 1)
    return InvalidArgumentError("end " + std::to_string(end) + " is out of range (0.." + std::to_string(kMaxTimestampMs + 1) + ")");
  if (start > end)
    return InvalidArgumentError("start " + std::to_string(start) + " is after end " + std::to_string(end));
  return OkStatus();
}

namespace {

const std::string kSelectFloor = "SELECT " + std::string(kBlockColumns) +
                                 " FROM ts_blocks WHERE series_id = ?1 AND start_ts <= ?2 ORDER BY start_ts DESC LIMIT 1";
const std::string kSelectByRowid = "SELECT " + std::string(kBlockColumns) + " FROM ts_blocks WHERE rowid = ?1";
const std::string kSelectFirst =
    "SELECT " + std::string(kBlockColumns) + " FROM ts_blocks WHERE series_id = ?1 ORDER BY start_ts LIMIT 1";

Result<std::optional<BlockRow>> OneBlock(Connection& conn, const std::string& sql, int64_t series,
                                         std::optional<int64_t> ts, bool with_data) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(sql));
  st.Bind(1, series);
  if (ts) st.Bind(2, *ts);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<BlockRow>();
  return std::optional<BlockRow>(BlockFromRow(st, with_data));
}

Result<std::optional<int64_t>> NextStart(Connection& conn, int64_t series, int64_t after) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
      "SELECT start_ts FROM ts_blocks WHERE series_id = ?1 AND start_ts > ?2 ORDER BY start_ts LIMIT 1"));
  st.BindAll(series, after);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(st.ColumnInt64(0));
}

// Writes one block row from `b`: an UPDATE of `replace_rowid` when non-zero, else an INSERT (b.rowid
// is set to the new row). keeps_start: an update that does not change start_ts and first.
Status WriteBlock(Connection& conn, int64_t series, TailBlock& b, int64_t replace_rowid, const TimeSeriesOptions& options,
                  bool keeps_start = false) {
  const bool full = b.appender.count() >= options.max_block_points;
  const std::string data = b.appender.Finish(options.compress_full_blocks && full);
  const int64_t count = b.appender.count();
  if (replace_rowid != 0 && keeps_start) {
    // An append keeps start_ts and first: leaving them out of the SET spares the index update.
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("UPDATE ts_blocks SET end_ts = ?2, count = ?3, min = ?4, max = ?5, sum = ?6, "
                                                 "last = ?7, data = ?8 WHERE rowid = ?1"));
    st.BindAll(replace_rowid, b.end_ts, count, b.min, b.max, b.sum, b.last);
    st.BindBlob(8, data);
    return st.Run();
  }
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
      replace_rowid != 0
          ? "UPDATE ts_blocks SET start_ts = ?2, end_ts = ?3, count = ?4, min = ?5, max = ?6, sum = ?7, first = ?8, "
            "last = ?9, data = ?10 WHERE rowid = ?1"
          : "INSERT INTO ts_blocks(series_id, start_ts, end_ts, count, min, max, sum, first, last, data) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
  st.BindAll(replace_rowid != 0 ? replace_rowid : series, b.start_ts, b.end_ts, count, b.min, b.max, b.sum, b.first, b.last);
  st.BindBlob(10, data);
  DOTDO_RETURN_IF_ERROR(st.Run());
  b.rowid = replace_rowid != 0 ? replace_rowid : conn.LastInsertRowId();
  return OkStatus();
}

// Writes `samples` as block rows: the first replaces `replace_rowid` (when non-zero), the others are
// inserted. Chunks of max points from the front, so an append fills the old block before it opens
// a new one; full chunks get the zstd attempt. The last chunk is returned (it may become the tail).
Result<TailBlock> WriteChunks(Connection& conn, int64_t series, std::span<const TimeSample> samples, int64_t replace_rowid,
                              const TimeSeriesOptions& options) {
  const size_t max = static_cast<size_t>(options.max_block_points);
  TailBlock chunk;
  for (size_t begin = 0; begin < samples.size(); begin += max) {
    chunk = TailBlock();
    for (size_t i = begin; i < std::min(samples.size(), begin + max); ++i) chunk.Add(samples[i]);
    DOTDO_RETURN_IF_ERROR(WriteBlock(conn, series, chunk, begin == 0 ? replace_rowid : 0, options));
  }
  return chunk;
}

// Appends samples after the tail's last point: fills the tail block, then opens new ones; the last
// one written becomes the cached tail.
Status AppendToTail(Connection& conn, TimeSeriesState& state, int64_t series, TailBlock& tail,
                    std::span<const TimeSample> samples, const TimeSeriesOptions& options) {
  size_t i = 0;
  if (tail.appender.count() < options.max_block_points) {
    while (i < samples.size() && tail.appender.count() < options.max_block_points) tail.Add(samples[i++]);
    DOTDO_RETURN_IF_ERROR(WriteBlock(conn, series, tail, tail.rowid, options, true));
  }
  if (i == samples.size()) return OkStatus();
  DOTDO_ASSIGN_OR_RETURN(TailBlock last, WriteChunks(conn, series, samples.subspan(i), 0, options));
  state.SetTail(series, std::move(last));
  return OkStatus();
}

// The series' last block as a tail (decoded and re-encoded), if it has blocks.
Result<std::optional<TailBlock>> LoadTail(Connection& conn, int64_t series) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT " + std::string(kBlockColumns) +
                                               " FROM ts_blocks WHERE series_id = ?1 ORDER BY start_ts DESC LIMIT 1"));
  st.Bind(1, series);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<TailBlock>();
  const BlockRow b = BlockFromRow(st, true);
  st = Statement();
  std::vector<TimeSample> samples;
  DOTDO_RETURN_IF_ERROR(DecodeBlock(b.data, b.count, samples));
  TailBlock tail;
  for (const TimeSample& s : samples) tail.Add(s);
  tail.rowid = b.rowid;
  tail.sum = b.sum;  // the stored sum, so that appending keeps the same rounding as the row says
  return std::optional<TailBlock>(std::move(tail));
}

}  // namespace

Status RewriteBlock(Connection& conn, int64_t series, int64_t rowid, std::span<const TimeSample> samples,
                    const TimeSeriesOptions& options) {
  return WriteChunks(conn, series, samples, rowid, options).status();
}

Result<std::optional<BlockRow>> FloorBlock(Connection& conn, int64_t series, int64_t ts, bool with_data) {
  return OneBlock(conn, kSelectFloor, series, ts, with_data);
}

Result<std::optional<BlockRow>> NextBlock(Connection& conn, int64_t series, int64_t from, int64_t end) {
  DOTDO_ASSIGN_OR_RETURN(auto floor, FloorBlock(conn, series, from, true));
  if (floor && floor->end_ts >= from) return floor->start_ts < end ? floor : std::optional<BlockRow>();
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT " + std::string(kBlockColumns) +
                                               " FROM ts_blocks WHERE series_id = ?1 AND start_ts > ?2 AND start_ts < ?3 "
                                               "ORDER BY start_ts LIMIT 1"));
  st.BindAll(series, from, end);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<BlockRow>();
  return std::optional<BlockRow>(BlockFromRow(st, true));
}

Status MergeIntoBlocks(Connection& conn, TimeSeriesState& state, int64_t series, const std::vector<TimeSample>& samples,
                       const TimeSeriesOptions& options, std::vector<Overwrite>* overwrites) {
  TailBlock* tail = state.Tail(series);
  if (!tail) {
    DOTDO_ASSIGN_OR_RETURN(auto loaded, LoadTail(conn, series));
    if (!loaded) {  // the series has no blocks yet
      DOTDO_ASSIGN_OR_RETURN(TailBlock last, WriteChunks(conn, series, samples, 0, options));
      state.SetTail(series, std::move(last));
      return OkStatus();
    }
    tail = state.SetTail(series, std::move(*loaded));
  }
  if (samples.front().ts > tail->end_ts) return AppendToTail(conn, state, series, *tail, samples, options);
  // The general merge may rewrite any block, the tail included: it is reloaded on the next append.
  state.DropTail(series);
  size_t i = 0;
  std::vector<TimeSample> merged, stored;
  while (i < samples.size()) {
    const int64_t t = samples[i].ts;
    DOTDO_ASSIGN_OR_RETURN(auto block, FloorBlock(conn, series, t, false));
    if (!block) {
      DOTDO_ASSIGN_OR_RETURN(block, OneBlock(conn, kSelectFirst, series, std::nullopt, false));
    }
    if (!block) return InternalError("time-series blocks vanished during a write");
    // Samples below the next block's start belong to this block (invariant 1).
    DOTDO_ASSIGN_OR_RETURN(auto next_start, NextStart(conn, series, block->start_ts));
    size_t j = i;
    while (j < samples.size() && (!next_start || samples[j].ts < *next_start)) ++j;
    const std::vector<TimeSample> segment(samples.begin() + static_cast<std::ptrdiff_t>(i),
                                          samples.begin() + static_cast<std::ptrdiff_t>(j));
    const bool disjoint = segment.front().ts > block->end_ts || segment.back().ts < block->start_ts;
    if (disjoint && block->count >= options.max_block_points) {
      // A full block is left alone: the segment becomes block(s) of its own beside it.
      DOTDO_RETURN_IF_ERROR(WriteChunks(conn, series, segment, 0, options).status());
    } else {
      DOTDO_ASSIGN_OR_RETURN(auto full, OneBlock(conn, kSelectByRowid, block->rowid, std::nullopt, true));
      if (!full) return InternalError("time-series block vanished during a write");
      stored.clear();
      DOTDO_RETURN_IF_ERROR(DecodeBlock(full->data, full->count, stored));
      merged.clear();
      merged.reserve(stored.size() + segment.size());
      size_t a = 0, b = 0;
      while (a < stored.size() || b < segment.size()) {
        if (b == segment.size() || (a < stored.size() && stored[a].ts < segment[b].ts)) {
          merged.push_back(stored[a++]);
        } else {
          if (a < stored.size() && stored[a].ts == segment[b].ts) {
            if (overwrites) overwrites->push_back({segment[b].ts, stored[a].value});
            ++a;
          }
          merged.push_back(segment[b++]);
        }
      }
      DOTDO_RETURN_IF_ERROR(WriteChunks(conn, series, merged, block->rowid, options).status());
    }
    i = j;
  }
  return OkStatus();
}

}  // namespace internal
}  // namespace dotdo
