// Read tracking for the tiering's idle rule (document/document_reads.h): off until a namespace turns
// it on, then Get, Query and List record the ids they return; Flush keeps the later time per id; a
// closing Database flushes, and so does a read that finds the oldest pending read a minute old; a read-only open records nothing; another connection's Enable is seen
// after the recheck interval; PruneGone drops ids that are no longer hot.
#include "core/database_internals.h"
#include "document/document_reads.h"
#include "dotdo/document.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::internal::DocumentReadLog;
using ::dotdo::internal::ReadLogOf;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;

// doc_reads as id -> read_at (empty when the table does not exist).
std::map<std::string, int64_t> StoredReads(Database& db) {
  std::map<std::string, int64_t> out;
  auto& conn = internal::DatabaseInternals::Conn(db);
  if (!conn.TableExists("doc_reads")) return out;
  auto st = conn.Prepare("SELECT id, read_at FROM doc_reads");
  EXPECT_THAT(st, IsOk());
  while (*st->Step()) out[st->ColumnString(0)] = st->ColumnInt64(1);
  return out;
}

struct ReadsFixture {
  ScratchDir dir;
  ManualClock clock{1'800'000'000'000};
  std::unique_ptr<Database> db;
  std::unique_ptr<DocumentStore> docs;

  explicit ReadsFixture(bool read_only = false) { Reopen(read_only); }
  void Reopen(bool read_only = false) {
    docs.reset();
    db.reset();
    DatabaseOptions o;
    o.clock = &clock;
    o.read_only = read_only;
    db = Database::Open(dir.path(), "ns", o).value();
    docs = std::make_unique<DocumentStore>(DocumentStore::Open(*db).value());
  }
  void Seed() {
    for (const char* id : {"a", "b", "c"}) ASSERT_THAT(docs->Create({{"$type", "T"}, {"$id", id}, {"n", 1}}), IsOk());
  }
};

TEST(DocumentReadsTest, NothingIsRecordedUntilTrackingIsOn) {
  ReadsFixture f;
  f.Seed();
  ASSERT_THAT(f.docs->Get("a"), IsOk());
  ASSERT_THAT(f.docs->List("T"), IsOk());
  DocumentReadLog& log = ReadLogOf(*f.db);
  EXPECT_FALSE(log.Tracking());
  ASSERT_THAT(log.Flush(), IsOk());
  EXPECT_TRUE(StoredReads(*f.db).empty());
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t since, log.TrackedSince());
  EXPECT_EQ(since, 0);
}

TEST(DocumentReadsTest, GetQueryAndListRecordTheLaterReadPerId) {
  ReadsFixture f;
  f.Seed();
  DocumentReadLog& log = ReadLogOf(*f.db);
  const int64_t t0 = f.clock.NowMillis();
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t since, log.Enable(t0));
  EXPECT_EQ(since, t0);
  f.clock.Advance(1000);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t again, log.Enable(t0 + 5000));  // already on: keeps its start
  EXPECT_EQ(again, t0);
  EXPECT_TRUE(log.Tracking());
  ASSERT_THAT(f.docs->Get("a"), IsOk());
  EXPECT_THAT(f.docs->Get("zz"), StatusIs(StatusCode::kNotFound));  // a miss records nothing
  f.clock.Advance(1000);
  DocumentQueryOptions q;
  q.type = "T";
  q.where = {{"$id", "b"}};
  q.projection = {"n"};  // projected without $id: still recorded
  DOTDO_ASSERT_OK_AND_ASSIGN(DocumentPage page, f.docs->Query(q));
  ASSERT_EQ(page.items.size(), 1u);
  ASSERT_THAT(log.Flush(), IsOk());
  EXPECT_EQ(StoredReads(*f.db), (std::map<std::string, int64_t>{{"a", t0 + 1000}, {"b", t0 + 2000}}));

  f.clock.Advance(1000);
  ASSERT_THAT(f.docs->List("T", 2), IsOk());  // a and b
  ASSERT_THAT(log.Flush(), IsOk());
  EXPECT_EQ(StoredReads(*f.db), (std::map<std::string, int64_t>{{"a", t0 + 3000}, {"b", t0 + 3000}}));
  ASSERT_THAT(log.Flush(), IsOk());  // nothing pending: a no-op
  EXPECT_EQ(log.dropped(), 0);
}

TEST(DocumentReadsTest, FlushInsideATransactionIsRefusedAndClosingFlushes) {
  ReadsFixture f;
  f.Seed();
  ASSERT_THAT(ReadLogOf(*f.db).Enable(f.clock.NowMillis()), IsOk());
  ASSERT_THAT(f.docs->Get("c"), IsOk());
  ASSERT_THAT(f.db->Transaction([&]() -> Status {
    EXPECT_THAT(ReadLogOf(*f.db).Flush(), StatusIs(StatusCode::kFailedPrecondition));
    EXPECT_THAT(ReadLogOf(*f.db).Enable(1), StatusIs(StatusCode::kFailedPrecondition));
    return OkStatus();
  }), IsOk());
  const int64_t read_at = f.clock.NowMillis();
  f.Reopen();
  EXPECT_EQ(StoredReads(*f.db), (std::map<std::string, int64_t>{{"c", read_at}}));
  // Tracking is persisted: the reopened namespace records at once.
  EXPECT_TRUE(ReadLogOf(*f.db).Tracking());
}

TEST(DocumentReadsTest, PendingReadsReachTheTableWithinAMinute) {
  ReadsFixture f;
  f.Seed();
  ASSERT_THAT(ReadLogOf(*f.db).Enable(f.clock.NowMillis()), IsOk());
  const int64_t first = f.clock.NowMillis();
  ASSERT_THAT(f.docs->Get("a"), IsOk());
  f.clock.Advance(DocumentReadLog::kFlushAfterMillis - 1);
  ASSERT_THAT(f.docs->Get("b"), IsOk());
  EXPECT_TRUE(StoredReads(*f.db).empty());  // not due yet
  f.clock.Advance(1);
  DocumentQueryOptions q;
  q.type = "T";
  q.where = {{"$id", "c"}};
  ASSERT_THAT(f.docs->Query(q), IsOk());  // the oldest pending read is a minute old: flushed
  const int64_t now = f.clock.NowMillis();
  EXPECT_EQ(StoredReads(*f.db), (std::map<std::string, int64_t>{{"a", first}, {"b", now - 1}, {"c", now}}));
}

TEST(DocumentReadsTest, ReadOnlyOpenRecordsNothing) {
  ReadsFixture f;
  f.Seed();
  ASSERT_THAT(ReadLogOf(*f.db).Enable(f.clock.NowMillis()), IsOk());
  f.Reopen(/*read_only=*/true);
  EXPECT_FALSE(ReadLogOf(*f.db).Tracking());
  ASSERT_THAT(f.docs->Get("a"), IsOk());
  f.Reopen();
  EXPECT_TRUE(StoredReads(*f.db).empty());
}

TEST(DocumentReadsTest, AnotherConnectionTurningTrackingOnIsSeenAfterTheRecheck) {
  ReadsFixture f;
  f.Seed();
  DocumentReadLog& log = ReadLogOf(*f.db);
  EXPECT_FALSE(log.Tracking());  // cached "off"
  DatabaseOptions o;
  o.clock = &f.clock;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto other, Database::Open(f.dir.path(), "ns", o));
  ASSERT_THAT(ReadLogOf(*other).Enable(f.clock.NowMillis()), IsOk());
  ASSERT_THAT(f.docs->Get("a"), IsOk());  // still within the recheck interval: not recorded
  f.clock.Advance(DocumentReadLog::kRecheckMillis);
  ASSERT_THAT(f.docs->Get("b"), IsOk());
  ASSERT_THAT(log.Flush(), IsOk());
  EXPECT_EQ(StoredReads(*f.db), (std::map<std::string, int64_t>{{"b", f.clock.NowMillis()}}));
}

TEST(DocumentReadsTest, PruneGoneDropsDocumentsNoLongerHot) {
  ReadsFixture f;
  f.Seed();
  ASSERT_THAT(ReadLogOf(*f.db).PruneGone(), IsOk());  // no table yet: a no-op
  ASSERT_THAT(ReadLogOf(*f.db).Enable(f.clock.NowMillis()), IsOk());
  for (const char* id : {"a", "b"}) ASSERT_THAT(f.docs->Get(id), IsOk());
  ASSERT_THAT(ReadLogOf(*f.db).Flush(), IsOk());
  ASSERT_THAT(f.docs->Delete("a", {.hard = true}), IsOk());
  ASSERT_THAT(ReadLogOf(*f.db).PruneGone(), IsOk());
  EXPECT_EQ(StoredReads(*f.db).count("a"), 0u);
  EXPECT_EQ(StoredReads(*f.db).count("b"), 1u);
}

}  // namespace
}  // namespace dotdo
