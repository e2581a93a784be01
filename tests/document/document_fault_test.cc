// DocumentStore under disk faults (the fault-injecting VFS): failing the Nth write (EIO, ENOSPC) or
// the Nth sync (EIO, synchronous=FULL) of a create, an update, a batch or the first write to a new
// namespace, for every N the operation reaches, returns the fault's typed status, shows nothing of
// the failed change in the process or after a restart, keeps the namespace usable (the retry
// succeeds) and leaves an intact file whose events match its documents exactly. Power loss keeps
// every acknowledged create with synchronous=FULL and a whole-transaction prefix with NORMAL.
#include <algorithm>
#include <set>

#include "dotdo/document.h"
#include "testing/fault_util.h"

namespace dotdo {
namespace {

using internal::FaultError;
using internal::FaultOp;
using internal::FileKind;
using ::dotdo::testing::FaultLoopOptions;
using ::dotdo::testing::FaultyNamespace;
using ::dotdo::testing::ForEachFaultPosition;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

class DocumentFaultTest : public ::testing::TestWithParam<::dotdo::testing::DiskFaultCase> {};

using ::dotdo::testing::EventsFor;

TEST_P(DocumentFaultTest, CreateIsAllOrNothingAndTheRetrySucceeds) {
  const Json doc = {{"$id", "d1"}, {"$type", "Note"}, {"text", std::string(3000, 'n')}};
  const int faulted = ForEachFaultPosition(
      GetParam().options,
      [](Database& db) { DOTDO_ASSERT_OK(DocumentStore(db).Create({{"$id", "d0"}, {"$type", "Note"}})); },
      [&](Database& db) { return DocumentStore(db).Create(doc).status(); },
      [&](Database& db, const Status& st, bool) {
        DocumentStore store(db);
        if (!st.ok()) {
          EXPECT_THAT(store.Get("d1"), StatusIs(StatusCode::kNotFound));
          EXPECT_TRUE(EventsFor(db, "d1").empty());
          DOTDO_ASSERT_OK(store.Create(doc));  // the namespace still works, the id is free
        }
      },
      [&](Database& db, const Status&, bool) {
        DocumentStore store(db);
        DOTDO_ASSERT_OK_AND_ASSIGN(Json got, store.Get("d1"));
        EXPECT_EQ(got["text"], doc["text"]);
        EXPECT_EQ(got["$version"], 1);
        const auto events = EventsFor(db, "d1");
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].type, "cdc.insert");
        DOTDO_ASSERT_OK_AND_ASSIGN(auto history, store.History("d1"));
        EXPECT_EQ(history.size(), 1u);
        EXPECT_EQ(EventsFor(db, "d0").size(), 1u);
      });
  EXPECT_GE(faulted, 1) << "the fault never hit the operation";
}

TEST_P(DocumentFaultTest, UpdateIsAllOrNothing) {
  const int faulted = ForEachFaultPosition(
      GetParam().options,
      [](Database& db) { DOTDO_ASSERT_OK(DocumentStore(db).Create({{"$id", "d1"}, {"$type", "Note"}, {"n", 1}})); },
      [](Database& db) { return DocumentStore(db).Update("d1", {{"$inc", {{"n", 10}}}}).status(); },
      [](Database& db, const Status& st, bool) {
        DOTDO_ASSERT_OK_AND_ASSIGN(Json got, DocumentStore(db).Get("d1"));
        EXPECT_EQ(got["n"], st.ok() ? 11 : 1);
      },
      [](Database& db, const Status& st, bool) {
        DocumentStore store(db);
        DOTDO_ASSERT_OK_AND_ASSIGN(Json got, store.Get("d1"));
        EXPECT_EQ(got["n"], st.ok() ? 11 : 1);
        EXPECT_EQ(got["$version"], st.ok() ? 2 : 1);
        const auto events = EventsFor(db, "d1");
        ASSERT_EQ(events.size(), st.ok() ? 2u : 1u);
        EXPECT_EQ(events.back().type, st.ok() ? "cdc.update" : "cdc.insert");
        DOTDO_ASSERT_OK_AND_ASSIGN(auto history, store.History("d1"));
        EXPECT_EQ(history.size(), st.ok() ? 2u : 1u);
      });
  EXPECT_GE(faulted, 1);
}

TEST_P(DocumentFaultTest, BatchIsAllOrNothingWithOneTxid) {
  std::vector<Json> batch;
  for (int i = 0; i < 6; ++i) batch.push_back({{"$id", "b" + std::to_string(i)}, {"$type", "Batch"}, {"pad", std::string(1500, 'b')}});
  const int faulted = ForEachFaultPosition(
      GetParam().options,
      [](Database& db) { DOTDO_ASSERT_OK(DocumentStore(db).Create({{"$id", "d0"}, {"$type", "Batch"}})); },
      [&](Database& db) { return DocumentStore(db).CreateMany(batch).status(); },
      [&](Database& db, const Status& st, bool) {
        EXPECT_EQ(*DocumentStore(db).Count("Batch"), st.ok() ? 7 : 1);
      },
      [&](Database& db, const Status& st, bool) {
        EXPECT_EQ(*DocumentStore(db).Count("Batch"), st.ok() ? 7 : 1);
        std::set<int64_t> txids;
        for (int i = 0; i < 6; ++i) {
          const auto events = EventsFor(db, "b" + std::to_string(i));
          ASSERT_EQ(events.size(), st.ok() ? 1u : 0u);
          if (!events.empty()) txids.insert(*events[0].txid);
        }
        EXPECT_LE(txids.size(), 1u);
      });
  EXPECT_GE(faulted, 1);
}

TEST_P(DocumentFaultTest, FirstWriteToANewNamespaceIsAllOrNothing) {
  const int faulted = ForEachFaultPosition(
      GetParam().options, [](Database&) {},
      [](Database& db) { return DocumentStore(db).Create({{"$id", "d1"}, {"$type", "Note"}}).status(); },
      [](Database& db, const Status& st, bool) {
        if (!st.ok()) {
          DOTDO_ASSERT_OK(DocumentStore(db).Create({{"$id", "d1"}, {"$type", "Note"}}));
        }
      },
      [](Database& db, const Status&, bool) {
        DOTDO_EXPECT_OK(DocumentStore(db).Get("d1"));
        EXPECT_EQ(EventsFor(db, "d1").size(), 1u);
      });
  EXPECT_GE(faulted, 1);
}

INSTANTIATE_TEST_SUITE_P(Faults, DocumentFaultTest, ::testing::ValuesIn(::dotdo::testing::kDiskFaultCases),
                         ::dotdo::testing::DiskFaultCaseName);

// Power loss. With synchronous=FULL an acknowledged commit is durable: every create survives. With
// NORMAL the WAL is synced only at checkpoints: the namespace holds a prefix of the commits, each
// whole, with exactly its events.
void CreateThenLosePower(Synchronous sync, size_t keep_writes, int creates, std::vector<bool>* survived) {
  FaultyNamespace ns(sync);
  {
    Database& db = ns.Open();
    DOTDO_ASSERT_OK(DocumentStore(db).Create({{"$id", "base"}, {"$type", "Note"}}));
  }
  ns.Close();  // a clean close checkpoints: "base" is durable in either mode
  Database& db = ns.Open();
  DocumentStore store(db);
  for (int i = 0; i < creates; ++i) {
    const std::string id = "n" + std::to_string(i);
    DOTDO_ASSERT_OK(db.Transaction([&]() -> Status {
      DOTDO_RETURN_IF_ERROR(store.Create({{"$id", id}, {"$type", "Note"}, {"pad", std::string(700, 'p')}}).status());
      return store.Create({{"$id", id + "-pair"}, {"$type", "Pair"}}).status();
    }));
  }
  ns.LosePower(keep_writes);
  Database& after = ns.OpenNormal();
  ns.ExpectConsistent();
  DocumentStore reopened(after);
  DOTDO_ASSERT_OK(reopened.Get("base"));
  survived->clear();
  for (int i = 0; i < creates; ++i) {
    const std::string id = "n" + std::to_string(i);
    const bool doc = reopened.Get(id).ok();
    EXPECT_EQ(reopened.Get(id + "-pair").ok(), doc) << "half of transaction " << i << " survived";
    EXPECT_EQ(EventsFor(after, id).size(), doc ? 1u : 0u) << id;
    EXPECT_EQ(EventsFor(after, id + "-pair").size(), doc ? 1u : 0u) << id;
    survived->push_back(doc);
  }
}

TEST(DocumentPowerLossTest, FullSyncKeepsEveryAcknowledgedCreate) {
  for (size_t keep : {size_t{0}, size_t{3}}) {
    std::vector<bool> survived;
    CreateThenLosePower(Synchronous::kFull, keep, 12, &survived);
    EXPECT_EQ(survived, std::vector<bool>(12, true)) << "keep_writes " << keep;
  }
}

TEST(DocumentPowerLossTest, NormalSyncKeepsAPrefixOfWholeTransactions) {
  std::set<size_t> prefix_lengths;
  for (size_t keep : {size_t{0}, size_t{2}, size_t{9}, size_t{25}, size_t{60}, size_t{100000}}) {
    SCOPED_TRACE("keep_writes " + std::to_string(keep));
    std::vector<bool> survived;
    CreateThenLosePower(Synchronous::kNormal, keep, 12, &survived);
    const size_t n = static_cast<size_t>(std::find(survived.begin(), survived.end(), false) - survived.begin());
    EXPECT_EQ(std::count(survived.begin(), survived.end(), true), static_cast<std::ptrdiff_t>(n)) << "not a prefix";
    if (keep == 0) {
      EXPECT_EQ(n, 0u) << "nothing was synced since the checkpoint";
    }
    if (keep == 100000) {
      EXPECT_EQ(n, 12u) << "every write reached the disk";
    }
    prefix_lengths.insert(n);
  }
  EXPECT_GE(prefix_lengths.size(), 3u) << "the cases should cut the WAL at different commits";
}

}  // namespace
}  // namespace dotdo
