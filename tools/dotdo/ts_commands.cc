// `dotdo ts ...`: the TimeSeriesStore from the shell — put one point or a batch (JSON lines or CSV
// from a file or stdin), get, get-as-of, range (JSON lines), agg (one series, or a tag filter with
// group-by), retention, prune, rollup and snapshots. Timestamps are ms since the epoch or ISO 8601;
// durations 500ms/30s/5m/1h/7d. Keys, tags, values and options are validated by the store itself
// (a batch is validated whole before its first transaction), so the CLI accepts exactly what the
// C++ API accepts.
#include <cmath>
#include <memory>
#include <sstream>

#include "cli.h"
#include "core/json.h"
#include "dotdo/timeseries.h"

namespace dotdo::cli {
namespace {

struct TsArgs {
  std::string key, value, ts, at, start, end, bucket, metrics = "count,sum,min,max,avg", where, group_by;
  std::vector<std::string> tags;
  std::string file, format;
  int64_t batch = 10'000;
  std::string retention, older_than, aggregates = "count,sum,min,max,avg";
  int64_t keep = 0;
  bool clear = false;
  std::string id;
};

Result<TimeSeriesStore> Open(Context& ctx, bool create, TimeSeriesOptions options = {}) {
  DOTDO_ASSIGN_OR_RETURN(Namespace * n, ctx.OpenNamespace(create));
  return n->TimeSeries(options);
}

Result<TimeSeriesTags> ParseTags(const std::vector<std::string>& args) {
  TimeSeriesTags tags;
  for (const std::string& t : args) {
    const size_t eq = t.find('=');
    if (eq == std::string::npos || eq == 0) return InvalidArgumentError("--tag '" + t + "' must look like name=value");
    tags[t.substr(0, eq)] = t.substr(eq + 1);
  }
  DOTDO_RETURN_IF_ERROR(ValidateSeriesTags(tags));
  return tags;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep)) out.push_back(item);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

Result<double> ParseValue(const std::string& text, const std::string& where) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    used = 0;
  }
  if (used == 0 || used != text.size()) return InvalidArgumentError(where + ": value '" + text + "' is not a number");
  return v;
}

Result<int64_t> TimestampOr(const std::string& text, int64_t fallback) { return text.empty() ? fallback : ParseTimestamp(text); }

Result<TimeSeriesPoint> PointFromJson(const Json& j, int64_t now, const std::string& where) {
  if (!j.is_object()) return InvalidArgumentError(where + ": expected a JSON object");
  TimeSeriesPoint p;
  if (!j.contains("key") || !j["key"].is_string()) return InvalidArgumentError(where + ": \"key\" must be a string");
  p.key = j["key"].get<std::string>();
  if (!j.contains("value") || !j["value"].is_number()) return InvalidArgumentError(where + ": \"value\" must be a number");
  p.value = j["value"].get<double>();
  p.ts = now;
  if (j.contains("ts")) {
    if (j["ts"].is_number_integer()) p.ts = j["ts"].get<int64_t>();
    else if (j["ts"].is_string()) {
      DOTDO_ASSIGN_OR_RETURN(p.ts, ParseTimestamp(j["ts"].get<std::string>()));
    } else return InvalidArgumentError(where + ": \"ts\" must be ms since the epoch or an ISO 8601 string");
  }
  if (j.contains("tags")) {
    if (!j["tags"].is_object()) return InvalidArgumentError(where + ": \"tags\" must be an object of strings");
    for (auto& [k, v] : j["tags"].items()) {
      if (!v.is_string()) return InvalidArgumentError(where + ": tag '" + k + "' must be a string");
      p.tags[k] = v.get<std::string>();
    }
  }
  return p;
}

// JSON lines ({"key","tags"?,"ts"?,"value"}) or CSV with a header naming key, ts, value and tag
// columns (plain fields: no quoting; an empty tag cell means the tag is absent).
Result<std::vector<TimeSeriesPoint>> ParseBatch(const std::string& text, bool csv, int64_t now) {
  std::vector<TimeSeriesPoint> out;
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> header;
  int key_col = -1, ts_col = -1, value_col = -1;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string where = "line " + std::to_string(n);
    if (!csv) {
      DOTDO_ASSIGN_OR_RETURN(Json j, internal::ParseJson(line, where));
      DOTDO_ASSIGN_OR_RETURN(auto p, PointFromJson(j, now, where));
      out.push_back(std::move(p));
      continue;
    }
    if (line.find('"') != std::string::npos) return InvalidArgumentError(where + ": quoted CSV fields are not supported");
    const auto cells = Split(line, ',');
    if (header.empty()) {
      header = cells;
      for (int i = 0; i < static_cast<int>(header.size()); ++i) {
        if (header[i] == "key") key_col = i;
        else if (header[i] == "ts") ts_col = i;
        else if (header[i] == "value") value_col = i;
      }
      if (key_col < 0 || value_col < 0) return InvalidArgumentError("CSV header must name the columns key and value (ts and tags optional)");
      continue;
    }
    if (cells.size() != header.size())
      return InvalidArgumentError(where + ": " + std::to_string(cells.size()) + " fields, the header has " + std::to_string(header.size()));
    TimeSeriesPoint p{cells[key_col], {}, now, 0};
    DOTDO_ASSIGN_OR_RETURN(p.value, ParseValue(cells[value_col], where));
    if (ts_col >= 0) {
      DOTDO_ASSIGN_OR_RETURN(p.ts, TimestampOr(cells[ts_col], now));
    }
    for (int i = 0; i < static_cast<int>(cells.size()); ++i)
      if (i != key_col && i != ts_col && i != value_col && !cells[i].empty()) p.tags[header[i]] = cells[i];
    out.push_back(std::move(p));
  }
  return out;
}

Result<Json> RunPut(Context& ctx, const TsArgs& a) {
  DOTDO_ASSIGN_OR_RETURN(Database * db, ctx.OpenDb(true));
  const int64_t now = db->NowMillis();
  if (a.file.empty()) {
    if (a.key.empty() || a.value.empty()) return InvalidArgumentError("put needs KEY VALUE, or --file <path|->");
    DOTDO_ASSIGN_OR_RETURN(TimeSeriesTags tags, ParseTags(a.tags));
    DOTDO_ASSIGN_OR_RETURN(double v, ParseValue(a.value, "put"));
    DOTDO_ASSIGN_OR_RETURN(int64_t ts, TimestampOr(a.ts, now));
    DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore store, Open(ctx, true));
    DOTDO_RETURN_IF_ERROR(store.Put(a.key, v, ts, tags));
    return TimeSeriesPointToJson({a.key, tags, ts, v});
  }
  if (!a.key.empty()) return InvalidArgumentError("give KEY VALUE or --file, not both");
  if (a.batch < 1 || a.batch > static_cast<int64_t>(kMaxTimeSeriesBatch))
    return InvalidArgumentError("--batch must be 1.." + std::to_string(kMaxTimeSeriesBatch));
  const bool csv = a.format.empty() ? a.file.size() > 4 && a.file.substr(a.file.size() - 4) == ".csv" : a.format == "csv";
  if (!a.format.empty() && a.format != "csv" && a.format != "jsonl") return InvalidArgumentError("--format must be jsonl or csv");
  DOTDO_ASSIGN_OR_RETURN(std::string text, ReadArgText(a.file == "-" ? a.file : "@" + a.file));
  DOTDO_ASSIGN_OR_RETURN(auto points, ParseBatch(text, csv, now));
  // Everything is checked before the first batch commits, so bad input writes nothing.
  for (size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    Status s = ValidateSeriesKey(p.key);
    if (s.ok()) s = ValidateSeriesTags(p.tags);
    if (s.ok()) s = ValidateTimestamp(p.ts);
    if (s.ok() && !std::isfinite(p.value)) s = InvalidArgumentError("the value must be a finite number");
    if (!s.ok()) return InvalidArgumentError("point " + std::to_string(i + 1) + ": " + s.message());
  }
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore store, Open(ctx, true));
  int64_t written = 0, batches = 0;
  for (size_t i = 0; i < points.size(); i += static_cast<size_t>(a.batch)) {
    const auto end = points.begin() + static_cast<std::ptrdiff_t>(std::min(points.size(), i + static_cast<size_t>(a.batch)));
    DOTDO_ASSIGN_OR_RETURN(int64_t n, store.PutBatch({points.begin() + static_cast<std::ptrdiff_t>(i), end}));
    written += n;
    ++batches;
  }
  return Json{{"points", points.size()}, {"written", written}, {"batches", batches}};
}

Json SampleJson(const TimeSample& s) { return Json{{"ts", s.ts}, {"time", FormatIso8601(s.ts)}, {"value", s.value}}; }

Result<Json> RunGet(Context& ctx, const TsArgs& a, bool as_of) {
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesTags tags, ParseTags(a.tags));
  std::optional<int64_t> at;
  if (as_of) {
    DOTDO_ASSIGN_OR_RETURN(at, ParseTimestamp(a.at));
  }
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore store, Open(ctx, false));
  DOTDO_ASSIGN_OR_RETURN(TimeSample s, at ? store.GetAsOf(a.key, *at, tags) : store.Get(a.key, tags));
  Json j = SampleJson(s);
  j["key"] = a.key;
  j["tags"] = tags;
  return j;
}

Status RunRange(Context& ctx, const TsArgs& a) {
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesTags tags, ParseTags(a.tags));
  TimeRange r;
  DOTDO_ASSIGN_OR_RETURN(r.start, TimestampOr(a.start, kMinTimestampMs));
  DOTDO_ASSIGN_OR_RETURN(r.end, TimestampOr(a.end, kMaxTimestampMs + 1));
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore store, Open(ctx, false));
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesRange it, store.Range(a.key, r, tags));
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool more, it.Next());
    if (!more) return OkStatus();
    std::cout << internal::DumpJson(SampleJson(it.sample())) << "\n";
  }
}

Result<Json> RunAgg(Context& ctx, const TsArgs& a) {
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesTags tags, ParseTags(a.tags));
  TimeSeriesAggregateOptions o{.metrics = Split(a.metrics, ',')};
  DOTDO_ASSIGN_OR_RETURN(o.start, TimestampOr(a.start, kMinTimestampMs));
  DOTDO_ASSIGN_OR_RETURN(o.end, TimestampOr(a.end, kMaxTimestampMs + 1));
  if (!a.bucket.empty()) {
    DOTDO_ASSIGN_OR_RETURN(o.bucket_ms, ParsePositiveDuration(a.bucket, "bucket"));
  }
  const bool filtered = !a.where.empty() || !a.group_by.empty();
  if (filtered && !tags.empty()) return InvalidArgumentError("--tag names one series; use --where to filter several");
  DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore store, Open(ctx, false));
  if (!filtered) {
    DOTDO_ASSIGN_OR_RETURN(auto agg, store.Aggregate(a.key, o, tags));
    return TimeSeriesAggregateToJson(agg);
  }
  Json where = nullptr;
  if (!a.where.empty()) {
    DOTDO_ASSIGN_OR_RETURN(std::string text, ReadArgText(a.where));
    DOTDO_ASSIGN_OR_RETURN(where, ParseJsonArg("where", text));
  }
  DOTDO_ASSIGN_OR_RETURN(auto groups, store.AggregateWhere(a.key, where, o, a.group_by.empty() ? std::vector<std::string>{} : Split(a.group_by, ',')));
  Json out = Json::array();
  for (const auto& g : groups) out.push_back(TimeSeriesGroupToJson(g));
  return Json{{"groups", std::move(out)}};
}

Json PruneJson(const TimeSeriesPruneResult& r) { return Json{{"points_removed", r.points_removed}, {"series_pruned", r.series_pruned}}; }
Json SnapshotJson(const TimeSeriesSnapshot& s) {
  return Json{{"id", s.id}, {"created_at", FormatIso8601(s.created_at)}, {"series", s.series}, {"points", s.points}};
}

const CommandGroup kTimeSeriesCommands(25, [](CLI::App& app, Context& ctx) {
  auto* ts = app.add_subcommand("ts", "Time series: put, get, ranges, aggregates, retention, rollups, snapshots");
  ts->require_subcommand(1);
  auto a = std::make_shared<TsArgs>();
  const auto tag_arg = [a](CLI::App* cmd) { cmd->add_option("--tag", a->tags, "Series tag name=value (repeatable)"); };
  const auto key_arg = [a](CLI::App* cmd) { cmd->add_option("key", a->key, "Series key")->required(); };
  const auto span_args = [a](CLI::App* cmd) {
    cmd->add_option("--start", a->start, "Inclusive start: ms or ISO 8601 (default: the beginning)");
    cmd->add_option("--end", a->end, "Exclusive end: ms or ISO 8601 (default: the end of time)");
  };

  auto* put = ts->add_subcommand("put", "Write one point (KEY VALUE [--ts] [--tag]) or a batch (--file path|- of JSON lines or CSV)");
  put->add_option("key", a->key, "Series key");
  put->add_option("value", a->value, "Value (a finite number)");
  put->add_option("--ts", a->ts, "Timestamp: ms or ISO 8601 (default: now)");
  tag_arg(put);
  put->add_option("--file", a->file, "Batch input: a file, or - for stdin; JSON lines {key,tags,ts,value} or CSV key,ts,value,<tags...>");
  put->add_option("--format", a->format, "jsonl or csv (default: csv for *.csv, else jsonl)");
  put->add_option("--batch", a->batch, "Points per transaction for --file (default 10000)");
  put->callback([&ctx, a] { ctx.Finish(RunPut(ctx, *a)); });

  auto* get = ts->add_subcommand("get", "The latest point of a series");
  key_arg(get);
  tag_arg(get);
  get->callback([&ctx, a] { ctx.Finish(RunGet(ctx, *a, false)); });

  auto* as_of = ts->add_subcommand("get-as-of", "The latest point at or before a time");
  key_arg(as_of);
  as_of->add_option("time", a->at, "ms or ISO 8601")->required();
  tag_arg(as_of);
  as_of->callback([&ctx, a] { ctx.Finish(RunGet(ctx, *a, true)); });

  auto* range = ts->add_subcommand("range", "Points of a series in [start, end), one JSON line each");
  key_arg(range);
  span_args(range);
  tag_arg(range);
  range->callback([&ctx, a] {
    if (Status s = RunRange(ctx, *a); !s.ok()) ctx.Fail(s);
  });

  auto* agg = ts->add_subcommand("agg", "Bucketed aggregates of a series, or of every series matching --where, grouped by tags");
  key_arg(agg);
  span_args(agg);
  tag_arg(agg);
  agg->add_option("--bucket", a->bucket, "Bucket width: 500ms, 30s, 5m, 1h, 1d, ... (default: one bucket)");
  agg->add_option("--metrics", a->metrics, "Comma-separated: count,sum,min,max,avg,first,last,p50,p90,p99 (default count,sum,min,max,avg)");
  agg->add_option("--where", a->where, "Tag filter (JSON, @file or -), e.g. {\"region\":\"eu\"}");
  agg->add_option("--group-by", a->group_by, "Comma-separated tag names to group by");
  agg->callback([&ctx, a] { ctx.Finish(RunAgg(ctx, *a)); });

  auto* retention = ts->add_subcommand("retention", "Show a key's retention, set it (DURATION) or --clear it");
  key_arg(retention);
  retention->add_option("duration", a->retention, "Retention, e.g. 7d");
  retention->add_flag("--clear", a->clear, "Remove the key's own retention");
  retention->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      if (a->clear && !a->retention.empty()) return InvalidArgumentError("give a duration or --clear, not both");
      std::optional<int64_t> ms;
      if (!a->retention.empty()) {
        DOTDO_ASSIGN_OR_RETURN(ms, ParsePositiveDuration(a->retention, "retention"));
      }
      DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore store, Open(ctx, ms.has_value() || a->clear));
      if (ms || a->clear) DOTDO_RETURN_IF_ERROR(store.SetRetention(a->key, ms));
      DOTDO_ASSIGN_OR_RETURN(auto r, store.GetRetention(a->key));
      return Json{{"key", a->key}, {"retention_ms", r ? Json(*r) : Json(nullptr)}};
    }());
  });

  auto* prune = ts->add_subcommand("prune", "Remove expired points (per-key retention, else --retention); or --keep N newest per series");
  prune->add_option("--retention", a->retention, "Store-wide retention for this run, e.g. 30d (default: keys' own only)");
  prune->add_option("--keep", a->keep, "Compact instead: keep the newest N points of every series");
  prune->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      TimeSeriesOptions o;
      if (!a->retention.empty()) {
        DOTDO_ASSIGN_OR_RETURN(o.retention_ms, ParsePositiveDuration(a->retention, "retention"));
      }
      DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore store, Open(ctx, false, o));
      if (a->keep != 0) {
        if (!a->retention.empty()) return InvalidArgumentError("give --retention or --keep, not both");
        DOTDO_ASSIGN_OR_RETURN(auto r, store.Compact({.max_versions_per_key = a->keep}));
        return PruneJson(r);
      }
      DOTDO_ASSIGN_OR_RETURN(auto r, store.Prune());
      return PruneJson(r);
    }());
  });

  auto* rollup = ts->add_subcommand("rollup", "Replace raw points older than --older-than by per-bucket aggregates");
  rollup->add_option("--older-than", a->older_than, "e.g. 7d")->required();
  rollup->add_option("--bucket", a->bucket, "e.g. 1h")->required();
  rollup->add_option("--aggregates", a->aggregates, "Metrics to keep; a percentile keeps a DDSketch (default count,sum,min,max,avg)");
  rollup->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      TimeSeriesRollupOptions o{.aggregates = Split(a->aggregates, ',')};
      DOTDO_ASSIGN_OR_RETURN(o.older_than_ms, ParsePositiveDuration(a->older_than, "older-than"));
      DOTDO_ASSIGN_OR_RETURN(o.bucket_ms, ParsePositiveDuration(a->bucket, "bucket"));
      DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore store, Open(ctx, false));
      DOTDO_ASSIGN_OR_RETURN(auto r, store.Rollup(o));
      return Json{{"points_rolled_up", r.points_rolled_up}, {"buckets_written", r.buckets_written}, {"series_rolled_up", r.series_rolled_up}};
    }());
  });

  auto* snapshot = ts->add_subcommand("snapshot", "Snapshots of the whole store: create, list, restore ID, delete ID");
  snapshot->require_subcommand(1);
  auto* create = snapshot->add_subcommand("create", "Copy the store under a new id");
  create->callback([&ctx] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore store, Open(ctx, true));
      DOTDO_ASSIGN_OR_RETURN(auto s, store.CreateSnapshot());
      return SnapshotJson(s);
    }());
  });
  auto* list = snapshot->add_subcommand("list", "Snapshots, oldest first");
  list->callback([&ctx] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore store, Open(ctx, false));
      DOTDO_ASSIGN_OR_RETURN(auto all, store.ListSnapshots());
      Json out = Json::array();
      for (const auto& s : all) out.push_back(SnapshotJson(s));
      return Json{{"snapshots", std::move(out)}};
    }());
  });
  for (const char* name : {"restore", "delete"}) {
    const bool restore = std::string_view(name) == "restore";
    auto* cmd = snapshot->add_subcommand(name, restore ? "Replace the store by a snapshot (atomic)" : "Delete a snapshot");
    cmd->add_option("id", a->id, "Snapshot id")->required();
    cmd->callback([&ctx, a, restore] {
      ctx.Finish([&]() -> Result<Json> {
        DOTDO_ASSIGN_OR_RETURN(TimeSeriesStore store, Open(ctx, false));
        DOTDO_RETURN_IF_ERROR(restore ? store.RestoreSnapshot(a->id) : store.DeleteSnapshot(a->id));
        return Json{{"id", a->id}, {restore ? "restored" : "deleted", true}};
      }());
    });
  }
});

}  // namespace
}  // namespace dotdo::cli
