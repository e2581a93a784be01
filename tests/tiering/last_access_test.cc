// The tiering's last-access rule: TieringPolicy::min_idle_millis selects documents neither written
// nor read for that long, once read tracking (turned on by the first Run with the rule) covers the
// window; the hot-documents cap evicts the least recently accessed first; the CLI's --idle-for.
#include "core/database_internals.h"
#include "dotdo/document.h"
#include "dotdo/tiering.h"
#include "testing/test_util.h"
#include "tiering/tiering_testing.h"

namespace dotdo {
namespace {

using ::dotdo::testing::AllIds;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;

constexpr int64_t kHour = 3'600'000;

struct IdleFixture {
  ScratchDir dir;
  ManualClock clock{1'800'000'000'000};
  std::unique_ptr<Database> db;
  std::unique_ptr<LocalObjectStore> objects;
  std::unique_ptr<DocumentStore> docs;

  IdleFixture() {
    DatabaseOptions o;
    o.clock = &clock;
    db = Database::Open(dir.path(), "ns", o).value();
    objects = LocalObjectStore::Open(dir.path() / "objects").value();
    docs = std::make_unique<DocumentStore>(DocumentStore::Open(*db).value());
    for (const char* id : {"a", "b", "c", "d"})
      EXPECT_THAT(docs->Create({{"$type", "T"}, {"$id", id}, {"n", 1}}), IsOk());
  }
  // Ids of hot documents of T (read straight from doc_documents).
  std::set<std::string> Hot() {
    std::set<std::string> out;
    auto st = internal::DatabaseInternals::Conn(*db).Prepare("SELECT id FROM doc_documents ORDER BY id");
    EXPECT_THAT(st, IsOk());
    while (*st->Step()) out.insert(st->ColumnString(0));
    return out;
  }
};

TieringOptions IdleOnly(int64_t idle) {
  TieringOptions o;
  o.policies = {TieringPolicy{.min_age_millis = -1, .min_idle_millis = idle}};
  return o;
}

TEST(LastAccessTest, IdleRuleWaitsForTrackingThenKeepsRecentlyReadDocumentsHot) {
  IdleFixture f;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, *f.objects, IdleOnly(kHour)));
  const int64_t t0 = f.clock.NowMillis();
  f.clock.Advance(2 * kHour);  // every document was written 2 h ago, but reads were not recorded
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats first, tiering->Run(f.clock.NowMillis()));
  EXPECT_EQ(first.documents_moved, 0);
  EXPECT_EQ(first.reads_tracked_since, t0 + 2 * kHour);

  f.clock.Advance(kHour / 2);
  ASSERT_THAT(f.docs->Get("a"), IsOk());  // read 30 min into tracking
  f.clock.Advance(kHour / 4);
  DocumentQueryOptions q;
  q.type = "T";
  q.where = {{"$id", "b"}};
  ASSERT_THAT(f.docs->Query(q), IsOk());  // read 45 min into tracking
  f.clock.Advance(kHour / 2);             // 75 min: tracking has covered the hour
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats second, tiering->Run(f.clock.NowMillis()));
  EXPECT_EQ(second.documents_moved, 2);  // c and d: idle for 3 h 15 min
  EXPECT_EQ(f.Hot(), (std::set<std::string>{"a", "b"}));

  // Moved documents still read as before, and their reads are not kept as hot reads.
  DOTDO_ASSERT_OK_AND_ASSIGN(Json c, f.docs->Get("c"));
  EXPECT_EQ(c["n"], 1);
  f.clock.Advance(kHour / 2);  // a idle 75 min, b idle 60 min
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats third, tiering->Run(f.clock.NowMillis()));
  EXPECT_EQ(third.documents_moved, 2);
  EXPECT_TRUE(f.Hot().empty());
  EXPECT_EQ(AllIds(*f.docs, DocumentQueryOptions{.type = "T"}), (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST(LastAccessTest, CapEvictsTheLeastRecentlyAccessedFirst) {
  IdleFixture f;
  TieringOptions o;
  o.policies = {TieringPolicy{.min_age_millis = -1, .max_hot_documents = 2, .min_idle_millis = 24 * kHour}};
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, *f.objects, o));
  // Without recorded reads the cap goes by the last write: b and c (the oldest writes after a's
  // update; ties by insertion order) leave first.
  f.clock.Advance(1000);
  ASSERT_THAT(f.docs->Update("a", {{"$set", {{"n", 2}}}}), IsOk());  // a is now the newest write
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats first, tiering->Run(f.clock.NowMillis()));  // turns tracking on
  EXPECT_EQ(first.documents_moved, 2);
  EXPECT_EQ(f.Hot(), (std::set<std::string>{"a", "d"}));
  // Bring b and c back hot by writes, then read d: the cap of 2 keeps the two accessed last.
  f.clock.Advance(1000);
  ASSERT_THAT(f.docs->Update("b", {{"$set", {{"n", 3}}}}), IsOk());
  f.clock.Advance(1000);
  ASSERT_THAT(f.docs->Update("c", {{"$set", {{"n", 3}}}}), IsOk());
  f.clock.Advance(1000);
  ASSERT_THAT(f.docs->Get("a"), IsOk());  // a: read last
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats second, tiering->Run(f.clock.NowMillis()));
  EXPECT_EQ(second.documents_moved, 2);  // d (written first) and b
  EXPECT_EQ(f.Hot(), (std::set<std::string>{"a", "c"}));
}

TEST(LastAccessTest, BadIdleRuleIsRefused) {
  IdleFixture f;
  EXPECT_THAT(Tiering::Attach(*f.db, *f.objects, IdleOnly(-2)), StatusIs(StatusCode::kInvalidArgument, "min_idle_millis"));
}

}  // namespace
}  // namespace dotdo
