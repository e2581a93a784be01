// TimeSeriesStore unit tests: the block codec round trip, every call with its bad input (typed
// errors, nothing written), block boundaries and splits, out-of-order points across blocks, last
// write wins, the GetAsOf cache across writes and rollbacks, CDC events of Put and PutBatch in both
// modes, Range streaming and early stop, and Aggregate with whole-block statistics and percentiles.
#include <cmath>
#include <limits>
#include <random>

#include "dotdo/cdc.h"
#include "dotdo/timeseries.h"
#include "testing/test_util.h"
#include "timeseries/gorilla_codec.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

constexpr int64_t kT0 = 1'700'000'000'000;

std::vector<TimeSample> Collect(TimeSeriesStore& ts, std::string_view key, TimeRange r = {}, const TimeSeriesTags& tags = {}) {
  std::vector<TimeSample> out;
  auto it = ts.Range(key, r, tags);
  EXPECT_THAT(it, IsOk());
  if (!it.ok()) return out;
  for (;;) {
    auto more = it->Next();
    EXPECT_THAT(more, IsOk());
    if (!more.ok() || !*more) break;
    out.push_back(it->sample());
  }
  return out;
}

int64_t Count(Database& db, const std::string& sql) {
  // Reads make no tables: before the first write there are none, and nothing is stored.
  auto tables = db.QueryReadOnly("SELECT 1 FROM sqlite_schema WHERE name = 'ts_series'");
  if (tables.ok() && tables->empty()) return 0;
  auto r = db.QueryReadOnly(sql);
  EXPECT_THAT(r, IsOk());
  return r.ok() ? (*r)[0].begin()->get<int64_t>() : -1;
}

std::vector<UnifiedEvent> TsEvents(Database& db) {
  std::vector<UnifiedEvent> out;
  auto ev = ChangeFeed(db).Read(0, 10000);
  EXPECT_THAT(ev, IsOk());
  if (ev.ok())
    for (auto& e : *ev)
      if (e.store == "timeseries") out.push_back(e);
  return out;
}

TEST(GorillaCodecTest, RoundTripsIrregularTimestampsAndSpecialValues) {
  std::mt19937_64 rng(7);
  std::vector<TimeSample> in;
  int64_t t = 5;
  const double specials[] = {0.0, -0.0, 1e308, -1e-308, 5e-324, 42.0, 42.0, 3.14159};
  for (int i = 0; i < 3000; ++i) {
    const int kind = static_cast<int>(rng() % 5);
    t += kind == 0 ? 1000 : kind == 1 ? static_cast<int64_t>(rng() % 100) + 1
                          : kind == 2 ? static_cast<int64_t>(rng() % 5000) + 1
                          : kind == 3 ? static_cast<int64_t>(rng() % 100'000'000'000) + 1 : 1000;
    const double v = i % 3 == 0 ? specials[rng() % 8] : std::ldexp(static_cast<double>(rng() % 1000000), static_cast<int>(rng() % 40) - 20);
    in.push_back({t, v});
  }
  for (bool z : {false, true}) {
    const std::string bytes = internal::EncodeBlock(in, z);
    std::vector<TimeSample> out;
    DOTDO_ASSERT_OK(internal::DecodeBlock(bytes, static_cast<int64_t>(in.size()), out));
    ASSERT_EQ(out.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      EXPECT_EQ(out[i].ts, in[i].ts);
      EXPECT_EQ(std::bit_cast<uint64_t>(out[i].value), std::bit_cast<uint64_t>(in[i].value)) << i;
    }
  }
  std::vector<TimeSample> out;
  const std::string bytes = internal::EncodeBlock(in, false);
  EXPECT_THAT(internal::DecodeBlock(bytes.substr(0, bytes.size() / 2), 3000, out), StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(internal::DecodeBlock(bytes, 2999, out), StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(internal::DecodeBlock("\x07xyz", 1, out), StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(internal::DecodeBlock("", 1, out), StatusIs(StatusCode::kDataLoss));
}

TEST(GorillaCodecTest, RegularSeriesCompressWell) {
  std::vector<TimeSample> in;
  for (int i = 0; i < 512; ++i) in.push_back({kT0 + i * 10'000, 100.0 + (i % 7)});
  EXPECT_LT(internal::EncodeBlock(in, false).size(), 512u * 2);  // < 2 bytes per point
}

class TimeSeriesStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = testing::OpenMemoryDb(&clock_); }
  TimeSeriesStore Store(TimeSeriesOptions o = {}) {
    auto s = TimeSeriesStore::Open(*db_, o);
    EXPECT_THAT(s, IsOk());
    return std::move(*s);
  }
  ManualClock clock_{kT0};
  std::unique_ptr<Database> db_;
};

TEST_F(TimeSeriesStoreTest, PutGetGetAsOfAndTagsSeparateSeries) {
  auto ts = Store();
  DOTDO_ASSERT_OK(ts.Put("cpu", 1.5, kT0, {{"host", "a"}}));
  DOTDO_ASSERT_OK(ts.Put("cpu", 2.5, kT0 + 10, {{"host", "a"}}));
  DOTDO_ASSERT_OK(ts.Put("cpu", 9.0, kT0 + 5, {{"host", "b"}}));
  DOTDO_ASSERT_OK(ts.Put("cpu", 7.0, kT0 + 1));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto latest, ts.Get("cpu", {{"host", "a"}}));
  EXPECT_EQ(latest, (TimeSample{kT0 + 10, 2.5}));
  EXPECT_EQ(*ts.Get("cpu", {{"host", "b"}}), (TimeSample{kT0 + 5, 9.0}));
  EXPECT_EQ(*ts.Get("cpu"), (TimeSample{kT0 + 1, 7.0}));
  EXPECT_EQ(*ts.GetAsOf("cpu", kT0 + 9, {{"host", "a"}}), (TimeSample{kT0, 1.5}));
  EXPECT_EQ(*ts.GetAsOf("cpu", kT0 + 10, {{"host", "a"}}), (TimeSample{kT0 + 10, 2.5}));
  EXPECT_EQ(*ts.GetAsOf("cpu", kT0 + 99999, {{"host", "a"}}), (TimeSample{kT0 + 10, 2.5}));
  EXPECT_THAT(ts.GetAsOf("cpu", kT0 - 1, {{"host", "a"}}), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(ts.Get("mem"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(ts.Get("cpu", {{"host", "c"}}), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(ts.GetAsOf("mem", kT0), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(Count(*db_, "SELECT COUNT(*) FROM ts_series"), 3);
}

TEST_F(TimeSeriesStoreTest, BadInputIsTypedAndWritesNothing) {
  auto ts = Store();
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  EXPECT_THAT(ts.Put("cpu", nan, kT0), StatusIs(StatusCode::kInvalidArgument, "finite"));
  EXPECT_THAT(ts.Put("cpu", inf, kT0), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.Put("cpu", -inf, kT0), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.Put("cpu", 1, -1), StatusIs(StatusCode::kInvalidArgument, "out of range"));
  EXPECT_THAT(ts.Put("cpu", 1, kMaxTimestampMs + 1), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.Put("", 1, kT0), StatusIs(StatusCode::kInvalidArgument, "series key"));
  EXPECT_THAT(ts.Put("9cpu", 1, kT0), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.Put("cpu usage", 1, kT0), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.Put(std::string(129, 'a'), 1, kT0), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.Put("cpu", 1, kT0, {{"host-name", "a"}}), StatusIs(StatusCode::kInvalidArgument, "tag key"));
  EXPECT_THAT(ts.Put("cpu", 1, kT0, {{"host", ""}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.Put("cpu", 1, kT0, {{"host", "a\nb"}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.Put("cpu", 1, kT0, {{"host", "\xff"}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.Put("cpu", 1, kT0, {{"host", std::string(257, 'x')}}), StatusIs(StatusCode::kInvalidArgument));
  TimeSeriesTags many;
  for (int i = 0; i < 33; ++i) many["t" + std::to_string(i)] = "v";
  EXPECT_THAT(ts.Put("cpu", 1, kT0, many), StatusIs(StatusCode::kInvalidArgument, "at most"));
  // A batch with one bad point writes nothing and names the point.
  std::vector<TimeSeriesPoint> batch = {{"cpu", {}, kT0, 1}, {"cpu", {}, kT0 + 1, 2}, {"cpu", {}, kT0 + 2, nan}};
  EXPECT_THAT(ts.PutBatch(batch), StatusIs(StatusCode::kInvalidArgument, "point 2"));
  batch[2] = {"bad key", {}, kT0, 1};
  EXPECT_THAT(ts.PutBatch(batch), StatusIs(StatusCode::kInvalidArgument, "point 2"));
  EXPECT_EQ(Count(*db_, "SELECT COUNT(*) FROM ts_blocks"), 0);
  EXPECT_EQ(Count(*db_, "SELECT COUNT(*) FROM ts_series"), 0);
  EXPECT_TRUE(TsEvents(*db_).empty());
  // Reads.
  EXPECT_THAT(ts.Get("bad key"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.GetAsOf("cpu", -5), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.Range("cpu", {.start = 10, .end = 5}), StatusIs(StatusCode::kInvalidArgument, "after end"));
  EXPECT_THAT(ts.Range("cpu", {.start = -1, .end = 5}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.Aggregate("cpu", {.start = 10, .end = 5}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.Aggregate("cpu", {.bucket_ms = 0}), StatusIs(StatusCode::kInvalidArgument, "bucket"));
  EXPECT_THAT(ts.Aggregate("cpu", {.bucket_ms = -60000}), StatusIs(StatusCode::kInvalidArgument, "bucket"));
  EXPECT_THAT(ts.Aggregate("cpu", {.metrics = {"avg", "median"}}), StatusIs(StatusCode::kInvalidArgument, "unknown metric"));
  EXPECT_THAT(ts.Aggregate("cpu", {.metrics = {}}), StatusIs(StatusCode::kInvalidArgument));
  // Options.
  EXPECT_THAT(TimeSeriesStore::Open(*db_, {.max_block_points = 8}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(TimeSeriesStore::Open(*db_, {.max_block_points = 100000}), StatusIs(StatusCode::kInvalidArgument));
}

TEST(TimeSeriesParseTest, TimestampsAndDurations) {
  EXPECT_EQ(*ParseTimestamp("1700000000000"), 1'700'000'000'000);
  EXPECT_EQ(*ParseTimestamp("2024-01-15T10:30:00Z"), 1'705'314'600'000);
  EXPECT_EQ(*ParseTimestamp("2024-01-15"), 1'705'276'800'000);
  EXPECT_EQ(*ParseTimestamp("2024-01-15T12:30:00.250+02:00"), 1'705'314'600'250);
  EXPECT_THAT(ParseTimestamp("yesterday"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseTimestamp(""), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseTimestamp("99999999999999999999"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseTimestamp("-5"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(*ParsePositiveDuration("500ms"), 500);
  EXPECT_EQ(*ParsePositiveDuration("30s"), 30'000);
  EXPECT_EQ(*ParsePositiveDuration("5m"), 300'000);
  EXPECT_EQ(*ParsePositiveDuration("1h"), 3'600'000);
  EXPECT_EQ(*ParsePositiveDuration("7d"), 604'800'000);
  EXPECT_EQ(*ParsePositiveDuration("365d"), 31'536'000'000);
  for (const char* bad : {"", "0s", "0", "5x", "-5m", "m", "1.5h", "99999999999999999999d"})
    EXPECT_THAT(ParsePositiveDuration(bad), StatusIs(StatusCode::kInvalidArgument)) << bad;
  EXPECT_EQ(*ParseTimeSeriesMetric("p99"), TimeSeriesMetric::kP99);
  EXPECT_EQ(TimeSeriesMetricName(TimeSeriesMetric::kAvg), "avg");
}

TEST_F(TimeSeriesStoreTest, BlockBoundariesSplitsAndOutOfOrderAcrossBlocks) {
  auto ts = Store({.max_block_points = 16});
  std::vector<TimeSeriesPoint> batch;
  for (int i = 0; i < 64; ++i) batch.push_back({"m", {}, kT0 + i * 100, static_cast<double>(i)});
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, ts.PutBatch(batch));
  EXPECT_EQ(n, 64);
  EXPECT_EQ(Count(*db_, "SELECT COUNT(*) FROM ts_blocks"), 4);
  EXPECT_EQ(Count(*db_, "SELECT MIN(count) FROM ts_blocks"), 16);
  // A late point between block 0 and block 1 lands in block 0's range; block 0 is full and the point
  // lies past its end, so it becomes a block of its own and no stored block changes.
  DOTDO_ASSERT_OK_AND_ASSIGN(Json before, db_->QueryReadOnly("SELECT start_ts, hex(data) AS d FROM ts_blocks ORDER BY start_ts"));
  DOTDO_ASSERT_OK(ts.Put("m", -1, kT0 + 1550));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json after, db_->QueryReadOnly("SELECT start_ts, hex(data) AS d FROM ts_blocks ORDER BY start_ts"));
  ASSERT_EQ(after.size(), 5u);
  EXPECT_EQ(after[0], before[0]);
  EXPECT_EQ(after[1]["start_ts"], kT0 + 1550);
  for (size_t i = 2; i < 5; ++i) EXPECT_EQ(after[i], before[i - 1]);
  // A late point inside a full block splits only that block.
  DOTDO_ASSERT_OK(ts.Put("m", -3, kT0 + 3250));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json split, db_->QueryReadOnly("SELECT start_ts, hex(data) AS d FROM ts_blocks ORDER BY start_ts"));
  ASSERT_EQ(split.size(), 6u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(split[i], after[i]);
  EXPECT_EQ(split[5], after[4]);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json counts, db_->QueryReadOnly("SELECT count FROM ts_blocks WHERE start_ts >= ?1 AND start_ts < ?2 ORDER BY start_ts",
                                                             {kT0 + 3200, kT0 + 4800}));
  EXPECT_EQ(counts, Json::parse(R"([{"count":16},{"count":1}])"));
  // A point before every block, one overwriting a block's first point, one in a gap.
  DOTDO_ASSERT_OK(ts.Put("m", -2, kT0 - 50));
  DOTDO_ASSERT_OK(ts.Put("m", 100, kT0 + 1600));
  DOTDO_ASSERT_OK(ts.Put("m", 200, kT0 + 6350));
  auto all = Collect(ts, "m");
  ASSERT_EQ(all.size(), 68u);
  for (size_t i = 1; i < all.size(); ++i) ASSERT_LT(all[i - 1].ts, all[i].ts);
  EXPECT_EQ(all.front(), (TimeSample{kT0 - 50, -2}));
  EXPECT_EQ(*ts.GetAsOf("m", kT0 + 1599), (TimeSample{kT0 + 1550, -1}));
  EXPECT_EQ(*ts.GetAsOf("m", kT0 + 1600), (TimeSample{kT0 + 1600, 100}));
  EXPECT_EQ(*ts.Get("m"), (TimeSample{kT0 + 6350, 200}));
  // Invariant 1: blocks are disjoint and ordered; stats match the points.
  DOTDO_ASSERT_OK_AND_ASSIGN(Json blocks, db_->QueryReadOnly("SELECT start_ts, end_ts, count FROM ts_blocks ORDER BY start_ts"));
  int64_t total = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    total += blocks[i]["count"].get<int64_t>();
    EXPECT_LE(blocks[i]["count"].get<int64_t>(), 16);
    if (i) {
      EXPECT_LT(blocks[i - 1]["end_ts"].get<int64_t>(), blocks[i]["start_ts"].get<int64_t>());
    }
  }
  EXPECT_EQ(total, 68);
}

TEST_F(TimeSeriesStoreTest, DuplicateTimestampsLastWriteWins) {
  auto ts = Store();
  DOTDO_ASSERT_OK(ts.Put("m", 1, kT0));
  DOTDO_ASSERT_OK(ts.Put("m", 2, kT0));
  EXPECT_EQ(*ts.Get("m"), (TimeSample{kT0, 2}));
  // Inside a batch the later point wins, also against a stored one.
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, ts.PutBatch({{"m", {}, kT0, 3}, {"m", {}, kT0 + 1, 4}, {"m", {}, kT0, 5}}));
  EXPECT_EQ(n, 2);
  EXPECT_EQ(Collect(ts, "m"), (std::vector<TimeSample>{{kT0, 5}, {kT0 + 1, 4}}));
  // The per-point events of Put say update with the old value.
  auto events = TsEvents(*db_);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0].type, "cdc.insert");
  EXPECT_EQ(events[1].type, "cdc.update");
  EXPECT_EQ((*events[1].before)["value"], 1.0);
  EXPECT_EQ((*events[1].after)["value"], 2.0);
  EXPECT_EQ(*events[1].key, "m@" + std::to_string(kT0));
}

TEST_F(TimeSeriesStoreTest, PutBatchEventsInBothModes) {
  auto batch_mode = Store();
  std::vector<TimeSeriesPoint> pts;
  for (int i = 0; i < 10; ++i) pts.push_back({"m", {{"h", std::to_string(i % 2)}}, kT0 + i, 1.0 * i});
  DOTDO_ASSERT_OK(batch_mode.PutBatch(pts));
  auto events = TsEvents(*db_);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "cdc.batch_insert");
  EXPECT_EQ(events[0].op, "c");
  EXPECT_EQ((*events[0].after)["count"], 10);
  EXPECT_EQ((*events[0].after)["series"], 2);
  EXPECT_EQ((*events[0].after)["partition"], "2023-11-14");
  auto per_point = Store({.cdc_mode = TimeSeriesCdcMode::kPerPoint});
  pts.push_back({"m", {{"h", "0"}}, kT0, 42});  // overwrites the first point
  DOTDO_ASSERT_OK(per_point.PutBatch(pts));
  events = TsEvents(*db_);
  ASSERT_EQ(events.size(), 1u + 10u);
  int updates = 0;
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].txid, events[1].txid);
    updates += events[i].type == "cdc.update";
  }
  EXPECT_EQ(updates, 10);  // every timestamp existed already
}

TEST_F(TimeSeriesStoreTest, AsOfCacheFollowsWritesAndRollbacks) {
  auto ts = Store();
  DOTDO_ASSERT_OK(ts.Put("m", 1, kT0));
  EXPECT_EQ(*ts.GetAsOf("m", kT0 + 100), (TimeSample{kT0, 1}));
  DOTDO_ASSERT_OK(ts.Put("m", 2, kT0 + 50));
  EXPECT_EQ(*ts.GetAsOf("m", kT0 + 100), (TimeSample{kT0 + 50, 2}));
  // Written and read inside a transaction that rolls back: the cached answer goes with it.
  Status st = db_->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(ts.Put("m", 3, kT0 + 60));
    EXPECT_EQ(*ts.GetAsOf("m", kT0 + 100), (TimeSample{kT0 + 60, 3}));
    DOTDO_RETURN_IF_ERROR(ts.Put("fresh", 3, kT0));
    return AbortedError("roll back");
  });
  EXPECT_THAT(st, StatusIs(StatusCode::kAborted));
  EXPECT_EQ(*ts.GetAsOf("m", kT0 + 100), (TimeSample{kT0 + 50, 2}));
  EXPECT_THAT(ts.Get("fresh"), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK(ts.Put("fresh", 4, kT0));  // the series is created again after the rollback
  EXPECT_EQ(*ts.Get("fresh"), (TimeSample{kT0, 4}));
  // A miss is cached too, and a write makes it stale.
  EXPECT_THAT(ts.GetAsOf("m", kT0 - 1), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK(ts.Put("m", 0, kT0 - 10));
  EXPECT_EQ(*ts.GetAsOf("m", kT0 - 1), (TimeSample{kT0 - 10, 0}));
  auto uncached = Store({.as_of_cache_entries = 0});
  EXPECT_EQ(*uncached.GetAsOf("m", kT0 + 100), (TimeSample{kT0 + 50, 2}));
}

TEST_F(TimeSeriesStoreTest, RangeStreamsHalfOpenAndStopsEarly) {
  auto ts = Store({.max_block_points = 16});
  std::vector<TimeSeriesPoint> pts;
  for (int i = 0; i < 1000; ++i) pts.push_back({"m", {}, kT0 + i * 10, static_cast<double>(i)});
  DOTDO_ASSERT_OK(ts.PutBatch(pts));
  auto r = Collect(ts, "m", {.start = kT0 + 15, .end = kT0 + 105});
  ASSERT_EQ(r.size(), 9u);
  EXPECT_EQ(r.front().ts, kT0 + 20);
  EXPECT_EQ(r.back().ts, kT0 + 100);
  EXPECT_EQ(Collect(ts, "m", {.start = kT0, .end = kT0}).size(), 0u);
  EXPECT_EQ(Collect(ts, "m").size(), 1000u);
  EXPECT_EQ(Collect(ts, "nothing").size(), 0u);
  // Stopping after 3 points reads only the first block.
  db_->ResetStats();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto it, ts.Range("m"));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(*it.Next());
  EXPECT_EQ(it.sample().ts, kT0 + 20);
  EXPECT_LT(db_->stats().rows_read, 10);
  // Points written while iterating after the current position are seen, in order, once.
  DOTDO_ASSERT_OK(ts.Put("m", -1, kT0 + 5000 + 5));
  int64_t last = it.sample().ts, n = 3;
  for (;;) {
    DOTDO_ASSERT_OK_AND_ASSIGN(bool more, it.Next());
    if (!more) break;
    ASSERT_GT(it.sample().ts, last);
    last = it.sample().ts;
    ++n;
  }
  EXPECT_EQ(n, 1001);
}

TEST_F(TimeSeriesStoreTest, AggregateBucketsMetricsAndWholeBlocks) {
  auto ts = Store({.max_block_points = 60});
  std::vector<TimeSeriesPoint> pts;
  // One point per minute for 6 hours, value = minute of the hour.
  for (int i = 0; i < 360; ++i) pts.push_back({"m", {}, kT0 - kT0 % 3'600'000 + i * 60'000, static_cast<double>(i % 60)});
  DOTDO_ASSERT_OK(ts.PutBatch(pts));
  const int64_t h0 = kT0 - kT0 % 3'600'000;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto agg, ts.Aggregate("m", {.start = h0, .end = h0 + 6 * 3'600'000, .bucket_ms = 3'600'000,
                                                          .metrics = {"count", "sum", "min", "max", "avg", "first", "last",
                                                                      "p50", "p90", "p99"}}));
  ASSERT_EQ(agg.buckets.size(), 6u);
  for (const auto& b : agg.buckets) {
    EXPECT_EQ(b.count, 60);
    EXPECT_EQ(b.values, (std::vector<double>{60, 1770, 0, 59, 29.5, 0, 59, 29, 53, 59}));
  }
  // Whole blocks inside one bucket are not decoded: the result is the same without percentiles.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto fast, ts.Aggregate("m", {.start = h0, .end = h0 + 6 * 3'600'000, .bucket_ms = 3'600'000,
                                                           .metrics = {"sum", "first", "last"}}));
  for (const auto& b : fast.buckets) EXPECT_EQ(b.values, (std::vector<double>{1770, 0, 59}));
  // A range cutting blocks, one bucket over it (no bucket), and a 90-minute bucket.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto cut, ts.Aggregate("m", {.start = h0 + 30 * 60'000, .end = h0 + 90 * 60'000, .metrics = {"count", "sum", "first", "last"}}));
  ASSERT_EQ(cut.buckets.size(), 1u);
  EXPECT_EQ(cut.buckets[0].start, h0 + 30 * 60'000);
  EXPECT_EQ(cut.buckets[0].values, (std::vector<double>{60, 1335 + 435, 30, 29}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto odd, ts.Aggregate("m", {.bucket_ms = 90 * 60'000, .metrics = {"count"}}));
  int64_t total = 0;
  for (const auto& b : odd.buckets) {
    EXPECT_EQ(b.start % (90 * 60'000), 0);
    total += b.count;
  }
  EXPECT_EQ(total, 360);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto none, ts.Aggregate("nothing", {}));
  EXPECT_TRUE(none.buckets.empty());
  Json j = TimeSeriesAggregateToJson(agg);
  EXPECT_EQ(j["buckets"][0]["p90"], 53.0);
}

TEST_F(TimeSeriesStoreTest, TagFiltersAcrossSeriesAndGroupByTag) {
  auto ts = Store({.max_block_points = 16});
  std::vector<TimeSeriesPoint> pts;
  const std::vector<TimeSeriesTags> series = {{{"host", "a"}, {"region", "eu"}}, {{"host", "b"}, {"region", "eu"}},
                                              {{"host", "c"}, {"region", "us"}}, {{"host", "d"}}};
  for (size_t s = 0; s < series.size(); ++s)
    for (int i = 0; i < 100; ++i) pts.push_back({"req", series[s], kT0 + i * 1000, static_cast<double>(s * 100 + i)});
  pts.push_back({"other", {{"host", "a"}}, kT0, 1});
  DOTDO_ASSERT_OK(ts.PutBatch(pts));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto all, ts.ListSeries("req"));
  EXPECT_EQ(all.size(), 4u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto eu, ts.ListSeries("req", {{"region", "eu"}}));
  EXPECT_EQ(eu, (std::vector<TimeSeriesInfo>{{"req", series[0]}, {"req", series[1]}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto in, ts.ListSeries("req", {{"$or", Json::array({{{"host", "c"}}, {{"region", {{"$exists", false}}}}})}}));
  EXPECT_EQ(in.size(), 2u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto like, ts.ListSeries("req", {{"host", {{"$in", {"a", "d", "zz"}}}}}));
  EXPECT_EQ(like.size(), 2u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto re, ts.ListSeries("req", {{"host", {{"$regex", "^[ad]$"}}}}));
  EXPECT_EQ(re.size(), 2u);
  EXPECT_THAT(ts.ListSeries("req", {{"host", {{"$near", "a"}}}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.ListSeries("req", Json::array()), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.ListSeries("bad key", nullptr), StatusIs(StatusCode::kInvalidArgument));

  // Group by region over every series: eu = hosts a and b merged per bucket, us = c, none = d.
  const TimeSeriesAggregateOptions o{.start = kT0, .end = kT0 + 50'000, .bucket_ms = 10'000,
                                     .metrics = {"count", "sum", "min", "max", "first", "last", "p50"}};
  DOTDO_ASSERT_OK_AND_ASSIGN(auto groups, ts.AggregateWhere("req", nullptr, o, {"region"}));
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].group, TimeSeriesTags{});
  EXPECT_EQ(groups[1].group, (TimeSeriesTags{{"region", "eu"}}));
  EXPECT_EQ(groups[1].series, 2);
  ASSERT_EQ(groups[1].aggregate.buckets.size(), 5u);
  // Bucket 0 of eu: a = 0..9, b = 100..109.
  EXPECT_EQ(groups[1].aggregate.buckets[0].values, (std::vector<double>{20, 45 + 1045, 0, 109, 0, 9, 9}));
  EXPECT_EQ(groups[2].aggregate.buckets[4].values[0], 10);
  // A filter plus no group: one group over the matching series; the result equals Aggregate for one.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto one, ts.AggregateWhere("req", {{"host", "c"}}, o));
  ASSERT_EQ(one.size(), 1u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto direct, ts.Aggregate("req", o, series[2]));
  ASSERT_EQ(one[0].aggregate.buckets.size(), direct.buckets.size());
  for (size_t i = 0; i < direct.buckets.size(); ++i) EXPECT_EQ(one[0].aggregate.buckets[i].values, direct.buckets[i].values);
  EXPECT_EQ(TimeSeriesGroupToJson(one[0])["series"], 1);
  EXPECT_THAT(ts.AggregateWhere("req", nullptr, o, {"bad-tag"}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.AggregateWhere("req", nullptr, {.bucket_ms = 0}), StatusIs(StatusCode::kInvalidArgument));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto nothing, ts.AggregateWhere("req", {{"host", "zz"}}, o));
  EXPECT_TRUE(nothing.empty());
}

TEST(TimeSeriesTwoWritersTest, CachesNoticeCommitsOfAnotherConnection) {
  testing::ScratchDir dir;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db1, Database::Open(dir.path(), "shared"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db2, Database::Open(dir.path(), "shared"));
  TimeSeriesStore a(*db1), b(*db2);
  DOTDO_ASSERT_OK(a.Put("m", 1, kT0));
  EXPECT_EQ(*a.GetAsOf("m", kT0 + 100), (TimeSample{kT0, 1}));  // cached in db1
  DOTDO_ASSERT_OK(b.Put("m", 2, kT0 + 10));                     // appends to the same tail block
  EXPECT_EQ(*a.GetAsOf("m", kT0 + 100), (TimeSample{kT0 + 10, 2}));  // the cached answer was dropped
  DOTDO_ASSERT_OK(a.Put("m", 3, kT0 + 20));                     // db1's cached tail is stale
  EXPECT_EQ(*a.GetAsOf("m", kT0 + 15), (TimeSample{kT0 + 10, 2}));
  EXPECT_EQ(Collect(b, "m"), (std::vector<TimeSample>{{kT0, 1}, {kT0 + 10, 2}, {kT0 + 20, 3}}));
}

}  // namespace
}  // namespace dotdo
