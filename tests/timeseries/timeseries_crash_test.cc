// Crash test: a child process ingests batches (each with appends and late points that rewrite
// older blocks) and is killed with SIGKILL at random points. After each batch commits the child
// appends the batch number to an acknowledgement file (write(2): it survives the process). After
// reopening: every acknowledged batch is there in full, every batch is all or nothing, and the
// committed batches and the cdc.batch_insert events correspond one to one.
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

}  // namespace
}  // namespace dotdo
