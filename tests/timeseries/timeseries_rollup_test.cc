// Rollups: raw points become per-bucket rows Aggregate answers from (exactly for count/sum/min/
// max/avg/first/last), finer rollups fold into coarser ones, late points join, the cdc.rollup event;
// DDSketch percentiles stay within 1% relative error of exact on 1M skewed points after rolling
// 1-minute buckets up and up again to 1 hour; out-of-order ingest gives the same rollups as sorted.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "dotdo/cdc.h"
#include "dotdo/timeseries.h"
#include "testing/test_util.h"
#include "timeseries/ddsketch.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

constexpr int64_t kHour = 3'600'000, kMinute = 60'000;
constexpr int64_t kNow = 1'700'002'800'000;  // a whole hour
const std::vector<std::string> kBasic = {"count", "sum", "min", "max", "avg", "first", "last"};

TEST(DDSketchTest, QuantilesWithinRelativeErrorAndRoundTrip) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> dist(0, 2);
  std::vector<double> values;
  internal::DDSketch a, b;
  for (int i = 0; i < 20000; ++i) {
    const double v = i % 10 == 0 ? -dist(rng) : i % 97 == 0 ? 0.0 : dist(rng);
    values.push_back(v);
    (i % 2 ? a : b).Add(v);
  }
  a.Merge(b);
  std::sort(values.begin(), values.end());
  for (double q : {0.01, 0.05, 0.1, 0.5, 0.9, 0.99, 1.0}) {
    const double exact = values[static_cast<size_t>(std::ceil(q * values.size())) - 1];
    EXPECT_LE(std::fabs(a.Quantile(q) - exact), 0.01 * std::fabs(exact) + 1e-300) << q;
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto back, internal::DDSketch::Deserialize(a.Serialize()));
  EXPECT_EQ(back.count(), a.count());
  EXPECT_EQ(back.Quantile(0.5), a.Quantile(0.5));
  EXPECT_THAT(internal::DDSketch::Deserialize("\xff"), StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(internal::DDSketch::Deserialize(a.Serialize() + "x"), StatusIs(StatusCode::kDataLoss));
}

class TimeSeriesRollupTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = testing::OpenMemoryDb(&clock_); }
  ManualClock clock_{kNow};
  std::unique_ptr<Database> db_;
};

TEST_F(TimeSeriesRollupTest, RollupReplacesRawPointsAndAggregateAnswersFromIt) {
  TimeSeriesStore ts(*db_, {.max_block_points = 64});
  std::vector<TimeSeriesPoint> pts;
  for (int64_t t = kNow - 10 * kHour; t < kNow; t += kMinute) pts.push_back({"cpu", {}, t, static_cast<double>((t / kMinute) % 997)});
  DOTDO_ASSERT_OK(ts.PutBatch(pts));
  const TimeSeriesAggregateOptions hourly{.bucket_ms = kHour, .metrics = kBasic};
  DOTDO_ASSERT_OK_AND_ASSIGN(auto before, ts.Aggregate("cpu", hourly));

  EXPECT_THAT(ts.Rollup({.older_than_ms = 0, .bucket_ms = kHour}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.Rollup({.older_than_ms = kHour, .bucket_ms = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.Rollup({.older_than_ms = kHour, .bucket_ms = kHour, .aggregates = {"median"}}), StatusIs(StatusCode::kInvalidArgument));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto r, ts.Rollup({.older_than_ms = 2 * kHour + 1, .bucket_ms = kHour}));
  EXPECT_EQ(r.points_rolled_up, 7 * 60);  // whole buckets only: the cutoff rounds down to kNow - 3h
  EXPECT_EQ(r.buckets_written, 7);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto it, ts.Range("cpu"));
  ASSERT_TRUE(*it.Next());
  EXPECT_EQ(it.sample().ts, kNow - 3 * kHour);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto after, ts.Aggregate("cpu", hourly));
  ASSERT_EQ(after.buckets.size(), before.buckets.size());
  for (size_t i = 0; i < before.buckets.size(); ++i) {
    EXPECT_EQ(after.buckets[i].start, before.buckets[i].start);
    EXPECT_EQ(after.buckets[i].values, before.buckets[i].values) << i;
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto total, ts.Aggregate("cpu", {.metrics = {"count"}}));
  EXPECT_EQ(total.buckets[0].count, 600);
  EXPECT_THAT(ts.Aggregate("cpu", {.bucket_ms = 30 * kMinute}), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(ts.Aggregate("cpu", {.metrics = {"p50"}}), StatusIs(StatusCode::kFailedPrecondition));
  DOTDO_ASSERT_OK(ts.Aggregate("cpu", {.start = kNow - 3 * kHour, .bucket_ms = 30 * kMinute}));  // raw only
  DOTDO_ASSERT_OK_AND_ASSIGN(auto events, ChangeFeed(*db_).Read(0, 100));
  ASSERT_EQ(events.back().type, "cdc.rollup");
  EXPECT_EQ(events.back().op, "r");
  EXPECT_EQ((*events.back().after)["count"], 420);
  EXPECT_EQ((*events.back().after)["buckets"], 7);
  EXPECT_EQ((*events.back().after)["partition"], FormatIso8601(kNow - 10 * kHour).substr(0, 10));
  EXPECT_EQ(ts.Rollup({.older_than_ms = 2 * kHour + 1, .bucket_ms = kHour})->buckets_written, 0);

  // A late point in a rolled-up hour is seen at once and folded in by the next rollup.
  DOTDO_ASSERT_OK(ts.Put("cpu", 5000, kNow - 9 * kHour + 30));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto late, ts.Aggregate("cpu", {.start = kNow - 9 * kHour, .end = kNow - 8 * kHour, .metrics = {"count", "max"}}));
  EXPECT_EQ(late.buckets[0].values, (std::vector<double>{61, 5000}));
  DOTDO_ASSERT_OK_AND_ASSIGN(r, ts.Rollup({.older_than_ms = 2 * kHour + 1, .bucket_ms = kHour}));
  EXPECT_EQ(r.points_rolled_up, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(late, ts.Aggregate("cpu", {.start = kNow - 9 * kHour, .end = kNow - 8 * kHour, .metrics = {"count", "max"}}));
  EXPECT_EQ(late.buckets[0].values, (std::vector<double>{61, 5000}));
  // A finer rollup than the existing one cannot fold it.
  clock_.Advance(kHour);
  EXPECT_THAT(ts.Rollup({.older_than_ms = 1, .bucket_ms = 7 * kMinute}), StatusIs(StatusCode::kFailedPrecondition));
}

// 1M lognormal points, one every 50 ms (~14 hours): rolled up to 1-minute buckets with sketches,
// then aggregated by hour, then rolled up again to 1-hour buckets.
TEST_F(TimeSeriesRollupTest, SketchPercentilesStayWithinOnePercentOfExact) {
  TimeSeriesStore ts(*db_);
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> dist(3, 1.5);
  const int64_t start = kNow - 15 * kHour;
  std::map<int64_t, std::vector<double>> exact;
  std::vector<TimeSeriesPoint> batch;
  for (int i = 0; i < 1'000'000; ++i) {
    const int64_t t = start + i * 50;
    const double v = std::round(dist(rng) * 1000) / 1000;
    exact[t - t % kHour].push_back(v);
    batch.push_back({"latency", {}, t, v});
    if (batch.size() == 100'000) {
      DOTDO_ASSERT_OK(ts.PutBatch(batch));
      batch.clear();
    }
  }
  for (auto& [h, v] : exact) std::sort(v.begin(), v.end());
  const auto check = [&](const char* stage) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto agg, ts.Aggregate("latency", {.end = kNow, .bucket_ms = kHour, .metrics = {"count", "p50", "p99"}}));
    ASSERT_EQ(agg.buckets.size(), exact.size());
    for (const auto& b : agg.buckets) {
      const auto& v = exact.at(b.start);
      ASSERT_EQ(b.count, static_cast<int64_t>(v.size()));
      for (auto [i, q] : {std::pair{1, 0.5}, std::pair{2, 0.99}}) {
        const double want = v[static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1];
        EXPECT_LE(std::fabs(b.values[i] - want), 0.01 * want) << stage << " hour " << b.start << " q " << q;
      }
    }
  };
  check("raw");
  DOTDO_ASSERT_OK_AND_ASSIGN(auto r, ts.Rollup({.older_than_ms = 1, .bucket_ms = kMinute, .aggregates = {"count", "p50", "p99"}}));
  EXPECT_EQ(r.points_rolled_up, 1'000'000);
  check("1-minute rollups");
  DOTDO_ASSERT_OK_AND_ASSIGN(r, ts.Rollup({.older_than_ms = 1, .bucket_ms = kHour, .aggregates = {"p50", "p99"}}));
  EXPECT_EQ(r.points_rolled_up, 0);
  EXPECT_EQ(r.buckets_written, static_cast<int64_t>(exact.size()));
  check("1-hour rollups");
}

TEST_F(TimeSeriesRollupTest, OutOfOrderIngestGivesTheSameRollups) {
  std::mt19937_64 rng(8);
  std::vector<TimeSeriesPoint> pts;
  for (int i = 0; i < 20000; ++i) pts.push_back({"m", {}, kNow - 6 * kHour + i * 1000 + static_cast<int64_t>(rng() % 700),
                                                static_cast<double>(rng() % 5000)});
  auto other = testing::OpenMemoryDb(&clock_);
  TimeSeriesStore sorted(*db_, {.max_block_points = 100}), shuffled(*other, {.max_block_points = 100});
  DOTDO_ASSERT_OK(sorted.PutBatch(pts));
  std::shuffle(pts.begin(), pts.end(), rng);
  for (size_t i = 0; i < pts.size(); i += 501)
    DOTDO_ASSERT_OK(shuffled.PutBatch({pts.begin() + static_cast<std::ptrdiff_t>(i),
                                       pts.begin() + static_cast<std::ptrdiff_t>(std::min(pts.size(), i + 501))}));
  const TimeSeriesRollupOptions ro{.older_than_ms = kHour, .bucket_ms = 5 * kMinute, .aggregates = {"p90"}};
  DOTDO_ASSERT_OK(sorted.Rollup(ro));
  DOTDO_ASSERT_OK(shuffled.Rollup(ro));
  std::vector<std::string> all = kBasic;
  for (const char* p : {"p50", "p90", "p99"}) all.push_back(p);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto a, sorted.Aggregate("m", {.bucket_ms = kHour, .metrics = all}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto b, shuffled.Aggregate("m", {.bucket_ms = kHour, .metrics = all}));
  ASSERT_EQ(a.buckets.size(), b.buckets.size());
  for (size_t i = 0; i < a.buckets.size(); ++i) EXPECT_EQ(a.buckets[i].values, b.buckets[i].values) << i;
}

}  // namespace
}  // namespace dotdo
