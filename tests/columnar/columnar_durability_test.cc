// ColumnarStore durability. Crash: a child inserts batches (and deletes some of its records) and is
// killed with SIGKILL at random points; after each commit it appends the batch number to an
// acknowledgement file. After reopening every acknowledged batch is there in full, every batch is
// all or nothing, and batches and cdc.batch_insert events correspond one to one. Faults: failing
// the Nth write or sync (the fault VFS) of an InsertBatch, a Delete and a Compact returns the
// fault's typed status and leaves, in the process and after a restart, all of the change with its
// events or none of it; the retry succeeds. Power loss with synchronous=FULL keeps every
// acknowledged batch.
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>

#include "dotdo/columnar.h"
#include "testing/fault_util.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::FaultyNamespace;
using ::dotdo::testing::ForEachFaultPosition;
using ::dotdo::testing::IsOk;

constexpr int64_t kT0 = 1'767'225'600'000;
constexpr int kBatch = 40;

std::vector<ColumnarRecord> Batch(int64_t k) {
  std::vector<ColumnarRecord> out;
  for (int i = 0; i < kBatch; ++i)
    out.push_back({.id = "b" + std::to_string(k) + "-" + std::to_string(i), .type = "Ev",
                   .data = {{"batch", k}, {"i", i}, {"tag", i % 2 ? "odd" : "even"}},
                   .created_at = kT0 + k * 3'600'000 + i});
  return out;
}

// Records per batch number (live), and the number of cdc.batch_insert events.
std::pair<std::map<int64_t, int>, int64_t> Stored(Database& db) {
  ColumnarStore col(db);
  std::map<int64_t, int> per;
  auto agg = col.Aggregate({.type = "Ev", .group_by = {"batch"}, .metrics = {"count"}});
  EXPECT_THAT(agg, IsOk());
  if (agg.ok())
    for (const Json& g : agg->groups) per[g["batch"].get<int64_t>()] = g["count"].get<int>();
  auto ev = db.QueryReadOnly("SELECT COUNT(*) AS n FROM cdc_events WHERE type = 'cdc.batch_insert'");
  EXPECT_THAT(ev, IsOk());
  return {per, ev.ok() ? (*ev)[0]["n"].get<int64_t>() : -1};
}

[[noreturn]] void InsertForever(const std::filesystem::path& dir, int generation) {
  auto db = Database::Open(dir, "crash");
  if (!db.ok()) _exit(3);
  ColumnarStore col(**db, {.max_chunk_rows = 64});
  const int fd = ::open((dir / ("acks-" + std::to_string(generation))).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) _exit(4);
  for (int64_t k = generation * 100'000;; ++k) {
    if (!col.InsertBatch(Batch(k)).ok()) _exit(5);
    if (::write(fd, &k, sizeof k) != sizeof k) _exit(6);
    if (k % 7 == 0 && !col.Compact().ok()) _exit(7);
  }
}

TEST(ColumnarCrashTest, KilledInsertsKeepEveryAcknowledgedBatchWhole) {
  testing::ScratchDir dir;
  std::mt19937 rng(11);
  std::set<int64_t> acked;
  for (int generation = 0; generation < 5; ++generation) {
    ASSERT_TRUE(testing::RunAndKill([&] { InsertForever(dir.path(), generation); }, std::chrono::milliseconds(80 + rng() % 150)));
    const int fd = ::open((dir.path() / ("acks-" + std::to_string(generation))).c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    int64_t k;
    while (::read(fd, &k, sizeof k) == sizeof k) acked.insert(k);
    ::close(fd);
  }
  ASSERT_GT(acked.size(), 10u) << "the writers never got going";
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "crash"));
  auto [per, events] = Stored(*db);
  for (int64_t k : acked) EXPECT_EQ(per[k], kBatch) << "acknowledged batch " << k;
  for (const auto& [k, n] : per) EXPECT_EQ(n, kBatch) << "batch " << k << " is partial";
  EXPECT_EQ(events, static_cast<int64_t>(per.size()));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json ok, db->QueryReadOnly("PRAGMA integrity_check"));
  EXPECT_EQ(ok[0]["integrity_check"], "ok");
}

class ColumnarFaultTest : public ::testing::TestWithParam<testing::DiskFaultCase> {};

TEST_P(ColumnarFaultTest, InsertBatchIsAllOrNothingAndTheRetrySucceeds) {
  std::vector<ColumnarRecord> batch = Batch(1);
  for (const auto& r : Batch(30)) batch.push_back(r);  // two partitions
  const int faulted = ForEachFaultPosition(
      GetParam().options, [](Database& db) { DOTDO_ASSERT_OK(ColumnarStore(db, {.max_chunk_rows = 16}).InsertBatch(Batch(0))); },
      [&](Database& db) { return ColumnarStore(db, {.max_chunk_rows = 16}).InsertBatch(batch).status(); },
      [&](Database& db, const Status& st, bool) {
        auto [per, events] = Stored(db);
        EXPECT_EQ(per.size(), st.ok() ? 3u : 1u);
        EXPECT_EQ(events, st.ok() ? 2 : 1);
        if (!st.ok()) {
          DOTDO_ASSERT_OK(ColumnarStore(db, {.max_chunk_rows = 16}).InsertBatch(batch));
        }
      },
      [](Database& db, const Status&, bool) {
        auto [per, events] = Stored(db);
        EXPECT_EQ(per, (std::map<int64_t, int>{{0, kBatch}, {1, kBatch}, {30, kBatch}}));
        EXPECT_EQ(events, 2);
      });
  EXPECT_GE(faulted, 1);
}

TEST_P(ColumnarFaultTest, DeleteAndCompactAreAllOrNothing) {
  const std::vector<std::string> ids = {"b0-1", "b0-2", "b1-3"};
  const int faulted = ForEachFaultPosition(
      GetParam().options,
      [](Database& db) {
        ColumnarStore col(db, {.max_chunk_rows = 16});
        DOTDO_ASSERT_OK(col.InsertBatch(Batch(0)));
        DOTDO_ASSERT_OK(col.InsertBatch(Batch(1)));
      },
      [&](Database& db) {
        ColumnarStore col(db, {.max_chunk_rows = 16});
        DOTDO_RETURN_IF_ERROR(col.Delete(ids).status());
        return col.Compact().status();
      },
      [&](Database& db, const Status& st, bool) {
        ColumnarStore col(db, {.max_chunk_rows = 16});
        auto count = col.Count("Ev");
        ASSERT_THAT(count, IsOk());
        EXPECT_TRUE(count->count == 2 * kBatch || count->count == 2 * kBatch - 3) << count->count;
        if (!st.ok()) {
          DOTDO_ASSERT_OK(col.Delete(ids));
          DOTDO_ASSERT_OK(col.Compact());
        }
      },
      [&](Database& db, const Status&, bool) {
        ColumnarStore col(db, {.max_chunk_rows = 16});
        auto count = col.Count("Ev");
        ASSERT_THAT(count, IsOk());
        EXPECT_EQ(count->count, 2 * kBatch - 3);
        auto deletes = db.QueryReadOnly("SELECT COUNT(*) AS n FROM cdc_events WHERE type = 'cdc.delete'");
        ASSERT_THAT(deletes, IsOk());
        EXPECT_EQ((*deletes)[0]["n"].get<int>(), 3);
      });
  EXPECT_GE(faulted, 1);
}

INSTANTIATE_TEST_SUITE_P(Faults, ColumnarFaultTest, ::testing::ValuesIn(testing::kDiskFaultCases), testing::DiskFaultCaseName);

TEST(ColumnarPowerLossTest, FullSyncKeepsEveryAcknowledgedBatch) {
  FaultyNamespace ns(Synchronous::kFull);
  {
    ColumnarStore col(ns.Open(), {.max_chunk_rows = 16});
    for (int k = 0; k < 6; ++k) DOTDO_ASSERT_OK(col.InsertBatch(Batch(k)));
    DOTDO_ASSERT_OK(col.Delete({"b2-0"}));
  }
  ns.LosePower();
  Database& db = ns.OpenNormal();
  ns.ExpectConsistent();
  auto [per, events] = Stored(db);
  EXPECT_EQ(per.size(), 6u);
  EXPECT_EQ(per[2], kBatch - 1);
  EXPECT_EQ(events, 6);
}

}  // namespace
}  // namespace dotdo
