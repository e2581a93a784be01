// TimeSeriesStore::Aggregate: bucketed count/sum/min/max/avg/first/last and exact percentiles over
// [start, end). Blocks are visited in time order with one statement; a block that lies wholly
// inside the range and inside one bucket contributes its stored statistics without being decoded
// (unless a percentile needs its values); other blocks are decoded and their samples fed one by one.
#include <algorithm>
#include <array>
#include <cmath>

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

class Accumulator {
 public:
  void Add(double v) {
    if (count_ == 0) first_ = v, min_ = v, max_ = v;
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
    sum_ += v;
    last_ = v;
    ++count_;
    if (keep_values_) values_.push_back(v);
  }
  void AddBlock(const internal::BlockRow& b) {
    if (count_ == 0) first_ = b.first, min_ = b.min, max_ = b.max;
    min_ = std::min(min_, b.min);
    max_ = std::max(max_, b.max);
    sum_ += b.sum;
    last_ = b.last;
    count_ += b.count;
  }
  bool empty() const { return count_ == 0; }
  void set_keep_values(bool keep) { keep_values_ = keep; }

  TimeSeriesBucket Finish(int64_t start, const std::vector<TimeSeriesMetric>& metrics) {
    TimeSeriesBucket b{start, count_, {}};
    for (TimeSeriesMetric m : metrics) {
      switch (m) {
        case TimeSeriesMetric::kCount: b.values.push_back(static_cast<double>(count_)); break;
        case TimeSeriesMetric::kSum: b.values.push_back(sum_); break;
        case TimeSeriesMetric::kMin: b.values.push_back(min_); break;
        case TimeSeriesMetric::kMax: b.values.push_back(max_); break;
        case TimeSeriesMetric::kAvg: b.values.push_back(sum_ / static_cast<double>(count_)); break;
        case TimeSeriesMetric::kFirst: b.values.push_back(first_); break;
        case TimeSeriesMetric::kLast: b.values.push_back(last_); break;
        case TimeSeriesMetric::kP50: b.values.push_back(ExactPercentile(values_, 50)); break;
        case TimeSeriesMetric::kP90: b.values.push_back(ExactPercentile(values_, 90)); break;
        case TimeSeriesMetric::kP99: b.values.push_back(ExactPercentile(values_, 99)); break;
      }
    }
    *this = Accumulator();
    return b;
  }

 private:
  int64_t count_ = 0;
  double sum_ = 0, min_ = 0, max_ = 0, first_ = 0, last_ = 0;
  bool keep_values_ = false;
  std::vector<double> values_;
};

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
  DOTDO_RETURN_IF_ERROR(internal::ValidateRange(o.start, o.end));
  if (o.bucket_ms && *o.bucket_ms <= 0)
    return InvalidArgumentError("bucket must be greater than zero, got " + std::to_string(*o.bucket_ms) + " ms");
  if (o.metrics.empty()) return InvalidArgumentError("metrics: name at least one metric");
  std::vector<TimeSeriesMetric> metrics;
  bool percentiles = false;
  for (const std::string& name : o.metrics) {
    DOTDO_ASSIGN_OR_RETURN(TimeSeriesMetric m, ParseTimeSeriesMetric(name));
    metrics.push_back(m);
    percentiles = percentiles || IsPercentile(m);
  }
  DOTDO_ASSIGN_OR_RETURN(auto name, internal::MakeSeriesName(key, tags));
  TimeSeriesAggregate result;
  result.metrics = o.metrics;
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(internal::TimeSeriesState * state, internal::TimeSeriesState::Of(db_));
  DOTDO_ASSIGN_OR_RETURN(auto id, state->SeriesId(name, false));
  if (!id || o.start == o.end) return result;

  const auto bucket_of = [&](int64_t ts) { return o.bucket_ms ? ts - ts % *o.bucket_ms : o.start; };
  Accumulator acc;
  acc.set_keep_values(percentiles);
  int64_t current = -1;
  const auto enter = [&](int64_t bucket) {
    if (bucket == current) return;
    if (!acc.empty()) result.buckets.push_back(acc.Finish(current, metrics));
    acc.set_keep_values(percentiles);
    current = bucket;
  };
  std::vector<TimeSample> samples;
  DOTDO_RETURN_IF_ERROR(internal::ForEachBlock(conn, *id, o.start, o.end, [&](internal::BlockRow b) -> Result<bool> {
    if (!percentiles && b.start_ts >= o.start && b.end_ts < o.end && bucket_of(b.start_ts) == bucket_of(b.end_ts)) {
      enter(bucket_of(b.start_ts));
      acc.AddBlock(b);
      return true;
    }
    samples.clear();
    DOTDO_RETURN_IF_ERROR(internal::DecodeBlock(b.data, b.count, samples));
    for (const TimeSample& s : samples) {
      if (s.ts < o.start) continue;
      if (s.ts >= o.end) return false;
      enter(bucket_of(s.ts));
      acc.Add(s.value);
    }
    return true;
  }));
  if (!acc.empty()) result.buckets.push_back(acc.Finish(current, metrics));
  return result;
}

}  // namespace dotdo
