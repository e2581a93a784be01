// The cold tier: warm files move into the DocumentStore's Iceberg table (cold/documents); reads fall
// through hot -> warm -> cold with the same answers; the table is read by DuckDB and by icebird (npm,
// no shared code); SQL over cold files, time travel to an older snapshot; I/O errors and SIGKILL at
// any step lose nothing, show nothing twice and leave no orphan data file.
#include <random>
#include <set>

#include "dotdo/document.h"
#include "dotdo/host.h"
#include "dotdo/tiering.h"
#include "objectstore/faulty_object_store.h"
#include "testing/test_util.h"
#include "tiering/duck_session.h"
#include "tiering/iceberg_table.h"
#include "tiering/tiering_testing.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;

constexpr int64_t kDay = 86'400'000;

// Everything warm at once, and warm files cold after `cold_after` (-1: never).
TieringOptions WarmThenCold(int64_t cold_after) {
  TieringOptions o;
  o.policies = {TieringPolicy{.min_age_millis = 0, .cold_after_millis = cold_after}};
  o.max_documents_per_file = 25;
  return o;
}

struct ColdFixture {
  ScratchDir dir;
  ManualClock clock{1'750'000'000'000};
  std::unique_ptr<Database> db;
  std::unique_ptr<LocalObjectStore> objects;
  std::unique_ptr<DocumentStore> docs;

  ColdFixture() {
    db = Database::Open(dir.path(), "ns", {.clock = &clock}).value();
    objects = LocalObjectStore::Open(dir.path() / "objects").value();
    docs = std::make_unique<DocumentStore>(DocumentStore::Open(*db).value());
  }
  size_t Objects(const std::string& prefix) {
    auto listed = objects->List({.prefix = prefix, .limit = 10000});
    EXPECT_THAT(listed, IsOk());
    return listed.ok() ? listed->objects.size() : 0;
  }
};

using ::dotdo::testing::AllIds;

// 60 orders over two days (o0, o7, ... o56 updated once: 9 versions) and 10 users; o5 soft-deleted
// (one more version). 70 ids, 80 rows, 59 live orders. Returns the time o14's first version was current.
int64_t Populate(ColdFixture& f) {
  int64_t o14_v1_at = 0;
  EXPECT_THAT(f.docs->ConfigureStats("order", "amount"), IsOk());
  for (int i = 0; i < 60; ++i) {
    if (i == 30) f.clock.Advance(kDay);
    EXPECT_THAT(f.docs->Create({{"$type", "order"}, {"$id", "o" + std::to_string(i)}, {"amount", i % 17}}), IsOk());
    f.clock.Advance(1);
    if (i == 14) o14_v1_at = f.clock.NowMillis();
    f.clock.Advance(1);
    if (i % 7 == 0) {
      EXPECT_THAT(f.docs->Update("o" + std::to_string(i), {{"$inc", {{"amount", 100}}}}), IsOk());
    }
  }
  for (int i = 0; i < 10; ++i) EXPECT_THAT(f.docs->Create({{"$type", "user"}, {"$id", "u" + std::to_string(i)}}), IsOk());
  EXPECT_THAT(f.docs->Delete("o5"), IsOk());
  return o14_v1_at;
}

// Every order id of a query, each once: the 59 live orders of Populate. Returns them.
std::vector<std::string> ExpectEachOrderOnce(ColdFixture& f) {
  DocumentQueryOptions q;
  q.type = "order";
  q.limit = 1000;
  std::vector<std::string> ids = AllIds(*f.docs, q);
  EXPECT_EQ(ids.size(), 59u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 59u);
  return ids;
}

TEST(ColdTierTest, ColdFilesReadAsBeforeAndIcebergReadersAgree) {
  ColdFixture f;
  const int64_t o14_v1_at = Populate(f);
  DocumentQueryOptions q;
  q.type = "order";
  q.where = {{"amount", {{"$gte", 10}}}};
  q.sort = {{"amount", true}};
  q.limit = 7;
  const std::vector<std::string> ids_before = AllIds(*f.docs, q);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json o14, f.docs->Get("o14"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto history, f.docs->History("o14"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json o14_v1, f.docs->GetAsOf("o14", o14_v1_at));
  ASSERT_NE(o14_v1, o14);

  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, *f.objects, WarmThenCold(kDay)));
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats warm, tiering->Run(f.clock.NowMillis()));
  EXPECT_EQ(warm.documents_moved, 70);
  EXPECT_EQ(warm.versions_moved, 10);
  EXPECT_EQ(warm.files_to_cold, 0);  // just written: not a day old
  const int64_t warm_files = warm.files_written;
  f.clock.Advance(kDay + 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats cold, tiering->Run(f.clock.NowMillis()));
  EXPECT_EQ(cold.files_to_cold, warm_files);
  EXPECT_EQ(cold.files_written, 0);
  EXPECT_EQ(f.Objects("documents/"), 0u);  // the warm copies are gone
  EXPECT_EQ(f.Objects("cold/documents/data/"), static_cast<size_t>(warm_files));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto files, tiering->Files());
  for (const TierFileInfo& file : files) {
    EXPECT_EQ(file.tier, "cold");
    EXPECT_EQ(file.key.rfind("cold/documents/data/type=", 0), 0u) << file.key;
    DOTDO_ASSERT_OK_AND_ASSIGN(ObjectInfo head, f.objects->Head(file.key));
    EXPECT_EQ(head.storage_class, kStorageClassInfrequentAccess);
    EXPECT_EQ(head.etag, file.sha256);
  }

  // Reads fall through to the cold tier with the same answers.
  EXPECT_EQ(*f.docs->Get("o14"), o14);
  EXPECT_TRUE(LastTierRead().cold);
  EXPECT_FALSE(LastTierRead().warm);
  EXPECT_EQ(LastTierRead().files_read, 1);
  EXPECT_EQ(*f.docs->History("o14"), history);
  EXPECT_EQ(*f.docs->GetAsOf("o14", o14_v1_at), o14_v1);
  EXPECT_THAT(f.docs->Get("o5"), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(AllIds(*f.docs, q), ids_before);
  EXPECT_EQ(*f.docs->Count("order"), 59);
  EXPECT_EQ(*f.docs->Count("user"), 10);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tables, tiering->Tables());
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0].table, "order");
  EXPECT_EQ(tables[0].cold_documents, 59);
  EXPECT_EQ(tables[0].warm_documents, 0);
  EXPECT_EQ(tables[0].cold_files, warm_files - 1);

  // The Iceberg table: one append per file, partitioned by type and day, read by DuckDB in place...
  DOTDO_ASSERT_OK_AND_ASSIGN(auto snapshots, tiering->ColdSnapshots());
  EXPECT_EQ(static_cast<int64_t>(snapshots.size()), warm_files);
  EXPECT_EQ(snapshots.back().files, warm_files);
  EXPECT_EQ(snapshots.back().records, 80);  // current rows + superseded versions
  DOTDO_ASSERT_OK_AND_ASSIGN(auto table, tiering::IcebergTable::Load(*f.objects, "cold/documents"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto data, table.Files());
  std::string list;
  for (const auto& d : data) {
    const std::string path = table.KeyToPath(d.key);
    ASSERT_EQ(path.rfind("file://", 0), 0u);
    list += (list.empty() ? "'" : ", '") + path.substr(7) + "'";
  }
  auto duck = tiering::DuckSession::Open().value();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto r, duck->Query("SELECT count(*), count(DISTINCT \"$id\") FROM read_parquet([" + list +
                                                 "], union_by_name = true)"));
  EXPECT_EQ(r.Int(0, 0), 80);
  EXPECT_EQ(r.Int(0, 1), 70);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto seqs, duck->Query("SELECT sum(_seq)::BIGINT FROM read_parquet([" + list + "], union_by_name = true)"));
  // ... and by icebird, which shares no code with us. (icebird resolves Parquet columns by their
  // Avro-sanitized names, "$id" as "_x24id", so it is checked on the columns without '$'.)
  const std::string modules = DOTDO_NPM_ICEBERG_DIR "/node_modules";
  ASSERT_TRUE(std::filesystem::exists(modules + "/icebird/package.json")) << "run scripts/setup.sh";
  auto run = dotdo::testing::RunProgram("/usr/bin/node", {DOTDO_TEST_DATA_DIR "/icebird_read.mjs", modules,
                                                          table.location(), "_seq", "_current"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Json out = Json::parse(run.out);
  EXPECT_EQ(out["rows"], 80);
  EXPECT_EQ(out["id_sum"], std::to_string(seqs.Int(0, 0)));
  EXPECT_EQ(out["distinct_ids"], 70);  // versions carry their document's _seq
  EXPECT_EQ(out["kinds"]["true"], 70);
  EXPECT_EQ(out["kinds"]["false"], 10);
}

TEST(ColdTierTest, WritesBringColdDocumentsBackAndSqlTravelsInTime) {
  ColdFixture f;
  Populate(f);
  // Users first (their snapshot), then orders a day later.
  TieringOptions users = WarmThenCold(0);
  users.policies[0].type = "user";
  DOTDO_ASSERT_OK_AND_ASSIGN(auto only_users, Tiering::Attach(*f.db, *f.objects, users));
  ASSERT_THAT(only_users->Run(f.clock.NowMillis()), IsOk());
  only_users.reset();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, *f.objects, WarmThenCold(0)));
  const int64_t users_only_at = f.clock.NowMillis();
  f.clock.Advance(kDay);
  ASSERT_THAT(tiering->Run(f.clock.NowMillis()), IsOk());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tables, tiering->Tables());
  EXPECT_EQ(tables[0].hot_documents + tables[0].warm_documents, 0);

  // A write brings the document back hot; the cold copy is masked, never shown twice.
  ASSERT_THAT(f.docs->Update("o3", {{"$set", {{"amount", 1000}}}}), IsOk());
  ASSERT_THAT(f.docs->Delete("u2", {.hard = true}), IsOk());
  EXPECT_EQ(*f.docs->Count("order", {{"amount", 1000}}), 1);
  EXPECT_EQ(*f.docs->Count("order"), 59);
  EXPECT_THAT(f.docs->Get("u2"), StatusIs(StatusCode::kNotFound));
  const std::vector<std::string> ids = ExpectEachOrderOnce(f);

  const std::vector<std::pair<std::string, Tiering*>> ns = {{"shop", tiering.get()}};
  DOTDO_ASSERT_OK_AND_ASSIGN(Json now, Tiering::Sql(ns, "SELECT count(*) AS n FROM shop.documents", {.tiers = {"cold"}}));
  EXPECT_EQ(now[0]["n"], 59 - 1 + 10 - 1);  // o3 is hot again, u2 is gone
  DOTDO_ASSERT_OK_AND_ASSIGN(Json warm_only, Tiering::Sql(ns, "SELECT count(*) AS n FROM shop.documents"));
  EXPECT_EQ(warm_only[0]["n"], 0);
  // Time travel: the table as committed when only the users were cold.
  DOTDO_ASSERT_OK_AND_ASSIGN(Json then, Tiering::Sql(ns, "SELECT \"$type\" AS t, count(*) AS n FROM shop.documents GROUP BY 1",
                                                     {.tiers = {"cold"}, .cold_as_of_ms = users_only_at}));
  EXPECT_EQ(then, Json::parse(R"([{"t": "user", "n": 10}])"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json before_all, Tiering::Sql(ns, "SELECT count(*) AS n FROM shop.documents",
                                                           {.tiers = {"cold"}, .cold_as_of_ms = 0}));
  EXPECT_EQ(before_all[0]["n"], 0);
  EXPECT_THAT(Tiering::Sql(ns, "SELECT 1", {.tiers = {"hot"}}), StatusIs(StatusCode::kInvalidArgument, "unknown tier"));
  EXPECT_THAT(Tiering::Sql(ns, "SELECT 1", {.tiers = {}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Tiering::Sql(ns, "SELECT 1", {.tiers = {"warm"}, .cold_as_of_ms = 1}), StatusIs(StatusCode::kInvalidArgument));

  // The brought-back document moves again later, into a new warm file: still exactly once.
  f.clock.Advance(kDay);
  TieringOptions warm_only_policy = WarmThenCold(-1);
  tiering.reset();
  DOTDO_ASSERT_OK_AND_ASSIGN(tiering, Tiering::Attach(*f.db, *f.objects, warm_only_policy));
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats again, tiering->Run(f.clock.NowMillis()));
  EXPECT_EQ(again.documents_moved, 1);
  EXPECT_EQ(ExpectEachOrderOnce(f), ids);
  EXPECT_EQ(*f.docs->Get("o3"), *f.docs->Get("o3"));
  EXPECT_EQ((*f.docs->Get("o3"))["amount"], 1000);
}

TEST(ColdTierTest, IoErrorsAtEveryStepLoseNothingAndTheNextRunFinishes) {
  for (internal::ObjectOp op : {internal::ObjectOp::kCopy, internal::ObjectOp::kPut, internal::ObjectOp::kDelete,
                                internal::ObjectOp::kGet}) {
    SCOPED_TRACE(static_cast<int>(op));
    ColdFixture f;
    Populate(f);
    internal::FaultyObjectStore faulty(*f.objects);
    DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, faulty, WarmThenCold(-1)));
    ASSERT_THAT(tiering->Run(f.clock.NowMillis()), IsOk());
    tiering.reset();
    DOTDO_ASSERT_OK_AND_ASSIGN(tiering, Tiering::Attach(*f.db, faulty, WarmThenCold(0)));
    faulty.Arm({.op = op, .nth = 2, .repeat = true});
    Result<TieringRunStats> failed = tiering->Run(f.clock.NowMillis());
    faulty.Disarm();
    ASSERT_THAT(tiering->Run(f.clock.NowMillis()), IsOk());
    DOTDO_ASSERT_OK_AND_ASSIGN(auto files, tiering->Files());
    for (const TierFileInfo& file : files) EXPECT_EQ(file.tier, "cold") << file.key;
    EXPECT_EQ(f.Objects("documents/"), 0u);
    EXPECT_EQ(f.Objects("cold/documents/data/"), files.size());
    DOTDO_ASSERT_OK_AND_ASSIGN(auto table, tiering::IcebergTable::Load(*f.objects, "cold/documents"));
    DOTDO_ASSERT_OK_AND_ASSIGN(auto data, table.Files());
    EXPECT_EQ(data.size(), files.size());  // every cold file is in the table once
    ExpectEachOrderOnce(f);
    EXPECT_THAT(f.docs->Get("o29"), IsOk());
    (void)failed;
  }
}

// SIGKILL at random points of warm and cold moves and writes.
TEST(ColdTierTest, KilledMoverLosesNothingShowsNothingTwiceAndLeavesNoOrphan) {
  ScratchDir dir;
  const auto objects_path = dir.path() / "objects";
  testing::CreateUntilKilled(
      dir.path(),
      [](Database& db, ObjectStore& objects) -> testing::AfterCreate {
        std::shared_ptr<Tiering> tiering = Tiering::Attach(db, objects, WarmThenCold(0)).value();
        return [tiering, &db](int i) {
          if (i % 30 == 29) (void)tiering->Run(db.NowMillis());
        };
      },
      /*extra_ms=*/100);
  auto db = Database::Open(dir.path(), "ns").value();
  auto objects = LocalObjectStore::Open(objects_path).value();
  DocumentStore docs(*db);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*db, *objects, WarmThenCold(0)));
  ASSERT_THAT(tiering->Run(db->NowMillis()), IsOk());
  DocumentQueryOptions q;
  q.type = "t";
  q.limit = 1000;
  std::vector<std::string> ids = AllIds(docs, q);
  EXPECT_EQ(static_cast<int64_t>(ids.size()), *docs.Count("t"));
  testing::ExpectEveryCreateOnce(ids);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto files, tiering->Files());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto warm, objects->List({.prefix = "documents/", .limit = 10000}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto cold, objects->List({.prefix = "cold/documents/data/", .limit = 10000}));
  EXPECT_EQ(warm.objects.size() + cold.objects.size(), files.size());  // no orphan data file
  DOTDO_ASSERT_OK_AND_ASSIGN(auto table, tiering::IcebergTable::Load(*objects, "cold/documents"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto data, table.Files());
  std::set<std::string> in_table, registered;
  for (const auto& d : data) in_table.insert(d.key);
  for (const auto& f : files)
    if (f.tier == "cold") registered.insert(f.key);
  EXPECT_EQ(in_table, registered);
}

// Everything cold, then o3 brought back hot and u2 hard-deleted: their cold copies are masked.
std::unique_ptr<Tiering> ColdWithMasks(ColdFixture& f, ObjectStore& objects) {
  Populate(f);
  auto tiering = Tiering::Attach(*f.db, objects, WarmThenCold(0)).value();
  EXPECT_THAT(tiering->Run(f.clock.NowMillis()), IsOk());
  EXPECT_THAT(f.docs->Update("o3", {{"$set", {{"amount", 1000}}}}), IsOk());
  EXPECT_THAT(f.docs->Delete("u2", {.hard = true}), IsOk());
  f.clock.Advance(1000);
  return tiering;
}

// The keys of the cold table's current snapshot and of the registered cold files.
std::pair<std::set<std::string>, std::set<std::string>> ColdKeys(ColdFixture& f, Tiering& tiering) {
  std::set<std::string> in_table, registered;
  auto table = tiering::IcebergTable::Load(*f.objects, "cold/documents");
  EXPECT_THAT(table, IsOk());
  if (table.ok()) {
    const std::vector<tiering::IcebergDataFile> data = table->Files().value();
    for (const auto& d : data) in_table.insert(d.key);
  }
  const std::vector<TierFileInfo> files = tiering.Files().value();
  for (const auto& file : files)
    if (file.tier == "cold") registered.insert(file.key);
  return {in_table, registered};
}

TEST(ColdTierTest, CompactRewritesMaskedColdFilesSoEveryIcebergReaderAgrees) {
  ColdFixture f;
  auto tiering = ColdWithMasks(f, *f.objects);
  DocumentQueryOptions q;
  q.type = "order";
  q.limit = 1000;
  const std::vector<std::string> ids = AllIds(*f.docs, q);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto history, f.docs->History("o14"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto before, tiering->Files());
  // The partitions (type, day) of o3 and u2 are rewritten whole: order day 1 has two files.
  std::set<std::pair<std::string, std::string>> masked_partitions;
  for (const auto& x : before)
    if (x.masked > 0) masked_partitions.insert({x.table, x.day});
  ASSERT_EQ(masked_partitions.size(), 2u);
  const int64_t rewritten = std::count_if(before.begin(), before.end(), [&](const auto& x) {
    return masked_partitions.count({x.table, x.day}) != 0;
  });
  EXPECT_EQ(rewritten, 3);
  const std::vector<std::pair<std::string, Tiering*>> ns = {{"shop", tiering.get()}};
  const int64_t committed_at = f.clock.NowMillis();
  DOTDO_ASSERT_OK_AND_ASSIGN(Json then, Tiering::Sql(ns, "SELECT count(*) AS n FROM shop.document_versions",
                                                     {.tiers = {"cold"}, .cold_as_of_ms = committed_at}));
  f.clock.Advance(1000);

  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats c, tiering->Compact());
  EXPECT_EQ(c.files_compacted, rewritten);
  EXPECT_EQ(c.files_written, 3);  // order day 1: 29 documents left, at most 25 per file; users: 9
  DOTDO_ASSERT_OK_AND_ASSIGN(auto after, tiering->Files());
  EXPECT_EQ(after.size(), before.size());
  for (const auto& file : after) {
    EXPECT_EQ(file.tier, "cold");
    EXPECT_EQ(file.masked, 0) << file.key;
  }
  // Our reads are unchanged...
  EXPECT_EQ(AllIds(*f.docs, q), ids);
  EXPECT_EQ(*f.docs->Count("order"), 59);
  EXPECT_EQ(*f.docs->Count("user"), 9);
  EXPECT_EQ((*f.docs->Get("o3"))["amount"], 1000);
  EXPECT_THAT(f.docs->Get("u2"), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(*f.docs->History("o14"), history);
  // ... and the table's current snapshot now holds exactly the visible rows: one "overwrite"
  // snapshot replaced the two files; 80 rows less o3's and u2's.
  auto [in_table, registered] = ColdKeys(f, *tiering);
  EXPECT_EQ(in_table, registered);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto snapshots, tiering->ColdSnapshots());
  EXPECT_EQ(snapshots.back().operation, "overwrite");
  EXPECT_EQ(snapshots.back().records, 78);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto table, tiering::IcebergTable::Load(*f.objects, "cold/documents"));
  const std::string modules = DOTDO_NPM_ICEBERG_DIR "/node_modules";
  auto run = dotdo::testing::RunProgram("/usr/bin/node", {DOTDO_TEST_DATA_DIR "/icebird_read.mjs", modules,
                                                          table.location(), "_seq", "_current"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Json out = Json::parse(run.out);
  EXPECT_EQ(out["rows"], 78);
  EXPECT_EQ(out["distinct_ids"], 68);
  // Time travel still reads the table as committed then: the old files stay until expiry.
  DOTDO_ASSERT_OK_AND_ASSIGN(Json travelled, Tiering::Sql(ns, "SELECT count(*) AS n FROM shop.document_versions",
                                                          {.tiers = {"cold"}, .cold_as_of_ms = committed_at}));
  EXPECT_EQ(travelled, then);
  EXPECT_EQ(f.Objects("cold/documents/data/"), before.size() + static_cast<size_t>(rewritten));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto expired, table.ExpireSnapshots(f.clock.NowMillis() + 1, 1));
  EXPECT_EQ(expired.deleted_data_files.size(), static_cast<size_t>(rewritten));
  EXPECT_EQ(f.Objects("cold/documents/data/"), after.size());
  EXPECT_EQ(*f.docs->Count("order"), 59);
  // Nothing is left to rewrite.
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats again, tiering->Compact());
  EXPECT_EQ(again.files_compacted, 0);
}

TEST(ColdTierTest, IoErrorsDuringAColdRewriteLoseNothingAndTheNextRunCommitsIt) {
  for (internal::ObjectOp op : {internal::ObjectOp::kPut, internal::ObjectOp::kGet}) {
    for (int nth = 1; nth <= 8; ++nth) {
      SCOPED_TRACE(std::to_string(static_cast<int>(op)) + " #" + std::to_string(nth));
      ColdFixture f;
      internal::FaultyObjectStore faulty(*f.objects);
      auto tiering = ColdWithMasks(f, faulty);
      faulty.Arm({.op = op, .nth = nth});
      (void)tiering->Compact();
      faulty.Disarm();
      // A fresh tier (as after a restart) settles whatever the failure left.
      tiering.reset();
      TieringOptions settle_only = WarmThenCold(-1);
      settle_only.policies[0].min_age_millis = -1;  // the Run only settles; nothing moves
      DOTDO_ASSERT_OK_AND_ASSIGN(tiering, Tiering::Attach(*f.db, faulty, settle_only));
      ASSERT_THAT(tiering->Run(f.clock.NowMillis()), IsOk());
      ASSERT_THAT(tiering->Compact(), IsOk());
      auto [in_table, registered] = ColdKeys(f, *tiering);
      EXPECT_EQ(in_table, registered);
      const std::vector<TierFileInfo> files = tiering->Files().value();
      for (const auto& file : files) EXPECT_EQ(file.masked, 0) << file.key;
      EXPECT_EQ(tiering->ColdSnapshots().value().back().records, 78);
      ExpectEachOrderOnce(f);
      EXPECT_EQ(*f.docs->Count("user"), 9);
    }
  }
}

TEST(ColdTierTest, BadOptions) {
  ColdFixture f;
  TieringOptions o = WarmThenCold(-2);
  EXPECT_THAT(Tiering::Attach(*f.db, *f.objects, o), StatusIs(StatusCode::kInvalidArgument, "cold_after_millis"));
  o = WarmThenCold(0);
  o.cold_location_root = "s3://bucket/no-slash";
  EXPECT_THAT(Tiering::Attach(*f.db, *f.objects, o), StatusIs(StatusCode::kInvalidArgument, "cold_location_root"));
  o.cold_location_root = "bucket/";
  EXPECT_THAT(Tiering::Attach(*f.db, *f.objects, o), StatusIs(StatusCode::kInvalidArgument, "cold_location_root"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, *f.objects, WarmThenCold(0)));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto none, tiering->ColdSnapshots());
  EXPECT_TRUE(none.empty());
  EXPECT_THAT(tiering->ColdSnapshots("graph"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(tiering->ExpireColdSnapshots(0, 0), StatusIs(StatusCode::kInvalidArgument, "retain_last"));
  DOTDO_ASSERT_OK_AND_ASSIGN(ColdExpireStats nothing, tiering->ExpireColdSnapshots(f.clock.NowMillis()));
  EXPECT_EQ(nothing.snapshots_expired, 0);  // no table yet
}

// The lsns of every event row in the archive table's current snapshot, in file order.
std::vector<int64_t> ArchivedLsns(ObjectStore& objects, const LocalObjectStore& local, const std::string& prefix = "cold/events") {
  auto table = tiering::IcebergTable::Load(objects, prefix);
  EXPECT_THAT(table, IsOk());
  if (!table.ok()) return {};
  auto files = table->Files();
  EXPECT_THAT(files, IsOk());
  std::vector<int64_t> lsns;
  auto duck = tiering::DuckSession::Open().value();
  for (const auto& f : *files) {
    EXPECT_NE(f.key.find("/data/type="), std::string::npos) << f.key;
    auto r = duck->Query("SELECT lsn FROM read_parquet(" + tiering::DuckSession::Literal(local.DataPath(f.key).string()) + ")");
    EXPECT_THAT(r, IsOk());
    if (!r.ok()) continue;
    for (size_t i = 0; i < r->rows(); ++i) lsns.push_back(r->Int(i, 0));
  }
  std::sort(lsns.begin(), lsns.end());
  return lsns;
}

std::vector<int64_t> OneTo(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

// CDC events archived to Iceberg (type/dt partitions): exactly once across I/O errors at each step,
// read back by DuckDB and icebird, one table per namespace; and as a host-configured sink.
TEST(EventArchiveTest, ArchivesExactlyOnceThroughFailuresAndIsReadable) {
  ColdFixture f;
  Populate(f);
  internal::FaultyObjectStore faulty(*f.objects);
  // Over a store that is not a LocalObjectStore: the location other engines read the keys under.
  const std::string root = "file://" + f.objects->DataPath("x").parent_path().string() + "/";
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sink, IcebergEventSink::Open(faulty, {.location_root = root}));
  EXPECT_EQ(sink->Name(), "iceberg:cold/events");
  CdcPipeline pipeline(*f.db, *sink, {.batch_size = 40});
  for (internal::ObjectOp op : {internal::ObjectOp::kPut, internal::ObjectOp::kGet, internal::ObjectOp::kList}) {
    faulty.Arm({.op = op, .nth = 3});
    (void)pipeline.RunOnce();  // fails part-way (or not, when the op is not reached)
    faulty.Disarm();
    ASSERT_THAT(f.docs->Create({{"$type", "user"}, {"$id", "late" + std::to_string(static_cast<int>(op))}}), IsOk());
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t rest, pipeline.RunOnce());
  EXPECT_GE(rest, 0);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t last, ChangeFeed(*f.db).LastLsn());
  EXPECT_EQ(ArchivedLsns(*f.objects, *f.objects), OneTo(last));
  EXPECT_EQ(*pipeline.Checkpoint(), last);
  // Nothing but committed files under data/.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto table, tiering::IcebergTable::Load(*f.objects, "cold/events"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto files, table.Files());
  EXPECT_EQ(f.Objects("cold/events/data/"), files.size());
  // icebird reads the same events.
  const std::string modules = DOTDO_NPM_ICEBERG_DIR "/node_modules";
  auto run = dotdo::testing::RunProgram("/usr/bin/node", {DOTDO_TEST_DATA_DIR "/icebird_read.mjs", modules,
                                                          table.location(), "lsn", "type"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Json out = Json::parse(run.out);
  EXPECT_EQ(out["rows"], last);
  EXPECT_EQ(out["id_sum"], std::to_string(last * (last + 1) / 2));
  EXPECT_EQ(out["kinds"]["cdc.insert"], 73);
  // One table, one namespace.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto other, IcebergEventSink::Open(*f.objects));
  EXPECT_THAT(other->Claim("another"), StatusIs(StatusCode::kFailedPrecondition, "holds the events of namespace 'ns'"));
  EXPECT_THAT(IcebergEventSink::Open(*f.objects, {.prefix = "x/metadata/y"}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(IcebergEventSink::Open(*f.objects, {.prefix = "cold/events2", .location_root = "nope"}),
              StatusIs(StatusCode::kInvalidArgument));

  // The same sink from the host configuration, delivered per namespace into its own store.
  NamespaceHostOptions ho;
  ho.data_dir = f.dir.path() / "hosted";
  DOTDO_ASSERT_OK(ParseHostConfig(Json::parse(R"({"sinks": [{"type": "iceberg", "batchSize": 7}]})"), ho));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto host, NamespaceHost::Open(ho));
  for (const std::string ns : {"a", "b"}) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto n, host->Get(ns));
    DOTDO_ASSERT_OK_AND_ASSIGN(DocumentStore docs, n->Documents());
    for (int i = 0; i < 20; ++i) DOTDO_ASSERT_OK(docs.Create({{"$type", "t"}, {"$id", ns + std::to_string(i)}}));
    DOTDO_ASSERT_OK_AND_ASSIGN(auto delivered, n->Deliver());
    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_EQ(delivered[0].sink, "iceberg:cold/events");
    EXPECT_EQ(delivered[0].lag, 0);
    DOTDO_ASSERT_OK_AND_ASSIGN(ObjectStore * objects, n->Objects());
    auto* local = dynamic_cast<LocalObjectStore*>(objects);
    ASSERT_NE(local, nullptr);
    DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n_last, ChangeFeed(n->db()).LastLsn());
    EXPECT_EQ(ArchivedLsns(*objects, *local), OneTo(n_last));
  }
}

// SIGKILL of a process that writes and archives: every committed event is in the table once.
TEST(EventArchiveTest, KilledArchiverLosesNothingAndDuplicatesNothing) {
  ScratchDir dir;
  const auto objects_path = dir.path() / "objects";
  testing::CreateUntilKilled(dir.path(), [](Database& db, ObjectStore& objects) -> testing::AfterCreate {
    std::shared_ptr<IcebergEventSink> sink = IcebergEventSink::Open(objects).value();
    auto pipeline = std::make_shared<CdcPipeline>(db, *sink, CdcPipelineOptions{.batch_size = 15});
    return [sink, pipeline](int i) {
      if (i % 10 == 9) (void)pipeline->RunOnce();
    };
  });
  auto db = Database::Open(dir.path(), "ns").value();
  auto objects = LocalObjectStore::Open(objects_path).value();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sink, IcebergEventSink::Open(*objects));
  CdcPipeline pipeline(*db, *sink);
  ASSERT_THAT(pipeline.RunOnce(), IsOk());
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t last, ChangeFeed(*db).LastLsn());
  EXPECT_GT(last, 40);
  EXPECT_EQ(ArchivedLsns(*objects, *objects), OneTo(last));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto table, tiering::IcebergTable::Load(*objects, "cold/events"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto files, table.Files());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto listed, objects->List({.prefix = "cold/events/data/", .limit = 10000}));
  EXPECT_EQ(listed.objects.size(), files.size());  // no file of an uncommitted append is left
}

}  // namespace
}  // namespace dotdo
