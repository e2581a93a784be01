// Tiering of the DocumentStore: moves to Parquet files and reads that fall through hot -> warm with
// the same answers, bring-back on write, pruning by the file accelerator, crashes and I/O errors.
#include <random>
#include <set>
#include <thread>

#include "dotdo/document.h"
#include "dotdo/tiering.h"
#include "objectstore/faulty_object_store.h"
#include "testing/test_util.h"
#include "tiering/duck_session.h"
#include "tiering/tiering_testing.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;

TieringOptions MoveEverything() {
  TieringOptions o;
  o.policies = {TieringPolicy{.store = "document", .type = "", .min_age_millis = 0, .max_hot_documents = -1}};
  return o;
}

struct Fixture {
  ScratchDir dir;
  std::unique_ptr<Database> db;
  std::unique_ptr<LocalObjectStore> objects;
  std::unique_ptr<DocumentStore> docs;

  Fixture() {
    db = Database::Open(dir.path(), "ns").value();
    objects = LocalObjectStore::Open(dir.path() / "objects").value();
    docs = std::make_unique<DocumentStore>(DocumentStore::Open(*db).value());
  }
};

using ::dotdo::testing::AllIds;

TEST(TieringTest, MovedDocumentsReadAsBefore) {
  Fixture f;
  DOTDO_ASSERT_OK_AND_ASSIGN(Json a, f.docs->Create({{"$type", "user"}, {"$id", "ada"}, {"name", "Ada"}, {"age", 36}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json b, f.docs->Create({{"$type", "user"}, {"$id", "bob"}, {"name", "Bob"}, {"age", 20}}));
  ASSERT_THAT(f.docs->Update("ada", {{"$set", {{"age", 37}}}}), IsOk());
  ASSERT_THAT(f.docs->Create({{"$type", "user"}, {"$id", "cy"}, {"age", 50}}), IsOk());
  ASSERT_THAT(f.docs->Delete("cy"), IsOk());
  const int64_t created = a["$createdAt"].is_string() ? ParseIso8601(a["$createdAt"].get<std::string>()).value() : 0;
  std::vector<Result<Json>> as_of_before;
  for (int64_t t : {created - 1, created, created + 1, f.db->NowMillis()}) as_of_before.push_back(f.docs->GetAsOf("ada", t));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto history_before, f.docs->History("ada"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json ada_before, f.docs->Get("ada"));

  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, *f.objects, MoveEverything()));
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats run, tiering->Run(f.db->NowMillis()));
  EXPECT_EQ(run.documents_moved, 3);
  EXPECT_EQ(run.versions_moved, 2);  // ada v1, cy v1
  EXPECT_EQ(run.files_written, 1);

  DOTDO_ASSERT_OK_AND_ASSIGN(auto files, tiering->Files());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].table, "user");
  EXPECT_EQ(files[0].key.rfind("documents/type=user/dt=", 0), 0u) << files[0].key;
  EXPECT_EQ(files[0].live, 2);
  // The file is plain Parquet: DuckDB reads it in place.
  {
    auto duck = tiering::DuckSession::Open().value();
    DOTDO_ASSERT_OK_AND_ASSIGN(auto r, duck->Query("SELECT count(*), count(*) FILTER (WHERE _current) FROM read_parquet(" +
                                                 tiering::DuckSession::Literal(f.objects->DataPath(files[0].key).string()) + ")"));
    EXPECT_EQ(r.Int(0, 0), 5);
    EXPECT_EQ(r.Int(0, 1), 3);
  }

  DOTDO_ASSERT_OK_AND_ASSIGN(Json ada, f.docs->Get("ada"));
  EXPECT_EQ(ada, ada_before);
  EXPECT_TRUE(LastTierRead().warm);
  EXPECT_EQ(LastTierRead().files_read, 1);
  EXPECT_THAT(f.docs->Get("cy"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(f.docs->Get("nobody"), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(LastTierRead().files_read, 0);  // the id bloom rules the file out
  DOTDO_ASSERT_OK_AND_ASSIGN(auto history, f.docs->History("ada"));
  EXPECT_EQ(history, history_before);
  size_t k = 0;
  for (int64_t t : {created - 1, created, created + 1}) {
    auto now = f.docs->GetAsOf("ada", t);
    EXPECT_EQ(now.ok(), as_of_before[k].ok()) << t;
    if (now.ok() && as_of_before[k].ok()) EXPECT_EQ(*now, *as_of_before[k]) << t;
    ++k;
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, f.docs->Count("user"));
  EXPECT_EQ(n, 2);
  EXPECT_EQ(LastTierRead().files_read, 0);  // counted from the accelerator
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t adults, f.docs->Count("user", {{"age", {{"$gte", 30}}}}));
  EXPECT_EQ(adults, 1);
  DocumentQueryOptions q;
  q.type = "user";
  q.sort = {{"age", true}};
  EXPECT_EQ(AllIds(*f.docs, q), (std::vector<std::string>{"ada", "bob"}));

  DOTDO_ASSERT_OK_AND_ASSIGN(auto tables, tiering->Tables());
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0].hot_documents, 0);
  EXPECT_EQ(tables[0].warm_documents, 2);
}

TEST(TieringTest, WritesBringDocumentsBackWithoutDuplicates) {
  Fixture f;
  for (int i = 0; i < 20; ++i)
    ASSERT_THAT(f.docs->Create({{"$type", "t"}, {"$id", "d" + std::to_string(i)}, {"n", i}}), IsOk());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, *f.objects, MoveEverything()));
  ASSERT_THAT(tiering->Run(f.db->NowMillis()), IsOk());

  DOTDO_ASSERT_OK_AND_ASSIGN(Json up, f.docs->Update("d3", {{"$inc", {{"n", 100}}}}));
  EXPECT_EQ(up["$version"], 2);
  EXPECT_THAT(f.docs->Create({{"$type", "t"}, {"$id", "d4"}}), StatusIs(StatusCode::kAlreadyExists));
  ASSERT_THAT(f.docs->Delete("d5", {.hard = true}), IsOk());
  ASSERT_THAT(f.docs->Delete("d6"), IsOk());
  DOTDO_ASSERT_OK_AND_ASSIGN(Json again, f.docs->Create({{"$type", "t"}, {"$id", "d6"}, {"n", -1}}));
  EXPECT_EQ(again["$version"], 3);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json fresh, f.docs->Create({{"$type", "t"}, {"$id", "new"}, {"n", 7}}));

  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t count, f.docs->Count("t"));
  EXPECT_EQ(count, 20);  // 20 - d5 + new
  DocumentQueryOptions q;
  q.type = "t";
  q.limit = 3;
  std::vector<std::string> ids = AllIds(*f.docs, q);
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 20u);
  EXPECT_EQ(ids.back(), "new");  // insertion order: a new seq is above every moved one
  EXPECT_THAT(f.docs->Get("d5"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(f.docs->History("d5"), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto h3, f.docs->History("d3"));
  ASSERT_EQ(h3.size(), 2u);
  EXPECT_EQ(h3[0]["n"], 3);
  EXPECT_EQ(h3[1]["n"], 103);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t big, f.docs->Count("t", {{"n", {{"$gt", 50}}}}));
  EXPECT_EQ(big, 1);

  // Moving again: the brought-back documents go to a second file, still once each.
  ASSERT_THAT(tiering->Run(f.db->NowMillis()), IsOk());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto files, tiering->Files("t"));
  EXPECT_EQ(files.size(), 2u);
  EXPECT_EQ(AllIds(*f.docs, q).size(), 20u);
  DOTDO_ASSERT_OK_AND_ASSIGN(h3, f.docs->History("d3"));
  EXPECT_EQ(h3.size(), 2u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto h6, f.docs->History("d6"));
  EXPECT_EQ(h6.size(), 3u);
}

TEST(TieringTest, AcceleratorSkipsFilesThatCannotMatch) {
  Fixture f;
  ASSERT_THAT(f.docs->ConfigureStats("m", "k"), IsOk());
  for (int i = 0; i < 50; ++i)
    ASSERT_THAT(f.docs->Create({{"$type", "m"}, {"k", i}, {"tag", i % 2 == 0 ? "even" : "odd"}}), IsOk());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, *f.objects, MoveEverything()));
  ASSERT_THAT(tiering->Run(f.db->NowMillis()), IsOk());
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t none, f.docs->Count("m", {{"k", {{"$gt", 1000}}}}));
  EXPECT_EQ(none, 0);
  EXPECT_EQ(LastTierRead().files_read, 0);
  EXPECT_EQ(LastTierRead().files_skipped, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t missing, f.docs->Count("m", {{"k", 25.5}}));
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(LastTierRead().files_read, 0);  // inside min/max, but the bloom has no 25.5
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t one, f.docs->Count("m", {{"k", 25}}));
  EXPECT_EQ(one, 1);
  EXPECT_EQ(LastTierRead().files_read, 1);
}

// Random filters and sorts answer the same before and after a move of about half the documents.
TEST(TieringTest, RandomQueriesAnswerTheSameAfterMoving) {
  Fixture f;
  std::mt19937 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  ASSERT_THAT(f.docs->ConfigureStats("item", "n"), IsOk());
  ASSERT_THAT(f.docs->CreateIndex("item", "s"), IsOk());
  const char* strs[] = {"a", "b", "c", "d"};
  for (int i = 0; i < 300; ++i) {
    Json d = {{"$type", "item"}, {"$id", "i" + std::to_string(i)}};
    if (pick(10) > 0) d["n"] = pick(10) == 0 ? Json(strs[pick(4)]) : Json(pick(20));
    d["s"] = strs[pick(4)];
    Json tags = Json::array();
    for (int t = pick(4); t > 0; --t) tags.push_back(pick(5));
    d["tags"] = tags;
    if (pick(2) == 0) d["o"] = {{"x", pick(3)}};
    ASSERT_THAT(f.docs->Create(d), IsOk());
    if (pick(5) == 0) ASSERT_THAT(f.docs->Update(d["$id"].get<std::string>(), {{"$inc", {{"v", 1}}}}), IsOk());
    if (pick(9) == 0) ASSERT_THAT(f.docs->Delete(d["$id"].get<std::string>()), IsOk());
  }
  auto random_term = [&]() -> Json {
    switch (pick(10)) {
      case 0: return {{"n", pick(20)}};
      case 1: return {{"n", {{"$gt", pick(20)}}}};
      case 2: return {{"n", {{"$lte", pick(20)}}}};
      case 3: return {{"s", strs[pick(4)]}};
      case 4: return {{"s", {{"$in", {strs[pick(4)], strs[pick(4)]}}}}};
      case 5: return {{"tags", pick(5)}};
      case 6: return {{"tags", {{"$all", {pick(5), pick(5)}}}}};
      case 7: return {{"o.x", {{"$exists", pick(2) == 0}}}};
      case 8: return {{"n", {{"$ne", pick(20)}}}};
      default: return {{"tags", {{"$size", pick(3)}}}};
    }
  };
  std::vector<DocumentQueryOptions> queries;
  for (int i = 0; i < 150; ++i) {
    DocumentQueryOptions q;
    q.type = "item";
    q.limit = 1 + pick(40);
    switch (pick(3)) {
      case 0: q.where = random_term(); break;
      case 1: q.where = {{"$or", {random_term(), random_term()}}}; break;
      default: q.where = {{"$and", {random_term(), random_term()}}}; break;
    }
    switch (pick(4)) {
      case 0: break;
      case 1: q.sort = {{"n", false}}; break;
      case 2: q.sort = {{"n", true}}; break;
      default: q.sort = {{"s", false}, {"n", true}}; break;
    }
    queries.push_back(q);
  }
  std::vector<std::vector<std::string>> before;
  std::vector<int64_t> counts;
  for (const auto& q : queries) {
    before.push_back(AllIds(*f.docs, q));
    counts.push_back(f.docs->Count("item", q.where).value());
  }
  TieringOptions o;
  o.policies = {TieringPolicy{.store = "document", .type = "item", .min_age_millis = -1, .max_hot_documents = 150}};
  o.max_documents_per_file = 40;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, *f.objects, o));
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats run, tiering->Run(f.db->NowMillis()));
  EXPECT_EQ(run.documents_moved, 150);
  EXPECT_GE(run.files_written, 4);
  auto same_answers = [&]() {
    for (size_t i = 0; i < queries.size(); ++i) {
      EXPECT_EQ(AllIds(*f.docs, queries[i]), before[i]) << queries[i].where.dump();
      DOTDO_ASSERT_OK_AND_ASSIGN(int64_t c, f.docs->Count("item", queries[i].where));
      EXPECT_EQ(c, counts[i]) << queries[i].where.dump();
    }
  };
  same_answers();
  // And after a compaction of the small files into one.
  tiering.reset();
  o.max_files_per_partition = 1;
  o.max_documents_per_file = 1000;
  DOTDO_ASSERT_OK_AND_ASSIGN(tiering, Tiering::Attach(*f.db, *f.objects, o));
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats compacted, tiering->Compact());
  EXPECT_EQ(compacted.files_written, 1);
  same_answers();
}

TEST(TieringTest, IoErrorsLoseNothingAndTheNextRunFinishes) {
  Fixture f;
  for (int i = 0; i < 30; ++i) ASSERT_THAT(f.docs->Create({{"$type", "t"}, {"$id", "d" + std::to_string(i)}}), IsOk());
  internal::FaultyObjectStore faulty(*f.objects);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, faulty, MoveEverything()));
  // The put fails: nothing moves.
  faulty.Arm({.op = internal::ObjectOp::kPut});
  EXPECT_THAT(tiering->Run(f.db->NowMillis()), StatusIs(StatusCode::kUnavailable));
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t hot, f.docs->Count("t"));
  EXPECT_EQ(hot, 30);
  // The verification read fails after the put, and so does the removal of the file: it is left
  // behind (listed as an unfinished move) and removed by the next run.
  faulty.Arm({.op = internal::ObjectOp::kHead});
  faulty.Arm({.op = internal::ObjectOp::kDelete, .nth = 2, .repeat = true});  // the first removes the earlier intent
  EXPECT_THAT(tiering->Run(f.db->NowMillis()), StatusIs(StatusCode::kUnavailable));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto orphans, f.objects->List({.prefix = "documents/"}));
  EXPECT_EQ(orphans.objects.size(), 1u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto files, tiering->Files());
  EXPECT_TRUE(files.empty());
  faulty.Disarm();
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats run, tiering->Run(f.db->NowMillis()));
  EXPECT_EQ(run.files_recovered, 1);
  EXPECT_EQ(run.documents_moved, 30);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto listed, f.objects->List({.prefix = "documents/"}));
  EXPECT_EQ(listed.objects.size(), 1u);  // the orphan is gone
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t all, f.docs->Count("t", {{"$id", {{"$exists", true}}}}));
  EXPECT_EQ(all, 30);
  EXPECT_THAT(f.docs->Get("d17"), IsOk());
}

// SIGKILL at random points of moves and writes: afterwards every document is there exactly once.
TEST(TieringTest, KilledMoverLosesNothingAndShowsNothingTwice) {
  ScratchDir dir;
  const auto objects_path = dir.path() / "objects";
  testing::CreateUntilKilled(dir.path(), [](Database& db, ObjectStore& objects) -> testing::AfterCreate {
    TieringOptions t = MoveEverything();
    t.max_documents_per_file = 25;
    std::shared_ptr<Tiering> tiering = Tiering::Attach(db, objects, t).value();
    return [tiering, &db](int i) {
      if (i % 40 == 39) (void)tiering->Run(db.NowMillis());
    };
  });
  auto db = Database::Open(dir.path(), "ns").value();
  auto objects = LocalObjectStore::Open(objects_path).value();
  DocumentStore docs(*db);
  EXPECT_THAT(docs.Count("t"), StatusIs(StatusCode::kFailedPrecondition));  // moved rows need the tier
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*db, *objects, MoveEverything()));
  ASSERT_THAT(tiering->Run(db->NowMillis()), IsOk());  // finishes or undoes an interrupted move
  DocumentQueryOptions q;
  q.type = "t";
  q.limit = 1000;
  std::vector<std::string> ids = AllIds(docs, q);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t count, docs.Count("t"));
  EXPECT_EQ(static_cast<int64_t>(ids.size()), count);
  EXPECT_GT(ids.size(), 40u);
  testing::ExpectEveryCreateOnce(ids);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto listed, objects->List({.prefix = "documents/", .limit = 10000}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto files, tiering->Files());
  EXPECT_EQ(listed.objects.size(), files.size());  // no orphan files
}

TEST(TieringTest, SqlOverWarmFiles) {
  Fixture f;
  ASSERT_THAT(f.docs->ConfigureStats("o", "amount"), IsOk());
  for (int i = 0; i < 10; ++i)
    ASSERT_THAT(f.docs->Create({{"$type", "o"}, {"$id", "o" + std::to_string(i)}, {"amount", i}}), IsOk());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, *f.objects, MoveEverything()));
  ASSERT_THAT(tiering->Run(f.db->NowMillis()), IsOk());
  ASSERT_THAT(f.docs->Update("o3", {{"$set", {{"amount", 100}}}}), IsOk());  // hot again: masked in the file
  const std::vector<std::pair<std::string, Tiering*>> ns = {{"shop", tiering.get()}};
  DOTDO_ASSERT_OK_AND_ASSIGN(Json sum, Tiering::Sql(ns, "SELECT count(*) AS n, sum(amount) AS s FROM shop.documents"));
  EXPECT_EQ(sum, Json::parse(R"([{"n": 9, "s": 42.0}])"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json versions, Tiering::Sql(ns, "SELECT count(*) AS n FROM shop.document_versions"));
  EXPECT_EQ(versions[0]["n"], 9);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json doc, Tiering::Sql(ns, "SELECT \"$id\" AS id, doc->>'note' AS note FROM shop.documents WHERE amount = 7"));
  EXPECT_EQ(doc[0]["id"], "o7");
  EXPECT_THAT(Tiering::Sql(ns, "CREATE TABLE x (a INT)"), StatusIs(StatusCode::kInvalidArgument, "read-only"));
  EXPECT_THAT(Tiering::Sql(ns, "COPY (SELECT 1) TO '/tmp/x.csv'"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Tiering::Sql(ns, "SELECT * FROM read_csv('/etc/passwd')"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Tiering::Sql(ns, "SET enable_external_access = true"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Tiering::Sql(ns, "SELECT * FROM range(100)", {.max_rows = 10}), StatusIs(StatusCode::kResourceExhausted));
  EXPECT_THAT(Tiering::Sql({{"bad/name", tiering.get()}}, "SELECT 1"), StatusIs(StatusCode::kInvalidArgument));
}

TEST(TieringTest, BadInput) {
  Fixture f;
  TieringOptions o;
  o.max_documents_per_file = 0;
  EXPECT_THAT(Tiering::Attach(*f.db, *f.objects, o), StatusIs(StatusCode::kInvalidArgument));
  o = TieringOptions{};
  o.policies[0].store = "graph";
  EXPECT_THAT(Tiering::Attach(*f.db, *f.objects, o), StatusIs(StatusCode::kInvalidArgument, "store"));
  o = TieringOptions{};
  o.policies[0].type = "bad type";
  EXPECT_THAT(Tiering::Attach(*f.db, *f.objects, o), StatusIs(StatusCode::kInvalidArgument));
  o = TieringOptions{};
  o.policies[0].min_age_millis = -5;
  EXPECT_THAT(Tiering::Attach(*f.db, *f.objects, o), StatusIs(StatusCode::kInvalidArgument));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto tiering, Tiering::Attach(*f.db, *f.objects));
  EXPECT_THAT(tiering->Files("no/slash"), StatusIs(StatusCode::kInvalidArgument));
  DOTDO_ASSERT_OK_AND_ASSIGN(TieringRunStats run, tiering->Run(f.db->NowMillis()));
  EXPECT_EQ(run.files_written, 0);  // nothing is 30 days old
}

}  // namespace
}  // namespace dotdo
