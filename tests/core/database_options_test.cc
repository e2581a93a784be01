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

// A pragma's value on the read-write connection (QueryReadOnly runs on a connection of its own).
int64_t Pragma(Database& db, const char* name) {
  auto st = internal::DatabaseInternals::Conn(db).Prepare(std::string("PRAGMA ") + name);
  EXPECT_THAT(st, IsOk());
  if (!st.ok()) return -1;
  auto row = st->Step();
  return row.ok() && *row ? st->ColumnInt64(0) : -1;
}

TEST(DatabaseOptionsTest, DefaultIsWalWithNormalSync) {
  ScratchDir dir;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "ns"));
  EXPECT_EQ(Pragma(*db, "synchronous"), 1);  // NORMAL
  DOTDO_ASSERT_OK_AND_ASSIGN(auto mode, internal::DatabaseInternals::Conn(*db).Prepare("PRAGMA journal_mode"));
  ASSERT_TRUE(*mode.Step());
  EXPECT_EQ(mode.ColumnText(0), "wal");
}

TEST(DatabaseOptionsTest, PageCacheBytesSetsTheCacheSizeOfBothConnections) {
  ScratchDir dir;
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "ns"));
    EXPECT_EQ(Pragma(*db, "cache_size"), -65536);  // the default, 64 MiB in KiB
  }
  DatabaseOptions o;
  o.page_cache_bytes = 8 << 20;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "ns", o));
  EXPECT_EQ(Pragma(*db, "cache_size"), -8192);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json reader, db->QueryReadOnly("PRAGMA cache_size"));
  EXPECT_EQ(reader[0]["cache_size"], -8192) << reader.dump();
  o.page_cache_bytes = 0;  // SQLite's own default
  DOTDO_ASSERT_OK_AND_ASSIGN(auto plain, Database::OpenInMemory("mem", o));
  EXPECT_EQ(Pragma(*plain, "cache_size"), -2000);
  o.page_cache_bytes = -1;
  EXPECT_THAT(Database::Open(dir.path(), "ns2", o), StatusIs(StatusCode::kInvalidArgument, "page_cache_bytes"));
  EXPECT_THAT(Database::OpenInMemory("mem", o), StatusIs(StatusCode::kInvalidArgument, "page_cache_bytes"));
}

TEST(DatabaseOptionsTest, FullSyncSetsSynchronousFull) {
  ScratchDir dir;
  DatabaseOptions o;
  o.synchronous = Synchronous::kFull;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "ns", o));
  EXPECT_EQ(Pragma(*db, "synchronous"), 2);  // FULL
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
