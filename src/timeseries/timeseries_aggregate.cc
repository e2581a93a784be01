// TimeSeriesStore::Aggregate: bucketed count/sum/min/max/avg/first/last and exact percentiles over
// [start, end). Blocks are visited in time order with one statement; a block that lies wholly
// inside the range and inside one bucket contributes its stored statistics without being decoded
// (unless a percentile needs its values); other blocks are decoded and their samples fed one by one.
// Rolled-up buckets (ts_rollups) contribute their stored aggregates and quantile sketches.
#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include "timeseries/gorilla_codec.h"
#include "timeseries/timeseries_internal.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;

namespace {

constexpr std::array<std::pair<std::string_view, TimeSeriesMetric>, 10> kMetricNames = {{
    {"count", TimeSeriesMetric::kCount},
    {"sum", TimeSeriesMetric::kSum},
    {"min", TimeSeriesMetric::kMin},
    {"max", TimeSeriesMetric::kMax},
    {"avg", TimeSeriesMetric::kAvg},
    {"first", TimeSeriesMetric::kFirst},
    {"last", TimeSeriesMetric::kLast},
    {"p50", TimeSeriesMetric::kP50},
    {"p90", TimeSeriesMetric::kP90},
    {"p99", TimeSeriesMetric::kP99},
}};

bool IsPercentile(TimeSeriesMetric m) {
  return m == TimeSeriesMetric::kP50 || m == TimeSeriesMetric::kP90 || m == TimeSeriesMetric::kP99;
}

// Nearest rank: the value at rank ceil(p/100 * n) of the sorted values. Reorders `values`.
double ExactPercentile(std::vector<double>& values, double p) {
  const size_t n = values.size();
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(n)));
  rank = std::clamp<size_t>(rank, 1, n);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank - 1), values.end());
  return values[rank - 1];
}

// The running aggregate of one bucket (over one or several series): the stats of a rollup row
// (first/last by timestamp; among equal timestamps of different series the one added first
// counts), the raw values for exact percentiles, and the merged sketch of rolled-up data.
class Accumulator {
 public:
  void Add(int64_t ts, double v, bool keep_value) {
    stats_.Add(ts, v);
    if (keep_value) values_.push_back(v);
  }
  void AddBlock(const internal::BlockRow& b) {
    stats_.Merge({0, 0, b.count, b.sum, b.min, b.max, b.first, b.last, b.start_ts, b.end_ts, std::nullopt});
  }
  // A rollup row; its sketch joins the bucket's (REQUIRES: present when percentiles are asked).
  void AddRollup(const internal::RollupRow& r, bool percentiles) {
    stats_.Merge(r);
    if (percentiles && r.sketch) {
      if (!sketch_) sketch_.emplace();
      sketch_->Merge(*r.sketch);
    }
  }

  TimeSeriesBucket Finish(int64_t start, const std::vector<TimeSeriesMetric>& metrics) {
    const internal::RollupRow& s = stats_;
    TimeSeriesBucket b{start, s.count, {}};
    if (sketch_) {  // rolled-up data in the bucket: percentiles come from the sketch, raw values join it
      for (double v : values_) sketch_->Add(v);
      values_.clear();
    }
    const auto percentile = [&](double p) { return sketch_ ? sketch_->Quantile(p / 100) : ExactPercentile(values_, p); };
    for (TimeSeriesMetric m : metrics) {
      switch (m) {
        case TimeSeriesMetric::kCount: b.values.push_back(static_cast<double>(s.count)); break;
        case TimeSeriesMetric::kSum: b.values.push_back(s.sum); break;
        case TimeSeriesMetric::kMin: b.values.push_back(s.min); break;
        case TimeSeriesMetric::kMax: b.values.push_back(s.max); break;
        case TimeSeriesMetric::kAvg: b.values.push_back(s.sum / static_cast<double>(s.count)); break;
        case TimeSeriesMetric::kFirst: b.values.push_back(s.first); break;
        case TimeSeriesMetric::kLast: b.values.push_back(s.last); break;
        case TimeSeriesMetric::kP50: b.values.push_back(percentile(50)); break;
        case TimeSeriesMetric::kP90: b.values.push_back(percentile(90)); break;
        case TimeSeriesMetric::kP99: b.values.push_back(percentile(99)); break;
      }
    }
    return b;
  }

 private:
  internal::RollupRow stats_;  // no sketch: that is sketch_
  std::vector<double> values_;
  std::optional<internal::DDSketch> sketch_;
};

// Percentiles keep every value of the range in memory; beyond this many the call fails.
constexpr size_t kMaxPercentileValues = 50'000'000;

struct AggregatePlan {
  const TimeSeriesAggregateOptions* options;
  std::vector<TimeSeriesMetric> metrics;
  bool percentiles = false;

  int64_t BucketOf(int64_t ts) const { return options->bucket_ms ? ts - ts % *options->bucket_ms : options->start; }
};

Result<AggregatePlan> MakePlan(const TimeSeriesAggregateOptions& o) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateRange(o.start, o.end));
  if (o.bucket_ms && *o.bucket_ms <= 0)
    return InvalidArgumentError("bucket must be greater than zero, got " + std::to_string(*o.bucket_ms) + " ms");
  if (o.metrics.empty()) return InvalidArgumentError("metrics: name at least one metric");
  AggregatePlan plan{&o, {}, false};
  for (const std::string& name : o.metrics) {
    DOTDO_ASSIGN_OR_RETURN(TimeSeriesMetric m, ParseTimeSeriesMetric(name));
    plan.metrics.push_back(m);
    plan.percentiles = plan.percentiles || IsPercentile(m);
  }
  return plan;
}

using BucketMap = std::map<int64_t, Accumulator>;

// Adds the points of one series in [start, end) to `buckets`. `kept` counts the values held for
// percentiles across calls.
Status AccumulateSeries(Connection& conn, int64_t series, const AggregatePlan& plan, BucketMap& buckets, size_t& kept) {
  const TimeSeriesAggregateOptions& o = *plan.options;
  std::vector<TimeSample> samples;
  Accumulator* acc = nullptr;
  int64_t current = -1;
  const auto enter = [&](int64_t bucket) {
    if (bucket != current || !acc) acc = &buckets[bucket], current = bucket;
  };
  DOTDO_RETURN_IF_ERROR(internal::ForEachRollup(conn, series, o.start, o.end, [&](internal::RollupRow& r) -> Status {
    if (o.bucket_ms && *o.bucket_ms % r.bucket_ms != 0)
      return FailedPreconditionError("the range holds data rolled up to " + std::to_string(r.bucket_ms) +
                                     " ms buckets; use a bucket that is a multiple of it");
    if (plan.percentiles && !r.sketch)
      return FailedPreconditionError("the range holds data rolled up without percentiles; roll up with p50/p90/p99 to ask for them");
    buckets[plan.BucketOf(r.bucket_start)].AddRollup(r, plan.percentiles);
    return OkStatus();
  }));
  return internal::ForEachBlock(conn, series, o.start, o.end, [&](internal::BlockRow b) -> Result<bool> {
    if (!plan.percentiles && b.start_ts >= o.start && b.end_ts < o.end && plan.BucketOf(b.start_ts) == plan.BucketOf(b.end_ts)) {
      enter(plan.BucketOf(b.start_ts));
      acc->AddBlock(b);
      return true;
    }
    samples.clear();
    DOTDO_RETURN_IF_ERROR(internal::DecodeBlock(b.data, b.count, samples));
    for (const TimeSample& s : samples) {
      if (s.ts < o.start) continue;
      if (s.ts >= o.end) return false;
      enter(plan.BucketOf(s.ts));
      acc->Add(s.ts, s.value, plan.percentiles);
      if (plan.percentiles && ++kept > kMaxPercentileValues)
        return ResourceExhaustedError("percentiles over more than " + std::to_string(kMaxPercentileValues) +
                                      " points; narrow the range or the filter");
    }
    return true;
  });
}

TimeSeriesAggregate FinishBuckets(BucketMap& buckets, const AggregatePlan& plan) {
  TimeSeriesAggregate out;
  out.metrics = plan.options->metrics;
  for (auto& [start, acc] : buckets) out.buckets.push_back(acc.Finish(start, plan.metrics));
  return out;
}

}  // namespace

Result<TimeSeriesMetric> ParseTimeSeriesMetric(std::string_view name) {
  for (const auto& [n, m] : kMetricNames)
    if (n == name) return m;
  return InvalidArgumentError("unknown metric '" + std::string(name.substr(0, 40)) +
                              "'; valid metrics: count, sum, min, max, avg, first, last, p50, p90, p99");
}

std::string_view TimeSeriesMetricName(TimeSeriesMetric metric) {
  for (const auto& [n, m] : kMetricNames)
    if (m == metric) return n;
  return "count";
}

Json TimeSeriesGroupToJson(const TimeSeriesGroup& g) {
  Json j = TimeSeriesAggregateToJson(g.aggregate);
  j["group"] = g.group;
  j["series"] = g.series;
  return j;
}

Json TimeSeriesAggregateToJson(const TimeSeriesAggregate& a) {
  Json buckets = Json::array();
  for (const TimeSeriesBucket& b : a.buckets) {
    Json j{{"start", b.start}, {"time", FormatIso8601(b.start)}, {"count", b.count}};
    for (size_t i = 0; i < a.metrics.size() && i < b.values.size(); ++i) j[a.metrics[i]] = b.values[i];
    buckets.push_back(std::move(j));
  }
  return Json{{"metrics", a.metrics}, {"buckets", std::move(buckets)}};
}

Result<TimeSeriesAggregate> TimeSeriesStore::Aggregate(std::string_view key, const TimeSeriesAggregateOptions& o,
                                                       const TimeSeriesTags& tags) {
  DOTDO_ASSIGN_OR_RETURN(AggregatePlan plan, MakePlan(o));
  DOTDO_ASSIGN_OR_RETURN(auto name, internal::MakeSeriesName(key, tags));
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(auto id, internal::TimeSeriesState::ReadSeriesId(db_, name));
  BucketMap buckets;
  size_t kept = 0;
  if (id && o.start < o.end) DOTDO_RETURN_IF_ERROR(AccumulateSeries(conn, *id, plan, buckets, kept));
  return FinishBuckets(buckets, plan);
}

Result<std::vector<TimeSeriesGroup>> TimeSeriesStore::AggregateWhere(std::string_view key, const Json& where,
                                                                     const TimeSeriesAggregateOptions& o,
                                                                     const std::vector<std::string>& group_by) {
  DOTDO_ASSIGN_OR_RETURN(AggregatePlan plan, MakePlan(o));
  for (const std::string& tag : group_by) {
    TimeSeriesTags probe{{tag, "x"}};
    DOTDO_RETURN_IF_ERROR(ValidateSeriesTags(probe));
  }
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(std::vector<internal::SeriesRow> series, internal::MatchSeries(db_, key, where));
  std::map<TimeSeriesTags, std::pair<int64_t, BucketMap>> groups;
  size_t kept = 0;
  for (const internal::SeriesRow& s : series) {
    TimeSeriesTags group;
    for (const std::string& tag : group_by)
      if (auto it = s.info.tags.find(tag); it != s.info.tags.end()) group.insert(*it);
    auto& [count, buckets] = groups[group];
    ++count;
    if (o.start < o.end) DOTDO_RETURN_IF_ERROR(AccumulateSeries(conn, s.id, plan, buckets, kept));
  }
  std::vector<TimeSeriesGroup> out;
  for (auto& [group, entry] : groups) out.push_back({group, entry.first, FinishBuckets(entry.second, plan)});
  return out;
}

}  // namespace dotdo
