// TimeSeriesStore writes and point reads: Put / PutBatch (validation of the whole batch first,
// grouping by series, last-write-wins dedup, the block merge and the CDC events in one
// transaction), Get from the last block's statistics, GetAsOf through the LRU cache, and the
// block-at-a-time Range iterator.
#include <algorithm>
#include <cmath>

#include "cdc/outbox.h"
#include "core/json.h"
#include "timeseries/gorilla_codec.h"
#include "timeseries/timeseries_internal.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;
using internal::Outbox;
using internal::TimeSeriesState;

namespace {

// The points of one series in a batch.
struct SeriesGroup {
  std::string_view key;
  const TimeSeriesTags* tags;
  std::vector<std::pair<TimeSample, size_t>> samples;  // with the input index (later wins)
};

Json PointImage(std::string_view key, const TimeSeriesTags& tags, int64_t ts, double value) {
  return Json{{"key", key}, {"tags", tags}, {"ts", ts}, {"value", value}};
}

// key NUL tag1 SOH value1 SOH ...: unambiguous, since none of the parts may hold control characters.
void FlatSeriesKey(std::string_view key, const TimeSeriesTags& tags, std::string& out) {
  out.assign(key);
  out.push_back('\0');
  for (const auto& [k, v] : tags) {
    out += k;
    out.push_back('\1');
    out += v;
    out.push_back('\1');
  }
}

// Validates every point and groups them by series; nothing is written.
Result<std::vector<SeriesGroup>> GroupPoints(const std::vector<TimeSeriesPoint>& points) {
  std::vector<SeriesGroup> groups;
  std::unordered_map<std::string, size_t> by_series;
  std::string flat;
  for (size_t i = 0; i < points.size(); ++i) {
    const TimeSeriesPoint& p = points[i];
    if (!std::isfinite(p.value) || p.ts < kMinTimestampMs || p.ts > kMaxTimestampMs)
      return internal::ValidateSample(p.value, p.ts, "point " + std::to_string(i));
    FlatSeriesKey(p.key, p.tags, flat);
    auto [it, fresh] = by_series.try_emplace(flat, groups.size());
    if (fresh) {
      if (Status s = ValidateSeriesKey(p.key); !s.ok()) return InvalidArgumentError("point " + std::to_string(i) + ": " + s.message());
      if (Status s = ValidateSeriesTags(p.tags); !s.ok()) return InvalidArgumentError("point " + std::to_string(i) + ": " + s.message());
      groups.push_back({p.key, &p.tags, {}});
    }
    groups[it->second].samples.push_back({{p.ts, p.value}, i});
  }
  return groups;
}

// Ascending ts, one sample per ts (the one given last).
std::vector<TimeSample> SortedUnique(std::vector<std::pair<TimeSample, size_t>>& in) {
  std::sort(in.begin(), in.end(), [](const auto& a, const auto& b) {
    return a.first.ts != b.first.ts ? a.first.ts < b.first.ts : a.second < b.second;
  });
  std::vector<TimeSample> out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (i + 1 < in.size() && in[i + 1].first.ts == in[i].first.ts) continue;
    out.push_back(in[i].first);
  }
  return out;
}

std::string DayOf(int64_t ts) { return FormatIso8601(ts).substr(0, 10); }

}  // namespace

Result<TimeSeriesStore> TimeSeriesStore::Open(Database& db, TimeSeriesOptions options) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateOptions(options));
  DOTDO_RETURN_IF_ERROR(TimeSeriesState::ForRead(db).status());  // checks existing tables, makes none
  return TimeSeriesStore(db, options);
}

TimeSeriesStore::TimeSeriesStore(Database& db, TimeSeriesOptions options) : db_(db), options_(options) {}

Status TimeSeriesStore::Put(std::string_view key, double value, int64_t ts, const TimeSeriesTags& tags) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateOptions(options_));
  DOTDO_RETURN_IF_ERROR(internal::ValidateSample(value, ts, "point"));
  DOTDO_ASSIGN_OR_RETURN(auto name, internal::MakeSeriesName(key, tags));
  return db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(TimeSeriesState * state, TimeSeriesState::Of(db_));
    DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db_));
    DOTDO_ASSIGN_OR_RETURN(auto id, state->SeriesId(name, true));
    std::vector<internal::Overwrite> overwrites;
    DOTDO_RETURN_IF_ERROR(internal::MergeIntoBlocks(DatabaseInternals::Conn(db_), *state, *id, {{ts, value}}, options_, &overwrites));
    state->SeriesWritten(*id);
    DOTDO_RETURN_IF_ERROR(internal::PruneWrittenSeries(db_, *state, *id, key, tags, options_));
    const std::string event_key = internal::SeriesLabel(key, tags) + "@" + std::to_string(ts);
    std::optional<Json> before;
    if (!overwrites.empty()) before = PointImage(key, tags, ts, overwrites[0].before);
    return outbox->AppendChange(before ? ChangeOp::kUpdate : ChangeOp::kInsert, internal::kTimeSeriesSpec.name,
                                internal::kPointsTable, event_key, std::move(before), PointImage(key, tags, ts, value));
  });
}

Result<int64_t> TimeSeriesStore::PutBatch(const std::vector<TimeSeriesPoint>& points) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateOptions(options_));
  if (points.size() > kMaxTimeSeriesBatch)
    return InvalidArgumentError("a batch holds at most " + std::to_string(kMaxTimeSeriesBatch) + " points, got " +
                                std::to_string(points.size()) + "; split it");
  if (points.empty()) return int64_t{0};
  DOTDO_ASSIGN_OR_RETURN(auto groups, GroupPoints(points));
  const bool per_point = options_.cdc_mode == TimeSeriesCdcMode::kPerPoint;
  int64_t written = 0;
  Status st = db_.Transaction([&]() -> Status {
    written = 0;
    DOTDO_ASSIGN_OR_RETURN(TimeSeriesState * state, TimeSeriesState::Of(db_));
    DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db_));
    Connection& conn = DatabaseInternals::Conn(db_);
    int64_t min_ts = kMaxTimestampMs, max_ts = kMinTimestampMs;
    for (SeriesGroup& g : groups) {
      DOTDO_ASSIGN_OR_RETURN(auto name, internal::MakeSeriesName(g.key, *g.tags));
      DOTDO_ASSIGN_OR_RETURN(auto id, state->SeriesId(name, true));
      const std::vector<TimeSample> samples = SortedUnique(g.samples);
      std::vector<internal::Overwrite> overwrites;
      DOTDO_RETURN_IF_ERROR(internal::MergeIntoBlocks(conn, *state, *id, samples, options_, per_point ? &overwrites : nullptr));
      state->SeriesWritten(*id);
      DOTDO_RETURN_IF_ERROR(internal::PruneWrittenSeries(db_, *state, *id, g.key, *g.tags, options_));
      written += static_cast<int64_t>(samples.size());
      min_ts = std::min(min_ts, samples.front().ts);
      max_ts = std::max(max_ts, samples.back().ts);
      if (!per_point) continue;
      const std::string label = internal::SeriesLabel(g.key, *g.tags);
      size_t o = 0;  // overwrites come in ascending ts, like the samples
      for (const TimeSample& s : samples) {
        std::optional<Json> before;
        if (o < overwrites.size() && overwrites[o].ts == s.ts) before = PointImage(g.key, *g.tags, s.ts, overwrites[o++].before);
        DOTDO_RETURN_IF_ERROR(outbox->AppendChange(before ? ChangeOp::kUpdate : ChangeOp::kInsert, internal::kTimeSeriesSpec.name,
                                                   internal::kPointsTable, label + "@" + std::to_string(s.ts),
                                                   std::move(before), PointImage(g.key, *g.tags, s.ts, s.value)));
      }
    }
    if (per_point) return OkStatus();
    UnifiedEvent e;
    e.type = "cdc.batch_insert";
    e.op = std::string(ChangeOpCode(ChangeOp::kInsert));
    e.store = std::string(internal::kTimeSeriesSpec.name);
    e.table = std::string(internal::kPointsTable);
    e.after = Json{{"count", written}, {"series", groups.size()}, {"partition", DayOf(min_ts)},
                   {"from", FormatIso8601(min_ts)}, {"to", FormatIso8601(max_ts)}};
    return outbox->Append(e);
  });
  DOTDO_RETURN_IF_ERROR(st);
  return written;
}

Result<TimeSample> TimeSeriesStore::Get(std::string_view key, const TimeSeriesTags& tags) {
  DOTDO_ASSIGN_OR_RETURN(auto name, internal::MakeSeriesName(key, tags));
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(auto id, TimeSeriesState::ReadSeriesId(db_, name));
  auto missing = [&] { return NotFoundError("series '" + internal::SeriesLabel(key, tags) + "' has no points"); };
  if (!id) return missing();
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT end_ts, last FROM ts_blocks WHERE series_id = ?1 ORDER BY start_ts DESC LIMIT 1"));
  st.Bind(1, *id);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return missing();
  return TimeSample{st.ColumnInt64(0), st.ColumnDouble(1)};
}

Result<TimeSample> TimeSeriesStore::GetAsOf(std::string_view key, int64_t ts, const TimeSeriesTags& tags) {
  DOTDO_RETURN_IF_ERROR(ValidateTimestamp(ts));
  DOTDO_ASSIGN_OR_RETURN(auto name, internal::MakeSeriesName(key, tags));
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  TimeSeriesState* state = nullptr;
  DOTDO_ASSIGN_OR_RETURN(auto id, TimeSeriesState::ReadSeriesId(db_, name, &state));
  auto missing = [&] {
    return NotFoundError("series '" + internal::SeriesLabel(key, tags) + "' has no point at or before " + FormatIso8601(ts));
  };
  if (!id) return missing();
  std::optional<TimeSample> answer;
  if (auto cached = state->CachedAsOf(*id, ts, options_.as_of_cache_entries)) {
    answer = *cached;
  } else {
    DOTDO_ASSIGN_OR_RETURN(auto block, internal::FloorBlock(conn, *id, ts, true));
    if (block && ts >= block->end_ts) {
      answer = TimeSample{block->end_ts, block->last};
    } else if (block) {
      std::vector<TimeSample> samples;
      DOTDO_RETURN_IF_ERROR(internal::DecodeBlock(block->data, block->count, samples));
      auto it = std::upper_bound(samples.begin(), samples.end(), ts, [](int64_t t, const TimeSample& s) { return t < s.ts; });
      answer = *std::prev(it);  // the block starts at or before ts
    }
    state->RememberAsOf(*id, ts, answer, options_.as_of_cache_entries);
  }
  if (!answer) return missing();
  return *answer;
}

// ---------------------------------------------------------------------------------------------
// Range
// ---------------------------------------------------------------------------------------------

class TimeSeriesRange::Impl {
 public:
  Impl(Database& db, std::optional<int64_t> series, TimeRange range)
      : db_(db), series_(series), next_from_(range.start), end_(range.end) {}

  Result<bool> Next() {
    for (;;) {
      while (pos_ < buffer_.size()) {
        const TimeSample s = buffer_[pos_++];
        if (s.ts < next_from_) continue;
        if (s.ts >= end_) return Finish();
        next_from_ = s.ts + 1;
        current_ = s;
        return true;
      }
      if (done_ || !series_ || next_from_ >= end_) return Finish();
      Connection& conn = DatabaseInternals::Conn(db_);
      auto lock = conn.Lock();
      auto block = internal::NextBlock(conn, *series_, next_from_, end_);
      if (!block.ok()) return Fail(block.status());
      if (!*block) return Finish();
      buffer_.clear();
      pos_ = 0;
      if (Status s = internal::DecodeBlock((*block)->data, (*block)->count, buffer_); !s.ok()) return Fail(s);
    }
  }
  const TimeSample& sample() const { return current_; }

 private:
  Result<bool> Finish() {
    Stop();
    return false;
  }
  Result<bool> Fail(Status s) {
    Stop();
    return s;
  }
  void Stop() {
    done_ = true;
    buffer_.clear();
    pos_ = 0;
  }

  Database& db_;
  std::optional<int64_t> series_;
  int64_t next_from_, end_;
  std::vector<TimeSample> buffer_;  // one decoded block
  size_t pos_ = 0;
  bool done_ = false;
  TimeSample current_;
};

TimeSeriesRange::TimeSeriesRange(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TimeSeriesRange::~TimeSeriesRange() = default;
TimeSeriesRange::TimeSeriesRange(TimeSeriesRange&&) noexcept = default;
TimeSeriesRange& TimeSeriesRange::operator=(TimeSeriesRange&&) noexcept = default;
Result<bool> TimeSeriesRange::Next() { return impl_->Next(); }
const TimeSample& TimeSeriesRange::sample() const { return impl_->sample(); }

Result<TimeSeriesRange> TimeSeriesStore::Range(std::string_view key, TimeRange range, const TimeSeriesTags& tags) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateRange(range.start, range.end));
  DOTDO_ASSIGN_OR_RETURN(auto name, internal::MakeSeriesName(key, tags));
  auto lock = DatabaseInternals::Conn(db_).Lock();
  DOTDO_ASSIGN_OR_RETURN(auto id, TimeSeriesState::ReadSeriesId(db_, name));
  return TimeSeriesRange(std::make_unique<TimeSeriesRange::Impl>(db_, id, range));
}

}  // namespace dotdo
