// StreamStore under disk faults (the fault-injecting VFS): failing the Nth write (EIO, ENOSPC) or
// sync (EIO, synchronous=FULL) of a SendBatch or a CommitOffsets returns the fault's typed status
// and leaves, in the process and after a restart, either all of the records / offsets with their
// events or none of them; offsets stay dense and the retry succeeds. A power loss keeps every
// acknowledged batch with synchronous=FULL and a prefix of whole transactions with NORMAL.
#include <set>

#include "dotdo/stream.h"
#include "testing/fault_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::ForEachFaultPosition;
using ::dotdo::testing::IsOk;

class StreamFaultTest : public ::testing::TestWithParam<::dotdo::testing::DiskFaultCase> {};

int64_t EventsOfType(Database& db, const std::string& type) {
  auto rows = db.QueryReadOnly("SELECT COUNT(*) AS n FROM cdc_events WHERE type = ?1", {type});
  EXPECT_THAT(rows, IsOk());
  return rows.ok() ? (*rows)[0]["n"].get<int64_t>() : -1;
}

std::vector<StreamMessage> Batch(int n) {
  std::vector<StreamMessage> b;
  for (int i = 0; i < n; ++i) b.push_back({.key = "k" + std::to_string(i), .value = std::string(300, 'v')});
  return b;
}

void TopicWithFourRecords(Database& db) {
  StreamStore s(db);
  ASSERT_THAT(s.CreateTopic("t", {.partitions = 2}), IsOk());
  ASSERT_THAT(s.SendBatch("t", Batch(4)), IsOk());
}

// The topic holds `n` records per the setup plus, when `sent`, the batch; offsets are dense.
void ExpectRecords(Database& db, bool sent) {
  StreamStore s(db);
  auto info = s.DescribeTopic("t");
  ASSERT_THAT(info, IsOk());
  int64_t total = 0;
  for (const auto& p : info->partitions) {
    EXPECT_EQ(p.records, p.end_offset);
    auto recs = s.Fetch("t", p.partition, 0, 1000);
    ASSERT_THAT(recs, IsOk());
    ASSERT_EQ(static_cast<int64_t>(recs->size()), p.end_offset);
    for (size_t i = 0; i < recs->size(); ++i) EXPECT_EQ((*recs)[i].offset, static_cast<int64_t>(i));
    total += p.end_offset;
  }
  EXPECT_EQ(total, sent ? 4 + 12 : 4);
}

TEST_P(StreamFaultTest, SendBatchIsAllOrNothingAndTheRetrySucceeds) {
  const int faulted = ForEachFaultPosition(
      GetParam().options, TopicWithFourRecords, [](Database& db) { return StreamStore(db).SendBatch("t", Batch(12)).status(); },
      [](Database& db, const Status& st, bool) {
        ExpectRecords(db, st.ok());
        if (!st.ok()) {
          ASSERT_THAT(StreamStore(db).SendBatch("t", Batch(12)), IsOk());
        }
      },
      [](Database& db, const Status&, bool) {
        ExpectRecords(db, true);
        // Two produce events for the setup batch, two for the retried one (one per partition).
        EXPECT_EQ(EventsOfType(db, "stream.produce"), 4);
      });
  EXPECT_GE(faulted, 1);
}

TEST_P(StreamFaultTest, CommitIsAllOrNothing) {
  const std::map<StreamTopicPartition, int64_t> offsets = {{{"t", 0}, 1}, {{"t", 1}, 1}};
  const int faulted = ForEachFaultPosition(
      GetParam().options, TopicWithFourRecords, [&](Database& db) { return StreamStore(db).CommitOffsets("g", offsets); },
      [](Database& db, const Status& st, bool) {
        StreamStore s(db);
        EXPECT_EQ(s.CommittedOffset("g", {"t", 0})->has_value(), st.ok());
        EXPECT_EQ(s.CommittedOffset("g", {"t", 1})->has_value(), st.ok());
      },
      [](Database& db, const Status& st, bool) {
        StreamStore s(db);
        EXPECT_EQ(s.CommittedOffset("g", {"t", 1})->has_value(), st.ok());
        EXPECT_EQ(EventsOfType(db, "stream.commit"), st.ok() ? 1 : 0);
      });
  EXPECT_GE(faulted, 1);
}

// Power loss after 10 transactions, each a batch of 3 records to partition 0 plus a commit of the
// offset reached. Returns how many transactions survived; checks that they form a prefix, with
// dense offsets, exactly their stream.produce / stream.commit events and the commit at the end.
int64_t SendThenLosePower(Synchronous sync, size_t keep_writes) {
  ::dotdo::testing::FaultyNamespace ns(sync);
  {
    Database& db = ns.Open();
    EXPECT_THAT(StreamStore(db).CreateTopic("t"), IsOk());
  }
  ns.Close();  // a clean close checkpoints: the topic is durable in either mode
  Database& db = ns.Open();
  StreamStore s(db);
  for (int i = 0; i < 10; ++i) {
    EXPECT_THAT(db.Transaction([&]() -> Status {
      DOTDO_RETURN_IF_ERROR(s.SendBatch("t", Batch(3)).status());
      return s.CommitOffsets("g", {{{"t", 0}, 3 * (i + 1)}});
    }), IsOk());
  }
  ns.LosePower(keep_writes);
  Database& after = ns.OpenNormal();
  ns.ExpectConsistent();
  StreamStore reopened(after);
  auto info = reopened.DescribeTopic("t");
  EXPECT_THAT(info, IsOk());
  if (!info.ok()) return -1;
  const int64_t end = info->partitions[0].end_offset;
  EXPECT_EQ(end % 3, 0) << "a batch survived in part";
  EXPECT_EQ(info->partitions[0].records, end);
  auto recs = reopened.Fetch("t", 0, 0, 1000);
  EXPECT_THAT(recs, IsOk());
  for (size_t i = 0; recs.ok() && i < recs->size(); ++i) EXPECT_EQ((*recs)[i].offset, static_cast<int64_t>(i));
  EXPECT_EQ(EventsOfType(after, "stream.produce"), end / 3);
  EXPECT_EQ(EventsOfType(after, "stream.commit"), end / 3);
  auto committed = reopened.CommittedOffset("g", {"t", 0});
  EXPECT_THAT(committed, IsOk());
  EXPECT_EQ(committed.ok() ? committed->value_or(0) : -1, end) << "the commit went with its batch";
  return end / 3;
}

TEST(StreamPowerLossTest, FullSyncKeepsEveryAcknowledgedBatch) {
  for (size_t keep : {size_t{0}, size_t{3}}) EXPECT_EQ(SendThenLosePower(Synchronous::kFull, keep), 10) << keep;
}

TEST(StreamPowerLossTest, NormalSyncKeepsAPrefixOfWholeTransactions) {
  std::set<int64_t> survived;
  for (size_t keep : {size_t{0}, size_t{4}, size_t{12}, size_t{30}, size_t{100000}}) {
    const int64_t n = SendThenLosePower(Synchronous::kNormal, keep);
    if (keep == 0) {
      EXPECT_EQ(n, 0) << "nothing was synced since the checkpoint";
    }
    if (keep == 100000) {
      EXPECT_EQ(n, 10) << "every write reached the disk";
    }
    survived.insert(n);
  }
  EXPECT_GE(survived.size(), 3u) << "the cases should cut the WAL at different commits";
}

INSTANTIATE_TEST_SUITE_P(Faults, StreamFaultTest, ::testing::ValuesIn(::dotdo::testing::kDiskFaultCases),
                         ::dotdo::testing::DiskFaultCaseName);

}  // namespace
}  // namespace dotdo
