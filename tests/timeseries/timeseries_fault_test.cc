// TimeSeriesStore under disk faults (the fault-injecting VFS): failing the Nth write (EIO, ENOSPC)
// or sync (EIO, synchronous=FULL) of a PutBatch that appends, splits a full block and rewrites an
// old one with late points returns the fault's typed status and leaves — in the process and after
// a restart — either the whole batch with its one event or none of it; the retry succeeds. Power
// loss: with synchronous=FULL every acknowledged batch survives; with NORMAL a prefix of whole
// batches does.
#include <algorithm>
#include <set>

#include "dotdo/timeseries.h"
#include "testing/fault_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::FaultyNamespace;
using ::dotdo::testing::ForEachFaultPosition;
using ::dotdo::testing::IsOk;

constexpr int64_t kT0 = 1'700'000'000'000;
const TimeSeriesOptions kOptions{.max_block_points = 32};

std::vector<TimeSeriesPoint> Points(int64_t from, int n, int64_t step, double value, int64_t offset = 0) {
  std::vector<TimeSeriesPoint> out;
  for (int i = 0; i < n; ++i) out.push_back({"temp", {{"room", "r" + std::to_string(i % 3)}}, kT0 + from + i * step + offset, value});
  return out;
}

// Points of every room and the number of cdc.batch_insert events.
std::pair<size_t, size_t> Stored(Database& db) {
  TimeSeriesStore ts(db, kOptions);
  size_t points = 0;
  for (int r = 0; r < 3; ++r) {
    auto it = ts.Range("temp", {}, {{"room", "r" + std::to_string(r)}});
    EXPECT_THAT(it, IsOk());
    while (it.ok() && *it->Next()) ++points;
  }
  auto ev = db.QueryReadOnly("SELECT COUNT(*) AS n FROM cdc_events WHERE type = 'cdc.batch_insert'");
  EXPECT_THAT(ev, IsOk());
  return {points, ev.ok() ? (*ev)[0]["n"].get<size_t>() : 0};
}

class TimeSeriesFaultTest : public ::testing::TestWithParam<::dotdo::testing::DiskFaultCase> {};

TEST_P(TimeSeriesFaultTest, PutBatchIsAllOrNothingAndTheRetrySucceeds) {
  // Setup: 300 points (full blocks plus open tails). The batch: 200 appends and 60 late points
  // between the stored ones (rewrites and splits of full blocks).
  std::vector<TimeSeriesPoint> batch = Points(300 * 100, 200, 100, 2);
  for (auto& p : Points(0, 60, 500, 3, 50)) batch.push_back(p);
  const int faulted = ForEachFaultPosition(
      GetParam().options,
      [](Database& db) { DOTDO_ASSERT_OK(TimeSeriesStore(db, kOptions).PutBatch(Points(0, 300, 100, 1))); },
      [&](Database& db) { return TimeSeriesStore(db, kOptions).PutBatch(batch).status(); },
      [&](Database& db, const Status& st, bool) {
        EXPECT_EQ(Stored(db), std::make_pair(st.ok() ? size_t{560} : size_t{300}, st.ok() ? size_t{2} : size_t{1}));
        if (!st.ok()) {
          DOTDO_ASSERT_OK(TimeSeriesStore(db, kOptions).PutBatch(batch));
        }
      },
      [](Database& db, const Status&, bool) {
        EXPECT_EQ(Stored(db), std::make_pair(size_t{560}, size_t{2}));
        TimeSeriesStore ts(db, kOptions);
        EXPECT_EQ(*ts.GetAsOf("temp", kT0 + 50 + 3 * 500, {{"room", "r0"}}), (TimeSample{kT0 + 50 + 3 * 500, 3}));
      });
  EXPECT_GE(faulted, 1);
}

TEST_P(TimeSeriesFaultTest, PruneIsAllOrNothing) {
  // 300 points over 3 rooms; a retention that expires the oldest 126 of them (whole blocks and the
  // block holding the cutoff, which is rewritten).
  const auto check = [](Database& db, const Status& st) {
    EXPECT_EQ(Stored(db).first, st.ok() ? size_t{174} : size_t{300});
    auto deletes = db.QueryReadOnly("SELECT COUNT(*) AS n FROM cdc_events WHERE type = 'cdc.delete'");
    ASSERT_THAT(deletes, IsOk());
    EXPECT_EQ((*deletes)[0]["n"].get<int>(), st.ok() ? 3 : 0);
  };
  const int faulted = ForEachFaultPosition(
      GetParam().options,
      [](Database& db) { DOTDO_ASSERT_OK(TimeSeriesStore(db, kOptions).PutBatch(Points(0, 300, 100, 1))); },
      [](Database& db) {
        TimeSeriesOptions o = kOptions;
        o.retention_ms = db.NowMillis() - (kT0 + 12'550);  // between two points: a few ms of clock drift do not matter
        return TimeSeriesStore(db, o).Prune().status();
      },
      [&](Database& db, const Status& st, bool) { check(db, st); },
      [&](Database& db, const Status& st, bool) { check(db, st); });
  EXPECT_GE(faulted, 1);
}

TEST_P(TimeSeriesFaultTest, RollupIsAllOrNothing) {
  // 300 raw points; a rollup to 1-second buckets of those below kT0 + 15 s (150 points, 15 rows per room).
  const auto check = [](Database& db, const Status& st) {
    EXPECT_EQ(Stored(db).first, st.ok() ? size_t{150} : size_t{300});
    auto rows = db.QueryReadOnly("SELECT COUNT(*) AS n, COALESCE(SUM(count), 0) AS points FROM ts_rollups");
    ASSERT_THAT(rows, IsOk());
    EXPECT_EQ((*rows)[0]["n"].get<int>(), st.ok() ? 45 : 0);
    EXPECT_EQ((*rows)[0]["points"].get<int>(), st.ok() ? 150 : 0);
    DOTDO_ASSERT_OK_AND_ASSIGN(auto agg, TimeSeriesStore(db, kOptions).Aggregate("temp", {.metrics = {"count"}}, {{"room", "r1"}}));
    EXPECT_EQ(agg.buckets[0].count, 100);  // raw plus rolled up: never a point lost or counted twice
  };
  const int faulted = ForEachFaultPosition(
      GetParam().options,
      [](Database& db) { DOTDO_ASSERT_OK(TimeSeriesStore(db, kOptions).PutBatch(Points(0, 300, 100, 1))); },
      [](Database& db) {
        return TimeSeriesStore(db, kOptions)
            .Rollup({.older_than_ms = db.NowMillis() - (kT0 + 15'500), .bucket_ms = 1000, .aggregates = {"count", "p99"}})
            .status();
      },
      [&](Database& db, const Status& st, bool) { check(db, st); },
      [&](Database& db, const Status& st, bool) { check(db, st); });
  EXPECT_GE(faulted, 1);
}

INSTANTIATE_TEST_SUITE_P(Faults, TimeSeriesFaultTest, ::testing::ValuesIn(::dotdo::testing::kDiskFaultCases),
                         ::dotdo::testing::DiskFaultCaseName);

// Writes 12 acknowledged batches (appends plus late points), cuts the power, and reports which survived.
std::vector<bool> IngestThenLosePower(Synchronous sync, size_t keep_writes) {
  FaultyNamespace ns(sync);
  {
    Database& db = ns.Open();
    EXPECT_THAT(TimeSeriesStore(db, kOptions).PutBatch(Points(0, 90, 1000, 0)), IsOk());
  }
  ns.Close();
  Database& db = ns.Open();
  TimeSeriesStore ts(db, kOptions);
  for (int b = 0; b < 12; ++b) {
    auto batch = Points(100'000 + b * 10'000, 40, 100, b + 1);
    for (auto& p : Points(b * 7000, 6, 1000, b + 1, 1 + b)) batch.push_back(p);
    EXPECT_THAT(ts.PutBatch(batch), IsOk());
  }
  ns.LosePower(keep_writes);
  Database& after = ns.OpenNormal();
  ns.ExpectConsistent();
  std::map<int, int> per_batch;
  TimeSeriesStore reopened(after, kOptions);
  for (int r = 0; r < 3; ++r) {
    auto it = reopened.Range("temp", {}, {{"room", "r" + std::to_string(r)}});
    EXPECT_THAT(it, IsOk());
    while (it.ok() && *it->Next()) ++per_batch[static_cast<int>(it->sample().value)];
  }
  EXPECT_EQ(per_batch[0], 90) << "the checkpointed base lost points";
  std::vector<bool> survived;
  for (int b = 1; b <= 12; ++b) {
    EXPECT_TRUE(per_batch[b] == 0 || per_batch[b] == 46) << "batch " << b << " is partial: " << per_batch[b];
    survived.push_back(per_batch[b] == 46);
  }
  return survived;
}

TEST(TimeSeriesPowerLossTest, FullSyncKeepsEveryAcknowledgedBatch) {
  for (size_t keep : {size_t{0}, size_t{3}}) EXPECT_EQ(IngestThenLosePower(Synchronous::kFull, keep), std::vector<bool>(12, true));
}

TEST(TimeSeriesPowerLossTest, NormalSyncKeepsAPrefixOfWholeBatches) {
  std::set<size_t> prefixes;
  for (size_t keep : {size_t{0}, size_t{5}, size_t{20}, size_t{100000}}) {
    SCOPED_TRACE("keep_writes " + std::to_string(keep));
    auto survived = IngestThenLosePower(Synchronous::kNormal, keep);
    const size_t n = static_cast<size_t>(std::find(survived.begin(), survived.end(), false) - survived.begin());
    EXPECT_EQ(static_cast<size_t>(std::count(survived.begin(), survived.end(), true)), n) << "not a prefix";
    if (keep == 100000) {
      EXPECT_EQ(n, 12u);
    }
    prefixes.insert(n);
  }
  EXPECT_GE(prefixes.size(), 2u);
}

}  // namespace
}  // namespace dotdo
