// The durability and VFS options of DatabaseOptions: the default stays synchronous=NORMAL on
// SQLite's default VFS, kFull sets synchronous=FULL, `vfs` opens the file through the named VFS
// (the fault-injecting one here), and an unknown VFS name is kInvalidArgument.
#include "core/database_internals.h"
#include "sqlite/fault_vfs.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;

// The setting of the read-write connection (QueryReadOnly runs on a connection of its own).
int64_t SynchronousPragma(Database& db) {
  auto st = internal::DatabaseInternals::Conn(db).Prepare("PRAGMA synchronous");
  EXPECT_THAT(st, IsOk());
  if (!st.ok()) return -1;
  auto row = st->Step();
  return row.ok() && *row ? st->ColumnInt64(0) : -1;
}

TEST(DatabaseOptionsTest, DefaultIsWalWithNormalSync) {
  ScratchDir dir;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "ns"));
  EXPECT_EQ(SynchronousPragma(*db), 1);  // NORMAL
  DOTDO_ASSERT_OK_AND_ASSIGN(auto mode, internal::DatabaseInternals::Conn(*db).Prepare("PRAGMA journal_mode"));
  ASSERT_TRUE(*mode.Step());
  EXPECT_EQ(mode.ColumnText(0), "wal");
}

TEST(DatabaseOptionsTest, FullSyncSetsSynchronousFull) {
  ScratchDir dir;
  DatabaseOptions o;
  o.synchronous = Synchronous::kFull;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "ns", o));
  EXPECT_EQ(SynchronousPragma(*db), 2);  // FULL
}

TEST(DatabaseOptionsTest, VfsOptionOpensThroughTheNamedVfs) {
  auto& vfs = internal::FaultInjectionVfs::Instance();
  vfs.Reset();
  ScratchDir dir;
  DatabaseOptions o;
  o.vfs = internal::FaultInjectionVfs::kName;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "ns", o));
  DOTDO_ASSERT_OK(db->Transaction([] { return OkStatus(); }));
  EXPECT_GT(vfs.calls(internal::FaultOp::kWrite), 0);
  db.reset();
  vfs.Reset();
}

TEST(DatabaseOptionsTest, UnknownVfsIsInvalidArgument) {
  ScratchDir dir;
  DatabaseOptions o;
  o.vfs = "no-such-vfs";
  EXPECT_THAT(Database::Open(dir.path(), "ns", o), StatusIs(StatusCode::kInvalidArgument, "no such vfs"));
}

}  // namespace
}  // namespace dotdo
