// The fault-injecting VFS: armed write/sync/truncate faults fail exactly the chosen call with the
// chosen SQLite code (and so the chosen dotdo status), filters by file kind, repeat until disarmed;
// a failed automatic checkpoint does not fail the commit that triggered it; simulated power loss
// keeps every commit with synchronous=FULL and a whole-transaction prefix with NORMAL; the
// Database options select the VFS and the synchronous mode.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sqlite/connection.h"
#include "sqlite/fault_vfs.h"
#include "testing/test_util.h"

namespace dotdo::internal {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;

class FaultVfsTest : public ::testing::Test {
 protected:
  void SetUp() override { vfs_.Reset(); }
  void TearDown() override { vfs_.Reset(); }

  std::string DbPath() const { return (dir_.path() / file_).string(); }

  std::unique_ptr<Connection> OpenFaulty(bool full_sync = false) {
    ConnectionOptions o;
    o.vfs = FaultInjectionVfs::kName;
    o.full_sync = full_sync;
    auto c = Connection::Open(DbPath(), o);
    EXPECT_THAT(c, IsOk());
    return c.ok() ? std::move(c).value() : nullptr;
  }

  // A connection through the default VFS (what a restarted process sees).
  std::unique_ptr<Connection> OpenNormal() {
    auto c = Connection::Open(DbPath(), ConnectionOptions{});
    EXPECT_THAT(c, IsOk());
    return c.ok() ? std::move(c).value() : nullptr;
  }

  static Status Insert(Connection& c, int64_t v) {
    DOTDO_RETURN_IF_ERROR(c.Exec("BEGIN IMMEDIATE"));
    auto st = c.Prepare("INSERT INTO t(v, pad) VALUES (?1, ?2)");
    if (!st.ok()) return st.status();
    st->BindAll(v, std::string(600, 'x'));
    Status s = st->Run();
    if (!s.ok()) {
      c.Exec("ROLLBACK").IgnoreError();
      return s;
    }
    // Every transaction writes two rows, so "no partial transaction" is observable.
    auto st2 = c.Prepare("INSERT INTO t(v, pad) VALUES (?1, ?2)");
    if (!st2.ok()) return st2.status();
    st2->BindAll(-v, std::string(600, 'y'));
    s = st2->Run();
    if (s.ok()) s = c.Exec("COMMIT");
    if (!s.ok() && c.InTransaction()) c.Exec("ROLLBACK").IgnoreError();
    return s;
  }

  static std::vector<int64_t> Values(Connection& c) {
    std::vector<int64_t> out;
    auto st = c.Prepare("SELECT v FROM t WHERE v > 0 ORDER BY v");
    EXPECT_THAT(st, IsOk());
    if (!st.ok()) return out;
    while (*st->Step()) out.push_back(st->ColumnInt64(0));
    return out;
  }

  static void ExpectIntact(Connection& c) {
    auto st = c.Prepare("PRAGMA integrity_check");
    ASSERT_THAT(st, IsOk());
    ASSERT_TRUE(*st->Step());
    EXPECT_EQ(st->ColumnText(0), "ok");
    // Both rows of every transaction or neither.
    auto pairs = c.Prepare("SELECT COUNT(*) FROM t a WHERE NOT EXISTS (SELECT 1 FROM t b WHERE b.v = -a.v)");
    ASSERT_THAT(pairs, IsOk());
    ASSERT_TRUE(*pairs->Step());
    EXPECT_EQ(pairs->ColumnInt64(0), 0);
  }

  // Creates the table and makes it durable: a clean close checkpoints and syncs.
  void CreateTable() {
    auto c = OpenFaulty();
    ASSERT_NE(c, nullptr);
    DOTDO_ASSERT_OK(c->Exec("CREATE TABLE t(v INTEGER NOT NULL UNIQUE, pad TEXT NOT NULL)"));
  }

  ScratchDir dir_;
  std::string file_ = "t.sqlite";
  FaultInjectionVfs& vfs_ = FaultInjectionVfs::Instance();
};

TEST_F(FaultVfsTest, NthWriteFailsWithIoErrorAndTheRetrySucceeds) {
  CreateTable();
  auto c = OpenFaulty();
  DOTDO_ASSERT_OK(Insert(*c, 1));
  const int64_t writes_per_insert = vfs_.calls(FaultOp::kWrite);
  ASSERT_GE(writes_per_insert, 2);  // WAL frame headers and pages
  vfs_.Arm({.op = FaultOp::kWrite, .nth = 2});
  EXPECT_THAT(Insert(*c, 2), StatusIs(StatusCode::kUnavailable, "I/O error"));
  EXPECT_EQ(vfs_.injected(), 1);
  DOTDO_ASSERT_OK(Insert(*c, 3));  // one-shot fault: the connection recovers
  EXPECT_EQ(Values(*c), (std::vector<int64_t>{1, 3}));
  c.reset();
  auto n = OpenNormal();
  ExpectIntact(*n);
  EXPECT_EQ(Values(*n), (std::vector<int64_t>{1, 3}));
}

TEST_F(FaultVfsTest, NoSpaceIsResourceExhausted) {
  CreateTable();
  auto c = OpenFaulty();
  vfs_.Arm({.op = FaultOp::kWrite, .error = FaultError::kNoSpace});
  EXPECT_THAT(Insert(*c, 1), StatusIs(StatusCode::kResourceExhausted));
  EXPECT_TRUE(Values(*c).empty());
}

TEST_F(FaultVfsTest, FaultOnlyOnTheMainDbSparesWalCommits) {
  CreateTable();
  auto c = OpenFaulty();
  // A WAL-mode commit writes only the WAL; the main file is written at checkpoints.
  vfs_.Arm({.op = FaultOp::kWrite, .repeat = true, .only = FileKind::kMainDb});
  DOTDO_ASSERT_OK(Insert(*c, 1));
  EXPECT_EQ(vfs_.injected(), 0);
  vfs_.Disarm();
  vfs_.Arm({.op = FaultOp::kWrite, .only = FileKind::kWal});
  EXPECT_THAT(Insert(*c, 2), StatusIs(StatusCode::kUnavailable));
  EXPECT_EQ(vfs_.injected(), 1);
}

TEST_F(FaultVfsTest, RepeatedFaultFailsEveryCallUntilDisarmed) {
  CreateTable();
  auto c = OpenFaulty();
  vfs_.Arm({.op = FaultOp::kWrite, .repeat = true});
  for (int i = 1; i <= 3; ++i) EXPECT_THAT(Insert(*c, i), StatusIs(StatusCode::kUnavailable));
  EXPECT_EQ(vfs_.injected(), 3);
  vfs_.Disarm();
  DOTDO_ASSERT_OK(Insert(*c, 4));
  EXPECT_EQ(Values(*c), std::vector<int64_t>{4});
}

TEST_F(FaultVfsTest, SyncFaultFailsAFullSyncCommitOnly) {
  CreateTable();
  {
    auto normal = OpenFaulty(/*full_sync=*/false);
    DOTDO_ASSERT_OK(Insert(*normal, 1));  // the first commit after a checkpoint may sync the WAL header
    const int64_t before = vfs_.calls(FaultOp::kSync);
    DOTDO_ASSERT_OK(Insert(*normal, 2));
    EXPECT_EQ(vfs_.calls(FaultOp::kSync), before) << "synchronous=NORMAL syncs no commit";
  }
  auto full = OpenFaulty(/*full_sync=*/true);
  DOTDO_ASSERT_OK(Insert(*full, 3));
  vfs_.Arm({.op = FaultOp::kSync, .only = FileKind::kWal});
  EXPECT_THAT(Insert(*full, 4), StatusIs(StatusCode::kUnavailable, "I/O error"));
  EXPECT_EQ(vfs_.injected(), 1);
  EXPECT_EQ(Values(*full), (std::vector<int64_t>{1, 2, 3}));
  DOTDO_ASSERT_OK(Insert(*full, 5));
  full.reset();
  auto n = OpenNormal();
  ExpectIntact(*n);
  EXPECT_EQ(Values(*n), (std::vector<int64_t>{1, 2, 3, 5}));
}

TEST_F(FaultVfsTest, FailedAutomaticCheckpointDoesNotFailTheCommit) {
  CreateTable();
  auto c = OpenFaulty();
  DOTDO_ASSERT_OK(c->Exec("PRAGMA wal_autocheckpoint=1"));
  // Every commit checkpoints; its writes to the main file fail. SQLite's automatic checkpoint
  // ignores its own result, so the committed transaction is reported as committed.
  vfs_.Arm({.op = FaultOp::kWrite, .repeat = true, .only = FileKind::kMainDb});
  DOTDO_ASSERT_OK(Insert(*c, 1));
  DOTDO_ASSERT_OK(Insert(*c, 2));
  EXPECT_GE(vfs_.injected(), 2);
  EXPECT_EQ(Values(*c), (std::vector<int64_t>{1, 2}));
  vfs_.Disarm();
  c.reset();
  auto n = OpenNormal();
  ExpectIntact(*n);
  EXPECT_EQ(Values(*n), (std::vector<int64_t>{1, 2}));
}

TEST_F(FaultVfsTest, TruncateFaultFailsAWalTruncation) {
  CreateTable();
  auto c = OpenFaulty();
  DOTDO_ASSERT_OK(Insert(*c, 1));
  vfs_.Arm({.op = FaultOp::kTruncate, .only = FileKind::kWal});
  EXPECT_THAT(c->Exec("PRAGMA wal_checkpoint(TRUNCATE)"), StatusIs(StatusCode::kUnavailable));
  EXPECT_EQ(vfs_.injected(), 1);
  DOTDO_ASSERT_OK(c->Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  EXPECT_EQ(Values(*c), std::vector<int64_t>{1});
}

TEST_F(FaultVfsTest, PowerLossKeepsEveryCommitWithFullSync) {
  CreateTable();
  auto c = OpenFaulty(/*full_sync=*/true);
  for (int i = 1; i <= 20; ++i) DOTDO_ASSERT_OK(Insert(*c, i));
  vfs_.CutPower();
  EXPECT_THAT(Insert(*c, 21), StatusIs(StatusCode::kUnavailable));
  c.reset();  // the closing checkpoint fails: the power is off
  DOTDO_ASSERT_OK(vfs_.DropUnsyncedData());
  auto n = OpenNormal();
  ExpectIntact(*n);
  std::vector<int64_t> want;
  for (int i = 1; i <= 20; ++i) want.push_back(i);
  EXPECT_EQ(Values(*n), want);
}

TEST_F(FaultVfsTest, PowerLossWithNormalSyncKeepsAWholeTransactionPrefix) {
  // keep_writes: how much of the unsynced WAL reached the disk before the power went.
  for (size_t keep : {size_t{0}, size_t{1}, size_t{5}, size_t{12}, size_t{31}, size_t{1000}}) {
    SCOPED_TRACE("keep_writes " + std::to_string(keep));
    file_ = "keep" + std::to_string(keep) + ".sqlite";
    vfs_.Reset();
    CreateTable();
    auto c = OpenFaulty(/*full_sync=*/false);
    for (int i = 1; i <= 10; ++i) DOTDO_ASSERT_OK(Insert(*c, i));
    EXPECT_GT(vfs_.unsynced_operations(), 0u);
    vfs_.CutPower();
    c.reset();
    DOTDO_ASSERT_OK(vfs_.DropUnsyncedData(keep));
    auto n = OpenNormal();
    ExpectIntact(*n);
    const std::vector<int64_t> got = Values(*n);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], static_cast<int64_t>(i + 1));  // a prefix
    if (keep == 0) {
      EXPECT_TRUE(got.empty()) << "nothing since the last checkpoint was synced";
    }
    if (keep == 1000) {
      EXPECT_EQ(got.size(), 10u) << "every write reached the disk";
    }
  }
}

TEST_F(FaultVfsTest, DropUnsyncedDataRefusesWhileAFileIsOpen) {
  CreateTable();
  auto c = OpenFaulty();
  EXPECT_THAT(vfs_.DropUnsyncedData(), StatusIs(StatusCode::kFailedPrecondition, "still open"));
}

}  // namespace
}  // namespace dotdo::internal
