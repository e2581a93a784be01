// Model-based tests: random Put / PutBatch (out of order, duplicate timestamps, rolled-back
// transactions) against an in-memory std::map per series, comparing Get, GetAsOf, Range and
// Aggregate after every step; and the same points ingested sorted versus shuffled in small
// batches give exactly the same aggregates. Values are integers so that sums are exact whatever
// the block layout.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "dotdo/timeseries.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;
using Model = std::map<std::string, std::map<int64_t, double>>;

constexpr int64_t kT0 = 1'700'000'000'000;
const std::vector<std::string> kSeries = {"a", "b", "c"};

TimeSeriesTags TagsOf(const std::string& s) { return s == "c" ? TimeSeriesTags{} : TimeSeriesTags{{"host", s}}; }

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

// The aggregate the model predicts: epoch-aligned buckets over [start, end).
std::vector<TimeSeriesBucket> Expected(const std::map<int64_t, double>& pts, int64_t start, int64_t end,
                                       std::optional<int64_t> bucket) {
  std::map<int64_t, std::vector<double>> by_bucket;
  for (auto it = pts.lower_bound(start); it != pts.end() && it->first < end; ++it)
    by_bucket[bucket ? it->first - it->first % *bucket : start].push_back(it->second);
  std::vector<TimeSeriesBucket> out;
  for (auto& [b, v] : by_bucket) {
    double sum = 0;
    for (double x : v) sum += x;
    out.push_back({b, static_cast<int64_t>(v.size()),
                   {static_cast<double>(v.size()), sum, *std::min_element(v.begin(), v.end()),
                    *std::max_element(v.begin(), v.end()), sum / static_cast<double>(v.size()), v.front(), v.back(),
                    Percentile(v, 50), Percentile(v, 90), Percentile(v, 99)}});
  }
  return out;
}

const std::vector<std::string> kAllMetrics = {"count", "sum", "min", "max", "avg", "first", "last", "p50", "p90", "p99"};

void ExpectMatches(TimeSeriesStore& ts, const Model& model, std::mt19937_64& rng) {
  for (const std::string& s : kSeries) {
    const auto& pts = model.count(s) ? model.at(s) : std::map<int64_t, double>{};
    auto latest = ts.Get("cpu", TagsOf(s));
    if (pts.empty()) {
      EXPECT_THAT(latest, StatusIs(StatusCode::kNotFound));
    } else {
      ASSERT_THAT(latest, IsOk());
      EXPECT_EQ(*latest, (TimeSample{pts.rbegin()->first, pts.rbegin()->second}));
    }
    for (int q = 0; q < 4; ++q) {
      const int64_t t = kT0 + static_cast<int64_t>(rng() % 12'000) - 1000;
      auto asof = ts.GetAsOf("cpu", t, TagsOf(s));
      auto it = pts.upper_bound(t);
      if (it == pts.begin()) {
        EXPECT_THAT(asof, StatusIs(StatusCode::kNotFound));
      } else {
        --it;
        ASSERT_THAT(asof, IsOk());
        EXPECT_EQ(*asof, (TimeSample{it->first, it->second})) << s << " as of " << t;
      }
    }
    int64_t a = kT0 + static_cast<int64_t>(rng() % 10'000) - 500, b = a + static_cast<int64_t>(rng() % 6000);
    auto range = ts.Range("cpu", {.start = a, .end = b}, TagsOf(s));
    ASSERT_THAT(range, IsOk());
    auto it = pts.lower_bound(a);
    for (;;) {
      DOTDO_ASSERT_OK_AND_ASSIGN(bool more, range->Next());
      if (!more) break;
      ASSERT_TRUE(it != pts.end() && it->first < b);
      EXPECT_EQ(range->sample(), (TimeSample{it->first, it->second}));
      ++it;
    }
    EXPECT_TRUE(it == pts.end() || it->first >= b) << s << " range ended early";
    std::optional<int64_t> bucket;
    if (rng() % 4) bucket = static_cast<int64_t>(1 + rng() % 2000);
    auto agg = ts.Aggregate("cpu", {.start = a, .end = b, .bucket_ms = bucket, .metrics = kAllMetrics}, TagsOf(s));
    ASSERT_THAT(agg, IsOk());
    const auto want = Expected(pts, a, b, bucket);
    ASSERT_EQ(agg->buckets.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(agg->buckets[i].start, want[i].start);
      EXPECT_EQ(agg->buckets[i].values, want[i].values) << s << " bucket " << i;
    }
  }
}

TEST(TimeSeriesModelTest, RandomWritesMatchAnInMemoryMap) {
  auto db = testing::OpenMemoryDb();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ts, TimeSeriesStore::Open(*db, {.max_block_points = 16, .as_of_cache_entries = 64}));
  Model model;
  std::mt19937_64 rng(2024);
  for (int step = 0; step < 300; ++step) {
    const int op = static_cast<int>(rng() % 10);
    std::vector<TimeSeriesPoint> batch;
    const int n = op < 3 ? 1 : static_cast<int>(1 + rng() % 60);
    // Mostly appends near the end of a growing window, sometimes late or duplicate points.
    for (int i = 0; i < n; ++i) {
      const std::string& s = kSeries[rng() % kSeries.size()];
      const int64_t window = 100 + step * 30;
      const int64_t t = kT0 + (rng() % 5 ? window - static_cast<int64_t>(rng() % 200) : static_cast<int64_t>(rng() % window));
      batch.push_back({"cpu", TagsOf(s), t, static_cast<double>(static_cast<int64_t>(rng() % 2001) - 1000)});
    }
    if (op == 9) {  // a transaction that rolls back changes nothing
      Status st = db->Transaction([&]() -> Status {
        DOTDO_RETURN_IF_ERROR(ts.PutBatch(batch).status());
        return AbortedError("no");
      });
      ASSERT_THAT(st, StatusIs(StatusCode::kAborted));
    } else if (n == 1) {
      DOTDO_ASSERT_OK(ts.Put(batch[0].key, batch[0].value, batch[0].ts, batch[0].tags));
    } else {
      DOTDO_ASSERT_OK(ts.PutBatch(batch));
    }
    if (op != 9)
      for (const auto& p : batch) model[p.tags.empty() ? "c" : p.tags.at("host")][p.ts] = p.value;
    ExpectMatches(ts, model, rng);
    if (::testing::Test::HasFailure()) FAIL() << "diverged at step " << step;
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(Json blocks, db->QueryReadOnly("SELECT COUNT(*) AS n, MAX(count) AS m FROM ts_blocks"));
  EXPECT_GT(blocks[0]["n"].get<int64_t>(), 20);
  EXPECT_LE(blocks[0]["m"].get<int64_t>(), 16);
}

TEST(TimeSeriesModelTest, OutOfOrderIngestGivesTheSameAggregatesAsSorted) {
  std::mt19937_64 rng(99);
  std::vector<TimeSeriesPoint> pts;
  for (int i = 0; i < 5000; ++i) pts.push_back({"m", {}, kT0 + i * 1000 + static_cast<int64_t>(rng() % 500),
                                               static_cast<double>(rng() % 100000)});
  auto sorted_db = testing::OpenMemoryDb(), shuffled_db = testing::OpenMemoryDb();
  TimeSeriesStore sorted(*sorted_db, {.max_block_points = 64}), shuffled(*shuffled_db, {.max_block_points = 64});
  DOTDO_ASSERT_OK(sorted.PutBatch(pts));
  std::shuffle(pts.begin(), pts.end(), rng);
  for (size_t i = 0; i < pts.size(); i += 37)
    DOTDO_ASSERT_OK(shuffled.PutBatch({pts.begin() + static_cast<std::ptrdiff_t>(i),
                                       pts.begin() + static_cast<std::ptrdiff_t>(std::min(pts.size(), i + 37))}));
  for (int64_t bucket : {60'000, 3'600'000, 7'777}) {
    const TimeSeriesAggregateOptions o{.bucket_ms = bucket, .metrics = kAllMetrics};
    DOTDO_ASSERT_OK_AND_ASSIGN(auto a, sorted.Aggregate("m", o));
    DOTDO_ASSERT_OK_AND_ASSIGN(auto b, shuffled.Aggregate("m", o));
    ASSERT_EQ(a.buckets.size(), b.buckets.size());
    for (size_t i = 0; i < a.buckets.size(); ++i) {
      EXPECT_EQ(a.buckets[i].start, b.buckets[i].start);
      EXPECT_EQ(a.buckets[i].values, b.buckets[i].values);
    }
  }
}

}  // namespace
}  // namespace dotdo
