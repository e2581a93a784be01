// Crash test: a child process ingests batches (each with appends and late points that rewrite
// older blocks) and is killed with SIGKILL at random points. After each batch commits the child
// appends the batch number to an acknowledgement file (write(2): it survives the process). After
// reopening: every acknowledged batch is there in full, every batch is all or nothing, and the
// committed batches and the cdc.batch_insert events correspond one to one. A second test kills
// writers that also roll older points up (late points landing in rolled-up buckets included):
// counts and sums over raw points plus rollups equal exactly those of the committed batches, and
// every acknowledged batch is among them.
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>

#include "dotdo/timeseries.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr int kRegular = 50, kLate = 10, kSeries = 5;

// Batch k: 50 points in region k of series k % 5 at ts = region + i*10, and 10 late points into
// region k - 7 of the same series at region + 5 + i*10; every value is k.
std::vector<TimeSeriesPoint> Batch(int64_t k) {
  std::vector<TimeSeriesPoint> out;
  const std::string host = std::to_string(k % kSeries);
  for (int i = 0; i < kRegular; ++i) out.push_back({"load", {{"host", host}}, kT0 + k * 1000 + i * 10, static_cast<double>(k)});
  if (k >= 7)
    for (int i = 0; i < kLate; ++i)
      out.push_back({"load", {{"host", host}}, kT0 + (k - 7) * 1000 + 5 + i * 10, static_cast<double>(k)});
  return out;
}

[[noreturn]] void IngestForever(const std::filesystem::path& dir, int generation) {
  auto db = Database::Open(dir, "crash");
  if (!db.ok()) _exit(3);
  TimeSeriesStore ts(**db, {.max_block_points = 64});
  const int fd = ::open((dir / ("acks-" + std::to_string(generation))).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) _exit(4);
  for (int64_t k = generation * 100'000;; ++k) {
    if (!ts.PutBatch(Batch(k)).ok()) _exit(5);
    if (::write(fd, &k, sizeof k) != sizeof k) _exit(6);
  }
}

TEST(TimeSeriesCrashTest, KilledIngestKeepsEveryAcknowledgedBatchWhole) {
  testing::ScratchDir dir;
  std::mt19937 rng(5);
  std::set<int64_t> acked;
  for (int generation = 0; generation < 5; ++generation) {
    ASSERT_TRUE(testing::RunAndKill([&] { IngestForever(dir.path(), generation); },
                                    std::chrono::milliseconds(60 + rng() % 120)));
    const int fd = ::open((dir.path() / ("acks-" + std::to_string(generation))).c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    int64_t k;
    while (::read(fd, &k, sizeof k) == sizeof k) acked.insert(k);
    ::close(fd);
  }
  ASSERT_GT(acked.size(), 20u) << "the writers never got going";

  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "crash"));
  TimeSeriesStore ts(*db);
  // Points per batch number, over every series.
  std::map<int64_t, int> points_of;
  for (int s = 0; s < kSeries; ++s) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto it, ts.Range("load", {}, {{"host", std::to_string(s)}}));
    for (;;) {
      DOTDO_ASSERT_OK_AND_ASSIGN(bool more, it.Next());
      if (!more) break;
      ++points_of[static_cast<int64_t>(it.sample().value)];
    }
  }
  for (int64_t k : acked) EXPECT_EQ(points_of[k], static_cast<int>(Batch(k).size())) << "acknowledged batch " << k;
  for (const auto& [k, n] : points_of) EXPECT_EQ(n, static_cast<int>(Batch(k).size())) << "batch " << k << " is partial";
  DOTDO_ASSERT_OK_AND_ASSIGN(Json events, db->QueryReadOnly(
      "SELECT COUNT(*) AS n FROM cdc_events WHERE store = 'timeseries' AND type = 'cdc.batch_insert'"));
  EXPECT_EQ(events[0]["n"].get<size_t>(), points_of.size());
  DOTDO_ASSERT_OK_AND_ASSIGN(Json check, db->QueryReadOnly("PRAGMA integrity_check"));
  EXPECT_EQ(check[0]["integrity_check"], "ok");
  DOTDO_EXPECT_OK(ts.Put("load", 1, kT0));
}

// Ingest with a rollup every 5 batches, its cutoff at region k - 5 (so late points into region
// k - 7 land in rolled-up buckets and are folded by the next rollup).
[[noreturn]] void IngestAndRollUpForever(const std::filesystem::path& dir, int generation) {
  auto db = Database::Open(dir, "rollup");
  if (!db.ok()) _exit(3);
  TimeSeriesStore ts(**db, {.max_block_points = 64});
  const int fd = ::open((dir / ("acks-" + std::to_string(generation))).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) _exit(4);
  for (int64_t k = generation * 100'000 + 7;; ++k) {
    if (!ts.PutBatch(Batch(k)).ok()) _exit(5);
    if (::write(fd, &k, sizeof k) != sizeof k) _exit(6);
    if (k % 5 == 0) {
      const int64_t older_than = (*db)->NowMillis() - (kT0 + (k - 5) * 1000);
      if (!ts.Rollup({.older_than_ms = older_than, .bucket_ms = 10'000}).ok()) _exit(7);
    }
  }
}

TEST(TimeSeriesCrashTest, KilledRollupsLoseNoAcknowledgedPoint) {
  testing::ScratchDir dir;
  std::mt19937 rng(9);
  constexpr int kGenerations = 5;
  std::vector<std::vector<int64_t>> acked(kGenerations);
  for (int g = 0; g < kGenerations; ++g) {
    ASSERT_TRUE(testing::RunAndKill([&] { IngestAndRollUpForever(dir.path(), g); }, std::chrono::milliseconds(80 + rng() % 120)));
    const int fd = ::open((dir.path() / ("acks-" + std::to_string(g))).c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    int64_t k;
    while (::read(fd, &k, sizeof k) == sizeof k) acked[g].push_back(k);
    ::close(fd);
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "rollup"));
  TimeSeriesStore ts(*db);
  double count = 0, sum = 0;
  for (int s = 0; s < kSeries; ++s) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto agg, ts.Aggregate("load", {.metrics = {"count", "sum"}}, {{"host", std::to_string(s)}}));
    for (const auto& b : agg.buckets) count += b.values[0], sum += b.values[1];
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(Json events, db->QueryReadOnly(
      "SELECT SUM(type = 'cdc.batch_insert') AS batches, SUM(type = 'cdc.rollup') AS rollups FROM cdc_events"));
  const int64_t committed = events[0]["batches"].get<int64_t>();
  EXPECT_GT(events[0]["rollups"].get<int64_t>(), 0) << "no rollup ran";
  // Committed batches = the acknowledged ones plus, per generation, maybe the one in flight.
  double acked_sum = 0;
  size_t acked_n = 0;
  std::vector<int64_t> maybe;
  for (int g = 0; g < kGenerations; ++g) {
    for (int64_t k : acked[g]) acked_sum += 60.0 * static_cast<double>(k);
    acked_n += acked[g].size();
    maybe.push_back(acked[g].empty() ? g * 100'000 + 7 : acked[g].back() + 1);
  }
  ASSERT_GT(acked_n, 20u);
  EXPECT_EQ(count, 60.0 * static_cast<double>(committed)) << "points were lost or a batch is partial";
  bool explained = false;
  for (unsigned mask = 0; mask < (1u << kGenerations); ++mask) {
    double s = acked_sum;
    int64_t n = static_cast<int64_t>(acked_n);
    for (int g = 0; g < kGenerations; ++g)
      if (mask & (1u << g)) s += 60.0 * static_cast<double>(maybe[g]), ++n;
    explained = explained || (n == committed && s == sum);
  }
  EXPECT_TRUE(explained) << "the stored sum is not that of the acknowledged batches plus in-flight ones";
  DOTDO_ASSERT_OK_AND_ASSIGN(Json check, db->QueryReadOnly("PRAGMA integrity_check"));
  EXPECT_EQ(check[0]["integrity_check"], "ok");
}

}  // namespace
}  // namespace dotdo
