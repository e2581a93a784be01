// What the index keeps in memory beside the graph (each record's id and $type) and answers searches
// from: it stays exact across inserts, upserts that change the type, deletes, batches, saves,
// reopens that replay the log, compaction, commits of another connection on the same file, and
// searches inside a transaction; an unfiltered search without content or metadata reads no row,
// and content / metadata come back exactly when asked for.
#include <omp.h>

#include <map>
#include <random>

#include "dotdo/vector.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

constexpr int kDim = 12;

const int kOmpSingleThread = [] {
  omp_set_num_threads(1);
  return 1;
}();

std::vector<float> RandomUnit(std::mt19937& rng) {
  std::normal_distribution<float> n(0, 1);
  std::vector<float> v(kDim);
  for (float& x : v) x = n(rng);
  return TruncateEmbedding(v, 0);
}

struct Entry {
  std::vector<float> v;  // normalized, as stored
  std::string type;
};
using Model = std::map<std::string, Entry>;

VectorRecord Rec(const std::string& id, const Entry& e) {
  VectorRecord r;
  r.id = id;
  r.type = e.type;
  r.content = "text of " + id;
  r.embedding = e.v;
  r.metadata = Json{{"id", id}};
  return r;
}

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Every result is a live record of the model with its current $type and exact score, in score
// order, from `stage`, and (the store is small and the beam wide) the ids are the brute-force top k.
void ExpectMatchesModel(VectorStore& vs, const Model& model, const std::vector<float>& q, const std::string& where,
                        SearchStage stage = SearchStage::kHnsw) {
  SCOPED_TRACE(where);
  const size_t k = 8;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto got, vs.Search({.embedding = q, .limit = static_cast<int64_t>(k), .ef = 400}));
  std::vector<std::pair<double, std::string>> truth;
  for (const auto& [id, e] : model) truth.emplace_back(-Cosine(q, e.v), id);
  std::sort(truth.begin(), truth.end());
  ASSERT_EQ(got.size(), std::min(k, truth.size()));
  for (size_t i = 0; i < got.size(); ++i) {
    auto it = model.find(got[i].id);
    ASSERT_NE(it, model.end()) << "a deleted record was served: " << got[i].id;
    EXPECT_EQ(got[i].type, it->second.type) << got[i].id;
    EXPECT_NEAR(got[i].score, Cosine(q, it->second.v), 1e-5) << got[i].id;
    EXPECT_EQ(got[i].stage, stage);
    EXPECT_FALSE(got[i].content.has_value());
    EXPECT_FALSE(got[i].metadata.has_value());
    EXPECT_EQ(got[i].id, truth[i].second) << "rank " << i;
  }
}

TEST(VectorIndexMemoryTest, IdsAndTypesStayExactAcrossWritesSavesReopensAndReplay) {
  testing::ScratchDir dir;
  const char* types[] = {"Doc", "Note", "Image"};
  Model model;
  std::mt19937 rng(17);
  for (int round = 0; round < 4; ++round) {
    auto db = Database::Open(dir.path(), "mem").value();
    auto vs = VectorStore::Open(*db, {.dimension = kDim, .autosave_changes = 0}).value();
    if (round > 0) ExpectMatchesModel(vs, model, RandomUnit(rng), "after reopen " + std::to_string(round));
    for (int step = 0; step < 300; ++step) {
      const std::string id = "k" + std::to_string(rng() % 120);
      const Entry e{RandomUnit(rng), types[rng() % 3]};
      const int op = static_cast<int>(rng() % 10);
      if (op < 3) {
        if (!model.count(id)) {
          DOTDO_ASSERT_OK(vs.Insert(Rec(id, e)));
          model[id] = e;
        }
      } else if (op < 6) {
        // Same vector, new type: only the type the index holds changes.
        Entry retyped = model.count(id) ? model[id] : e;
        retyped.type = types[rng() % 3];
        DOTDO_ASSERT_OK(vs.Upsert(Rec(id, retyped)));
        model[id] = retyped;
      } else if (op < 8) {
        DOTDO_ASSERT_OK_AND_ASSIGN(bool gone, vs.Delete(id));
        EXPECT_EQ(gone, model.erase(id) == 1);
      } else if (op < 9) {
        std::vector<VectorRecord> batch;
        for (int b = 0; b < 4; ++b) {
          const std::string bid = "b" + std::to_string(round) + "-" + std::to_string(step) + "-" + std::to_string(b);
          const Entry be{RandomUnit(rng), types[rng() % 3]};
          batch.push_back(Rec(bid, be));
          model[bid] = be;
        }
        DOTDO_ASSERT_OK(vs.InsertBatch(std::move(batch)).status());
      } else {
        ExpectMatchesModel(vs, model, RandomUnit(rng), "step " + std::to_string(step));
      }
      // Saves in the middle of a round: the reopen loads that file and replays only what follows.
      if (step == 150 && round % 2 == 0) DOTDO_ASSERT_OK(vs.SaveIndex());
      if (step == 200 && round == 1) DOTDO_ASSERT_OK(vs.Compact());
    }
    ExpectMatchesModel(vs, model, RandomUnit(rng), "end of round " + std::to_string(round));
  }
}

TEST(VectorIndexMemoryTest, CommitsOfAnotherConnectionAreSeenByTheNextSearch) {
  testing::ScratchDir dir;
  auto reader_db = Database::Open(dir.path(), "shared").value();
  auto writer_db = Database::Open(dir.path(), "shared").value();
  auto writer = VectorStore::Open(*writer_db, {.dimension = kDim}).value();
  Model model;
  std::mt19937 rng(3);
  for (int i = 0; i < 40; ++i) {
    const std::string id = "r" + std::to_string(i);
    model[id] = Entry{RandomUnit(rng), "Doc"};
    DOTDO_ASSERT_OK(writer.Insert(Rec(id, model[id])));
  }
  auto reader = VectorStore::Open(*reader_db, {}).value();
  ExpectMatchesModel(reader, model, model["r7"].v, "first search (index built)");
  // Each change committed by the other connection is visible to the very next search.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto top, reader.Search({.embedding = model["r7"].v, .limit = 1}));
  ASSERT_EQ(top.at(0).id, "r7");
  const std::vector<float> deleted = model["r7"].v;
  ASSERT_TRUE(writer.Delete("r7").value());
  model.erase("r7");
  DOTDO_ASSERT_OK_AND_ASSIGN(top, reader.Search({.embedding = deleted, .limit = 1}));
  ASSERT_EQ(top.size(), 1u);
  EXPECT_NE(top[0].id, "r7");
  ExpectMatchesModel(reader, model, model["r3"].v, "after another connection's delete");
  model["r3"].type = "Note";
  DOTDO_ASSERT_OK(writer.Upsert(Rec("r3", model["r3"])));
  DOTDO_ASSERT_OK_AND_ASSIGN(top, reader.Search({.embedding = model["r3"].v, .limit = 1}));
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].id, "r3");
  EXPECT_EQ(top[0].type, "Note");
  model["new"] = Entry{RandomUnit(rng), "Image"};
  DOTDO_ASSERT_OK(writer.Insert(Rec("new", model["new"])));
  DOTDO_ASSERT_OK_AND_ASSIGN(top, reader.Search({.embedding = model["new"].v, .limit = 1}));
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].id, "new");
  EXPECT_EQ(top[0].type, "Image");
  // Another connection saves the index and prunes the log this index would replay: reloaded.
  DOTDO_ASSERT_OK(writer.Delete("r5").status());
  model.erase("r5");
  DOTDO_ASSERT_OK(writer.SaveIndex());
  ExpectMatchesModel(reader, model, RandomUnit(rng), "after another connection saved and pruned the log");
}

TEST(VectorIndexMemoryTest, InsideATransactionResultsReflectItsOwnChanges) {
  auto db = testing::OpenMemoryDb();
  auto vs = VectorStore::Open(*db, {.dimension = kDim}).value();
  Model model;
  std::mt19937 rng(8);
  for (int i = 0; i < 30; ++i) {
    const std::string id = "t" + std::to_string(i);
    model[id] = Entry{RandomUnit(rng), "Doc"};
    DOTDO_ASSERT_OK(vs.Insert(Rec(id, model[id])));
  }
  ExpectMatchesModel(vs, model, RandomUnit(rng), "before the transaction");
  DOTDO_ASSERT_OK(db->Transaction([&]() -> Status {
    // Nothing changed yet in this transaction: the index answers.
    ExpectMatchesModel(vs, model, RandomUnit(rng), "in the transaction, unchanged");
    model["t4"].type = "Note";
    DOTDO_RETURN_IF_ERROR(vs.Upsert(Rec("t4", model["t4"])));
    DOTDO_RETURN_IF_ERROR(vs.Delete("t9").status());
    model.erase("t9");
    // The index lags the transaction's own changes: the truth answers (an exact scan).
    ExpectMatchesModel(vs, model, model["t4"].v, "in the transaction, after its own upsert and delete", SearchStage::kExact);
    return OkStatus();
  }));
  ExpectMatchesModel(vs, model, model["t4"].v, "after the commit");
  Model before_rollback = model;
  Status rolled_back = db->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(vs.Delete("t4").status());
    return AbortedError("roll back");
  });
  EXPECT_EQ(rolled_back.code(), StatusCode::kAborted);
  ExpectMatchesModel(vs, before_rollback, before_rollback["t4"].v, "after a rolled-back delete");
}

TEST(VectorIndexMemoryTest, AnUnfilteredSearchReadsNoRowAndContentComesWhenAsked) {
  auto db = testing::OpenMemoryDb();
  auto vs = VectorStore::Open(*db, {.dimension = kDim}).value();
  std::mt19937 rng(4);
  Model model;
  for (int i = 0; i < 50; ++i) {
    const std::string id = "m" + std::to_string(i);
    model[id] = Entry{RandomUnit(rng), i % 2 ? "Odd" : "Even"};
    DOTDO_ASSERT_OK(vs.Insert(Rec(id, model[id])));
  }
  const std::vector<float> q = model["m11"].v;
  DOTDO_ASSERT_OK(vs.Search({.embedding = q}).status());  // catches the index up
  const int64_t before = db->stats().rows_read;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto plain, vs.Search({.embedding = q, .limit = 5}));
  EXPECT_EQ(db->stats().rows_read, before) << "an unfiltered search without content or metadata reads no row";
  ASSERT_EQ(plain.size(), 5u);
  EXPECT_EQ(plain[0].id, "m11");
  EXPECT_EQ(plain[0].type, "Odd");
  EXPECT_FALSE(plain[0].content.has_value());
  EXPECT_FALSE(VectorSearchResultToJson(plain[0]).contains("content"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto full, vs.Search({.embedding = q, .limit = 5, .with_content = true, .with_metadata = true}));
  ASSERT_EQ(full.size(), plain.size());
  for (size_t i = 0; i < full.size(); ++i) {
    EXPECT_EQ(full[i].id, plain[i].id);
    EXPECT_EQ(full[i].type, plain[i].type);
    EXPECT_DOUBLE_EQ(full[i].score, plain[i].score);
    EXPECT_EQ(full[i].content, "text of " + full[i].id);
    EXPECT_EQ(full[i].metadata, (Json{{"id", full[i].id}}));
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto only_content, vs.Search({.embedding = q, .limit = 1, .with_content = true}));
  EXPECT_TRUE(only_content.at(0).content.has_value());
  EXPECT_FALSE(only_content.at(0).metadata.has_value());
  // The other modes answer from memory too, with the same ids and types.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto progressive, vs.Search({.embedding = q, .limit = 3, .stages = VectorSearchStages{.binary = 50, .prefix64 = 20, .prefix256 = 10}}));
  EXPECT_EQ(progressive.at(0).id, "m11");
  EXPECT_EQ(progressive.at(0).type, "Odd");
  EXPECT_EQ(progressive.at(0).stage, SearchStage::kRerank);
  // A filter is checked against the rows; types stay exact.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto even, vs.Search({.embedding = q, .limit = 5, .filter = {{"$type", "Even"}}}));
  ASSERT_EQ(even.size(), 5u);
  for (const auto& r : even) EXPECT_EQ(r.type, "Even") << r.id;
}

}  // namespace
}  // namespace dotdo
