// The JSONL pipeline under disk faults of the namespace (the fault-injecting VFS): failing the Nth
// write or sync of a RunOnce (its checkpoint update) returns the fault's typed status, and the next
// RunOnce — in the same process or after a restart — completes delivery with every event in the
// file exactly once. Power loss: a checkpoint lost with unsynced WAL is reconciled from the file
// (no duplicates); events lost with the WAL under synchronous=NORMAL after the sink durably
// received them make RunOnce refuse (kFailedPrecondition) instead of re-using their lsns.
#include <fstream>

#include "dotdo/cdc.h"
#include "testing/fault_util.h"

namespace dotdo {
namespace {

using internal::FaultError;
using internal::FaultOp;
using ::dotdo::testing::FaultLoopOptions;
using ::dotdo::testing::FaultyNamespace;
using ::dotdo::testing::ForEachFaultPosition;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

std::vector<int64_t> FileLsns(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<int64_t> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(Json::parse(line)["lsn"].get<int64_t>());
  return out;
}

std::vector<int64_t> Range(int64_t from, int64_t to) {
  std::vector<int64_t> out;
  for (int64_t i = from; i <= to; ++i) out.push_back(i);
  return out;
}

void Emit(Database& db, int n) {
  CdcEmitter emitter(db);
  for (int i = 0; i < n; ++i) {
    DOTDO_ASSERT_OK(emitter.Emit({.type = "Order.placed", .data = {{"$id", "o" + std::to_string(i)}}}));
  }
}

Result<int64_t> Deliver(Database& db, const std::filesystem::path& file) {
  DOTDO_ASSIGN_OR_RETURN(auto sink, JsonlFileSink::Open(file));
  CdcPipeline pipeline(db, *sink);
  return pipeline.RunOnce();
}

class PipelineFaultTest : public ::testing::TestWithParam<::dotdo::testing::DiskFaultCase> {};

TEST_P(PipelineFaultTest, FailedCheckpointUpdateIsRetriedWithoutDuplicates) {
  std::filesystem::path file;
  const int faulted = ForEachFaultPosition(
      GetParam().options,
      [&](Database& db) {
        file = db.path().parent_path() / "events.jsonl";
        Emit(db, 5);
      },
      [&](Database& db) { return Deliver(db, file).status(); },
      [&](Database& db, const Status& st, bool) {
        if (!st.ok()) {
          auto again = Deliver(db, file);
          ASSERT_THAT(again, IsOk());
        }
        EXPECT_EQ(FileLsns(file), Range(1, 5));
      },
      [&](Database& db, const Status&, bool) {
        DOTDO_ASSERT_OK_AND_ASSIGN(int64_t more, Deliver(db, file));
        EXPECT_EQ(more, 0);
        EXPECT_EQ(FileLsns(file), Range(1, 5));
        DOTDO_ASSERT_OK_AND_ASSIGN(auto sink, JsonlFileSink::Open(file));
        EXPECT_EQ(*CdcPipeline(db, *sink).Checkpoint(), 5);
      });
  EXPECT_GE(faulted, 1);
}

INSTANTIATE_TEST_SUITE_P(Faults, PipelineFaultTest, ::testing::ValuesIn(::dotdo::testing::kDiskFaultCases),
                         ::dotdo::testing::DiskFaultCaseName);

TEST(PipelinePowerLossTest, LostCheckpointIsReconciledFromTheFile) {
  for (Synchronous sync : {Synchronous::kNormal, Synchronous::kFull}) {
    FaultyNamespace ns(sync);
    const auto file = ns.dir() / "events.jsonl";
    Emit(ns.Open(), 5);
    ns.Close();  // the events are durable
    DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, Deliver(ns.Open(), file));
    EXPECT_EQ(n, 5);
    ns.LosePower();  // with NORMAL the checkpoint update is lost; the file was fsynced
    Database& db = ns.OpenNormal();
    ns.ExpectConsistent();
    DOTDO_ASSERT_OK_AND_ASSIGN(int64_t again, Deliver(db, file));
    EXPECT_EQ(again, 0);
    EXPECT_EQ(FileLsns(file), Range(1, 5));
  }
}

TEST(PipelinePowerLossTest, EventsLostWithTheWalAfterDeliveryAreDetected) {
  FaultyNamespace ns(Synchronous::kNormal);
  const auto file = ns.dir() / "events.jsonl";
  Emit(ns.Open(), 1);
  ns.Close();  // lsn 1 is durable
  Database& db = ns.Open();
  Emit(db, 3);  // committed, in the WAL only (synchronous=NORMAL)
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, Deliver(db, file));
  EXPECT_EQ(n, 4);
  ns.LosePower();
  Database& after = ns.OpenNormal();
  ns.ExpectConsistent();
  EXPECT_EQ(*ChangeFeed(after).LastLsn(), 1);  // the namespace lost 2..4; the file has them
  EXPECT_THAT(Deliver(after, file), StatusIs(StatusCode::kFailedPrecondition));
}

TEST(PipelinePowerLossTest, FullSyncKeepsDeliveredEvents) {
  FaultyNamespace ns(Synchronous::kFull);
  const auto file = ns.dir() / "events.jsonl";
  Database& db = ns.Open();
  Emit(db, 3);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, Deliver(db, file));
  EXPECT_EQ(n, 3);
  ns.LosePower();
  Database& after = ns.OpenNormal();
  EXPECT_EQ(*ChangeFeed(after).LastLsn(), 3);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t again, Deliver(after, file));
  EXPECT_EQ(again, 0);
  EXPECT_EQ(FileLsns(file), Range(1, 3));
}

}  // namespace
}  // namespace dotdo
