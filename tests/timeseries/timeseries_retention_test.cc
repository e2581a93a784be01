// Retention, compaction and snapshots: store-wide and per-key retention, Prune (whole blocks deleted, the
// block holding the cutoff rewritten, the cutoff point itself kept), prune on write, Compact to
// the newest N points per series across block boundaries, snapshots restored atomically over
// later writes, rollups and retention changes, their CDC events and bad input.
#include "dotdo/cdc.h"
#include "dotdo/timeseries.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

constexpr int64_t kNow = 1'700'000'000'000;
constexpr int64_t kDay = 86'400'000;

class TimeSeriesRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = testing::OpenMemoryDb(&clock_); }
  // One point per hour over the last `days` days (the newest at kNow), for each host.
  void Fill(TimeSeriesStore& ts, const std::string& key, int days, std::vector<std::string> hosts = {"a"}) {
    std::vector<TimeSeriesPoint> pts;
    for (const auto& h : hosts)
      for (int64_t t = kNow - days * kDay; t <= kNow; t += 3'600'000) pts.push_back({key, {{"host", h}}, t, static_cast<double>(t / 1000)});
    ASSERT_THAT(ts.PutBatch(pts), IsOk());
  }
  std::vector<int64_t> Times(TimeSeriesStore& ts, const std::string& key, const std::string& host = "a") {
    std::vector<int64_t> out;
    auto it = ts.Range(key, {}, {{"host", host}});
    EXPECT_THAT(it, IsOk());
    while (it.ok() && *it->Next()) out.push_back(it->sample().ts);
    return out;
  }
  std::vector<UnifiedEvent> Events() {
    auto events = ChangeFeed(*db_).Read(0, 10000);
    EXPECT_THAT(events, IsOk());
    return events.ok() ? *events : std::vector<UnifiedEvent>{};
  }
  std::vector<UnifiedEvent> Deletes() {
    std::vector<UnifiedEvent> out;
    for (auto& e : Events())
      if (e.type == "cdc.delete") out.push_back(e);
    return out;
  }
  ManualClock clock_{kNow};
  std::unique_ptr<Database> db_;
};

TEST_F(TimeSeriesRetentionTest, PruneRemovesExactlyTheExpiredPoints) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ts, TimeSeriesStore::Open(*db_, {.max_block_points = 16, .retention_ms = 7 * kDay}));
  Fill(ts, "cpu", 10, {"a", "b"});
  EXPECT_EQ(Times(ts, "cpu").size(), 241u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto r, ts.Prune());
  EXPECT_EQ(r, (TimeSeriesPruneResult{2 * 72, 2}));
  const auto kept = Times(ts, "cpu");
  ASSERT_EQ(kept.size(), 169u);
  EXPECT_EQ(kept.front(), kNow - 7 * kDay);  // the point at the cutoff is kept
  EXPECT_THAT(ts.GetAsOf("cpu", kNow - 7 * kDay - 1, {{"host", "a"}}), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto agg, ts.Aggregate("cpu", {.metrics = {"count", "min"}}, {{"host", "b"}}));
  EXPECT_EQ(agg.buckets[0].values, (std::vector<double>{169, static_cast<double>((kNow - 7 * kDay) / 1000)}));
  auto events = Deletes();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(*events[0].key, "cpu,host=a");
  EXPECT_EQ((*events[0].before)["count"], 72);
  EXPECT_EQ(events[0].txid, events[1].txid);
  // Nothing more to prune until time passes; then the next hour goes.
  EXPECT_EQ(*ts.Prune(), (TimeSeriesPruneResult{0, 0}));
  clock_.Advance(3'600'000);
  EXPECT_EQ(*ts.Prune(), (TimeSeriesPruneResult{2, 2}));
  // Appends after a prune still work (the tail cache was dropped where it had to be).
  DOTDO_ASSERT_OK(ts.Put("cpu", 1, kNow + 1, {{"host", "a"}}));
  EXPECT_EQ(Times(ts, "cpu").back(), kNow + 1);
}

TEST_F(TimeSeriesRetentionTest, PerKeyRetentionOverridesTheStore) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ts, TimeSeriesStore::Open(*db_, {.max_block_points = 16, .retention_ms = 30 * kDay}));
  Fill(ts, "cpu", 10);
  Fill(ts, "mem", 10);
  Fill(ts, "disk", 10);
  DOTDO_ASSERT_OK(ts.SetRetention("cpu", 2 * kDay));
  DOTDO_ASSERT_OK(ts.SetRetention("disk", 5 * kDay));
  DOTDO_ASSERT_OK(ts.SetRetention("disk", 1 * kDay));
  EXPECT_EQ(*ts.GetRetention("cpu"), 2 * kDay);
  EXPECT_EQ(*ts.GetRetention("mem"), 30 * kDay);
  DOTDO_ASSERT_OK(ts.Prune());
  EXPECT_EQ(Times(ts, "cpu").size(), 49u);
  EXPECT_EQ(Times(ts, "mem").size(), 241u);
  EXPECT_EQ(Times(ts, "disk").size(), 25u);
  DOTDO_ASSERT_OK(ts.SetRetention("cpu", std::nullopt));
  EXPECT_EQ(*ts.GetRetention("cpu"), 30 * kDay);
  DOTDO_ASSERT_OK(ts.SetRetention("never", std::nullopt));  // nothing to remove: no event
  std::vector<std::string> types;
  for (auto& e : Events())
    if (e.table == "retention") types.push_back(e.type);
  EXPECT_EQ(types, (std::vector<std::string>{"cdc.insert", "cdc.insert", "cdc.update", "cdc.delete"}));
  TimeSeriesStore forever(*db_);
  EXPECT_EQ(*forever.GetRetention("mem"), std::nullopt);
  EXPECT_THAT(ts.SetRetention("cpu", 0), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.SetRetention("cpu", -5), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.SetRetention("bad key", kDay), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.GetRetention("bad key"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(TimeSeriesStore::Open(*db_, {.retention_ms = 0}), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(TimeSeriesRetentionTest, PruneOnWriteExpiresTheWrittenSeriesInTheSameTransaction) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ts, TimeSeriesStore::Open(*db_, {.max_block_points = 16, .retention_ms = kDay, .prune_on_write = true}));
  Fill(ts, "cpu", 3, {"a", "b"});
  EXPECT_EQ(Times(ts, "cpu", "a").size(), 25u);
  EXPECT_EQ(Times(ts, "cpu", "b").size(), 25u);
  clock_.Advance(2 * 3'600'000);
  DOTDO_ASSERT_OK(ts.Put("cpu", 5, kNow + 1, {{"host", "a"}}));
  EXPECT_EQ(Times(ts, "cpu", "a").size(), 24u);  // two expired, one added
  EXPECT_EQ(Times(ts, "cpu", "b").size(), 25u);  // not written: untouched
  auto events = Events();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back().type, "cdc.insert");
  EXPECT_EQ(events[events.size() - 2].type, "cdc.delete");
  EXPECT_EQ(events.back().txid, events[events.size() - 2].txid);
}

TEST_F(TimeSeriesRetentionTest, CompactKeepsTheNewestPointsPerSeries) {
  TimeSeriesStore ts(*db_, {.max_block_points = 16});
  Fill(ts, "cpu", 4, {"a", "b"});  // 97 points each
  Fill(ts, "mem", 1);              // 25 points
  EXPECT_THAT(ts.Compact({.max_versions_per_key = 0}), StatusIs(StatusCode::kInvalidArgument));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto r, ts.Compact({.max_versions_per_key = 40}));
  EXPECT_EQ(r, (TimeSeriesPruneResult{2 * 57, 2}));
  for (const char* h : {"a", "b"}) {
    const auto kept = Times(ts, "cpu", h);
    ASSERT_EQ(kept.size(), 40u);
    EXPECT_EQ(kept.back(), kNow);
    EXPECT_EQ(kept.front(), kNow - 39 * 3'600'000);
  }
  EXPECT_EQ(Times(ts, "mem").size(), 25u);
  for (int64_t n : {32, 16, 15, 1}) {
    DOTDO_ASSERT_OK(ts.Compact({.max_versions_per_key = n}));
    EXPECT_EQ(Times(ts, "cpu").size(), static_cast<size_t>(n));
    EXPECT_EQ(Times(ts, "mem").size(), static_cast<size_t>(std::min<int64_t>(n, 25)));
  }
  EXPECT_EQ(*ts.Compact({.max_versions_per_key = 1}), (TimeSeriesPruneResult{0, 0}));
  EXPECT_EQ(*ts.Get("cpu", {{"host", "b"}}), (TimeSample{kNow, static_cast<double>(kNow / 1000)}));
}

TEST_F(TimeSeriesRetentionTest, SnapshotsRestoreTheWholeStore) {
  TimeSeriesStore ts(*db_, {.max_block_points = 16});
  Fill(ts, "cpu", 2, {"a", "b"});
  DOTDO_ASSERT_OK(ts.SetRetention("cpu", 30 * kDay));
  const auto before_a = Times(ts, "cpu", "a");
  DOTDO_ASSERT_OK_AND_ASSIGN(auto snap, ts.CreateSnapshot());
  EXPECT_EQ(snap.series, 2);
  EXPECT_EQ(snap.points, 2 * 49);
  // Changes after the snapshot: new points (appends through the tail cache and late ones), a new
  // series, a rollup, a retention change.
  DOTDO_ASSERT_OK(ts.Put("cpu", 1, kNow + 1, {{"host", "a"}}));
  DOTDO_ASSERT_OK(ts.Put("cpu", 1, kNow - 5, {{"host", "a"}}));
  DOTDO_ASSERT_OK(ts.Put("mem", 1, kNow));
  DOTDO_ASSERT_OK(ts.Rollup({.older_than_ms = kDay, .bucket_ms = 3'600'000}));
  DOTDO_ASSERT_OK(ts.SetRetention("cpu", std::nullopt));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto second, ts.CreateSnapshot());
  DOTDO_ASSERT_OK(ts.RestoreSnapshot(snap.id));
  EXPECT_EQ(Times(ts, "cpu", "a"), before_a);
  EXPECT_EQ(Times(ts, "cpu", "b").size(), 49u);
  EXPECT_THAT(ts.Get("mem"), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(*ts.GetRetention("cpu"), 30 * kDay);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto agg, ts.Aggregate("cpu", {.metrics = {"count"}}, {{"host", "a"}}));
  EXPECT_EQ(agg.buckets[0].count, 49);  // no rollup rows came back
  // The store keeps working after the restore (caches were reset) and the other snapshot is intact.
  DOTDO_ASSERT_OK(ts.Put("cpu", 2, kNow + 2, {{"host", "a"}}));
  EXPECT_EQ(Times(ts, "cpu", "a").back(), kNow + 2);
  DOTDO_ASSERT_OK(ts.RestoreSnapshot(second.id));
  EXPECT_EQ(*ts.Get("mem"), (TimeSample{kNow, 1}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto list, ts.ListSnapshots());
  EXPECT_EQ(list, (std::vector<TimeSeriesSnapshot>{snap, second}));
  DOTDO_ASSERT_OK(ts.DeleteSnapshot(snap.id));
  EXPECT_THAT(ts.RestoreSnapshot(snap.id), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(ts.DeleteSnapshot(snap.id), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(ts.RestoreSnapshot(""), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ts.RestoreSnapshot("x'; DROP TABLE ts_blocks; --"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(ts.ListSnapshots()->size(), 1u);
  std::vector<std::string> types;
  for (auto& e : Events())
    if (e.table == "snapshots") types.push_back(e.type);
  EXPECT_EQ(types, (std::vector<std::string>{"cdc.insert", "cdc.insert", "cdc.update", "cdc.update", "cdc.delete"}));
  // A restore inside a transaction that rolls back changes nothing.
  Status st = db_->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(ts.RestoreSnapshot(second.id));
    return AbortedError("no");
  });
  EXPECT_THAT(st, StatusIs(StatusCode::kAborted));
  EXPECT_EQ(*ts.Get("mem"), (TimeSample{kNow, 1}));
}

}  // namespace
}  // namespace dotdo
