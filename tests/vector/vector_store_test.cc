// VectorStore and HybridSearch: the maths (truncation, Hamming, PQ error), writes and bad input,
// CDC events, search (HNSW, progressive, prefix, filtered completeness), persistence of the index
// and replay across reopen, deletes never returned, the int8 graph's recall floor and exact scores,
// opening a file of the previous schema, RRF arithmetic, FTS syntax handling, and a model-based
// randomized test against an in-memory map with brute-force search.
#include <omp.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "core/database_internals.h"
#include "dotdo/cdc.h"
#include "dotdo/vector.h"
#include "testing/test_util.h"
#include "vector/vector_internal.h"

namespace dotdo {
namespace {

using testing::StatusIs;

const int kOmpSingleThread = [] {
  omp_set_num_threads(1);  // FAISS shares the machine
  return 1;
}();

std::vector<float> RandomVec(std::mt19937& rng, int dim) {
  std::normal_distribution<float> n(0, 1);
  std::vector<float> v(static_cast<size_t>(dim));
  for (float& x : v) x = n(rng);
  return v;
}

// Clustered data: centers plus noise, so PQ and HNSW see realistic structure.
std::vector<std::vector<float>> Clustered(int n, int dim, unsigned seed, int clusters = 16) {
  std::mt19937 rng(seed);
  std::vector<std::vector<float>> centers;
  for (int c = 0; c < clusters; ++c) centers.push_back(RandomVec(rng, dim));
  std::normal_distribution<float> noise(0, 0.3f);
  std::vector<std::vector<float>> out;
  for (int i = 0; i < n; ++i) {
    auto v = centers[static_cast<size_t>(i % clusters)];
    for (float& x : v) x += noise(rng);
    out.push_back(std::move(v));
  }
  return out;
}

VectorRecord Rec(std::string id, std::vector<float> e, std::string content = "", Json meta = Json::object(),
                 std::string type = "Doc") {
  VectorRecord r;
  r.id = std::move(id);
  r.type = std::move(type);
  r.content = std::move(content);
  r.embedding = std::move(e);
  r.metadata = std::move(meta);
  return r;
}

std::vector<std::string> Ids(const std::vector<VectorSearchResult>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.id);
  return out;
}

// Brute-force top-k ids by cosine over a map of raw vectors.
std::vector<std::string> BruteForce(const std::map<std::string, std::vector<float>>& data, const std::vector<float>& q,
                                    size_t k, int dim = 0) {
  std::vector<std::pair<double, std::string>> s;
  for (const auto& [id, v] : data) s.emplace_back(-CrossDimensionSimilarity(q, v, dim), id);
  std::sort(s.begin(), s.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < std::min(k, s.size()); ++i) out.push_back(s[i].second);
  return out;
}

double Recall(const std::vector<std::string>& got, const std::vector<std::string>& truth) {
  std::set<std::string> t(truth.begin(), truth.end());
  size_t hit = 0;
  for (const auto& g : got) hit += t.count(g);
  return truth.empty() ? 1.0 : static_cast<double>(hit) / truth.size();
}

TEST(VectorMathTest, TruncationRenormalizesAndCrossDimensionMatchesPrefixCosine) {
  std::vector<float> v{3, 4, 12, 0};
  auto t = TruncateEmbedding(v, 2);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_NEAR(t[0], 0.6, 1e-6);
  EXPECT_NEAR(t[1], 0.8, 1e-6);
  auto full = TruncateEmbedding(v, 0);
  EXPECT_NEAR(full[2], 12.0 / 13.0, 1e-6);
  EXPECT_NEAR(CrossDimensionSimilarity({1, 0, 5}, {1, 0, -5}, 2), 1.0, 1e-9);
  EXPECT_NEAR(CrossDimensionSimilarity({1, 0, 5}, {1, 0, -5}), (1.0 - 25) / 26.0, 1e-9);
  EXPECT_EQ(TruncateEmbedding({0, 0, 1}, 2), (std::vector<float>{0, 0}));
}

TEST(VectorMathTest, BinaryCodeIsSignBitsAndHammingCountsDifferences) {
  auto a = BinaryCode({1, -1, 0.5f, -0.1f, 0, 2, 3, -4, 1});
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0], 0b01100101);
  EXPECT_EQ(a[1], 0b1);
  auto b = BinaryCode({-1, -1, 0.5f, -0.1f, 0, 2, 3, 4, -1});
  EXPECT_EQ(HammingDistance(a, b), 3);
  EXPECT_EQ(HammingDistance(a, a), 0);
}

TEST(VectorMathTest, RrfMatchesTheSeedExample) {
  EXPECT_NEAR(RrfScore(1, 3, 1, 1, 60), 0.0323, 5e-5);
  EXPECT_NEAR(RrfScore(5, 1, 1, 1, 60), 0.0318, 5e-5);
  EXPECT_GT(RrfScore(1, 3, 1, 1, 60), RrfScore(5, 1, 1, 1, 60));
  EXPECT_NEAR(RrfScore(std::nullopt, 1, 0.4, 0.6, 60), 0.6 / 61, 1e-12);
}

class VectorStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = testing::OpenMemoryDb(); }
  VectorStore Open(VectorStoreOptions o) {
    auto vs = VectorStore::Open(*db_, o);
    EXPECT_THAT(vs, testing::IsOk());
    return std::move(vs).value();
  }
  std::unique_ptr<Database> db_;
};

TEST_F(VectorStoreTest, BadInputIsRejectedAndWritesNothing) {
  EXPECT_THAT(VectorStore::Open(*db_, {}), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(VectorStore::Open(*db_, {.dimension = -1}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(VectorStore::Open(*db_, {.dimension = 8, .matryoshka_dims = std::vector<int>{4, 2}}),
              StatusIs(StatusCode::kInvalidArgument));
  VectorStore vs = Open({.dimension = 4});
  EXPECT_THAT(vs.Insert(Rec("a", {1, 2, 3})), StatusIs(StatusCode::kInvalidArgument, "dimensions"));
  EXPECT_THAT(vs.Insert(Rec("a", {1, NAN, 3, 4})), StatusIs(StatusCode::kInvalidArgument, "NaN"));
  EXPECT_THAT(vs.Insert(Rec("a", {1, INFINITY, 3, 4})), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(vs.Insert(Rec("a", {0, 0, 0, 0})), StatusIs(StatusCode::kInvalidArgument, "zeros"));
  EXPECT_THAT(vs.Insert(Rec("bad id", {1, 0, 0, 0})), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(vs.Insert(Rec("a", {1, 0, 0, 0}, "", Json::array())), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(vs.Insert(Rec("a", {1, 0, 0, 0}, "", {}, "1bad")), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(vs.Insert(Rec("a", {1, 0, 0, 0}, std::string("\xff\xfe"))), StatusIs(StatusCode::kInvalidArgument));
  std::vector<VectorRecord> batch{Rec("x", {1, 0, 0, 0}), Rec("x", {0, 1, 0, 0})};
  EXPECT_THAT(vs.InsertBatch(batch), StatusIs(StatusCode::kInvalidArgument, "twice"));
  EXPECT_THAT(vs.InsertBatch({}), StatusIs(StatusCode::kInvalidArgument));
  batch = {Rec("y", {1, 0, 0, 0}), Rec("z", {0, 0, 0, 0})};
  EXPECT_THAT(vs.InsertBatch(batch), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(vs.Get("y"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(vs.Search({.embedding = {1, 0, 0}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(vs.Search({.embedding = {1, 0, 0, 0}, .limit = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(vs.Search({.embedding = {1, 0, 0, 0}, .filter = {{"$gt", 1}}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(vs.Search({.embedding = {1, 0, 0, 0}, .vector_dim = 3}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(vs.GetPrefix("a", 9), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(vs.TrainPq(), StatusIs(StatusCode::kFailedPrecondition));
  // Nothing was written: no tables, no events.
  DOTDO_ASSERT_OK_AND_ASSIGN(Json t, db_->QueryReadOnly("SELECT name FROM sqlite_master WHERE name LIKE 'vec_%'"));
  EXPECT_TRUE(t.empty());
  // Reads on an unwritten namespace answer as empty and create nothing.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto none, vs.Search({.embedding = {1, 0, 0, 0}}));
  EXPECT_TRUE(none.empty());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto h, HybridSearch(*db_).Query({.query = "x"}));
  EXPECT_TRUE(h.empty());
  DOTDO_ASSERT_OK_AND_ASSIGN(t, db_->QueryReadOnly("SELECT name FROM sqlite_master WHERE name LIKE 'vec_%'"));
  EXPECT_TRUE(t.empty());
}

TEST_F(VectorStoreTest, WritesReadsAndMetadataOnlyEvents) {
  VectorStore vs = Open({.dimension = 4});
  DOTDO_ASSERT_OK(vs.Insert(Rec("a", {3, 4, 0, 0}, "hello world", {{"k", 1}})));
  EXPECT_THAT(vs.Insert(Rec("a", {1, 0, 0, 0})), StatusIs(StatusCode::kAlreadyExists));
  DOTDO_ASSERT_OK_AND_ASSIGN(VectorRecord a, vs.Get("a"));
  EXPECT_NEAR(a.embedding[0], 0.6, 1e-6);  // normalized under cosine
  EXPECT_EQ(a.content, "hello world");
  EXPECT_EQ(a.metadata, (Json{{"k", 1}}));
  DOTDO_ASSERT_OK(vs.Upsert(Rec("a", {0, 0, 1, 0}, "", {{"k", 2}})));
  DOTDO_ASSERT_OK_AND_ASSIGN(a, vs.Get("a"));
  EXPECT_EQ(a.embedding, (std::vector<float>{0, 0, 1, 0}));
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, vs.InsertBatch({Rec("b", {1, 0, 0, 0}), Rec("c", {0, 1, 0, 0}, "text")}));
  EXPECT_EQ(n, 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(bool gone, vs.Delete("b"));
  EXPECT_TRUE(gone);
  DOTDO_ASSERT_OK_AND_ASSIGN(gone, vs.Delete("b"));
  EXPECT_FALSE(gone);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto events, ChangeFeed(*db_).Read(0));
  std::vector<std::string> types;
  for (const auto& e : events) {
    if (e.store != "vector") continue;
    types.push_back(e.type);
    const std::string text = EventToJson(e).dump();
    EXPECT_EQ(text.find("embedding"), std::string::npos) << text;  // never the vector
  }
  EXPECT_EQ(types, (std::vector<std::string>{"cdc.insert", "cdc.update", "cdc.batch_insert", "cdc.delete"}));
  EXPECT_EQ(events[0].after->at("dimension"), 4);
  EXPECT_EQ(events[0].after->at("hasContent"), true);
  EXPECT_EQ(events[2].after->at("count"), 2);
  // Reopening with another dimension or metric is refused.
  EXPECT_THAT(VectorStore::Open(*db_, {.dimension = 8}), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(VectorStore::Open(*db_, {.dimension = 4, .metric = VectorMetric::kL2}),
              StatusIs(StatusCode::kFailedPrecondition));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto again, VectorStore::Open(*db_, {}));
  EXPECT_EQ(again.options().dimension, 4);
}

TEST_F(VectorStoreTest, SearchModesFindTheNearestAndDeletesAreNeverReturned) {
  const int dim = 300;
  auto data = Clustered(2000, dim, 7);
  VectorStore vs = Open({.dimension = dim, .pq_train_threshold = 100000});
  std::vector<VectorRecord> batch;
  std::map<std::string, std::vector<float>> model;
  for (size_t i = 0; i < data.size(); ++i) {
    const std::string id = "v" + std::to_string(i);
    model[id] = data[i];
    batch.push_back(Rec(id, data[i], "", {{"bucket", static_cast<int>(i % 10)}}, i % 2 ? "Odd" : "Even"));
  }
  DOTDO_ASSERT_OK(vs.InsertBatch(batch).status());
  std::mt19937 rng(3);
  double hnsw_recall = 0, prog_recall = 0, prefix_recall = 0;
  for (int t = 0; t < 20; ++t) {
    auto q = data[rng() % data.size()];
    for (float& x : q) x += 0.1f;
    const auto truth = BruteForce(model, q, 10);
    DOTDO_ASSERT_OK_AND_ASSIGN(auto h, vs.Search({.embedding = q, .limit = 10, .ef = 100}));
    ASSERT_EQ(h.size(), 10u);
    EXPECT_EQ(h[0].stage, SearchStage::kHnsw);
    EXPECT_GE(h[0].score, h[9].score);
    hnsw_recall += Recall(Ids(h), truth) / 20;
    DOTDO_ASSERT_OK_AND_ASSIGN(auto p, vs.Search({.embedding = q, .limit = 10, .stages = VectorSearchStages{}}));
    ASSERT_EQ(p.size(), 10u);
    EXPECT_EQ(p[0].stage, SearchStage::kRerank);
    prog_recall += Recall(Ids(p), truth) / 20;
    DOTDO_ASSERT_OK_AND_ASSIGN(auto m, vs.Search({.embedding = q, .limit = 10, .vector_dim = 64}));
    EXPECT_EQ(m[0].stage, SearchStage::kExact);
    prefix_recall += Recall(Ids(m), BruteForce(model, q, 10, 64)) / 20;
  }
  EXPECT_GE(hnsw_recall, 0.95);
  EXPECT_GE(prog_recall, 0.95);
  EXPECT_GE(prefix_recall, 0.99);
  // Deletes are honoured at once, in every mode.
  auto q = data[5];
  for (int i = 0; i < 2000; i += 16) ASSERT_TRUE(vs.Delete("v" + std::to_string(i + 5)).value());
  for (auto mode : {0, 1, 2}) {
    VectorSearchOptions o{.embedding = q, .limit = 50};
    if (mode == 1) o.stages = VectorSearchStages{};
    if (mode == 2) o.vector_dim = 128;
    DOTDO_ASSERT_OK_AND_ASSIGN(auto r, vs.Search(o));
    for (const auto& x : r) EXPECT_NE((std::stoi(x.id.substr(1)) - 5) % 16, 0) << x.id << " mode " << mode;
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(VectorStats st, vs.Stats());
  EXPECT_EQ(st.count, 2000 - 125);
  EXPECT_EQ(st.index_deleted, 125);
  DOTDO_ASSERT_OK(vs.Compact());
  DOTDO_ASSERT_OK_AND_ASSIGN(st, vs.Stats());
  EXPECT_EQ(st.index_deleted, 0);
  EXPECT_EQ(st.index_elements, 2000 - 125);
  EXPECT_EQ(st.storage["prefixes"][0]["dim"], 64);
}

TEST_F(VectorStoreTest, FilteredSearchIsCompleteAtEverySelectivity) {
  const int dim = 32, n = 20000;
  auto data = Clustered(n, dim, 11);
  VectorStore vs = Open({.dimension = dim, .pq_train_threshold = 100000, .exact_filter_rows = 500,
                         .exact_filter_fraction = 0.0});
  std::vector<VectorRecord> batch;
  for (int i = 0; i < n; ++i)
    batch.push_back(Rec("v" + std::to_string(i), data[static_cast<size_t>(i)], "",
                        {{"p10", i % 10 == 0}, {"p1", i % 100 == 0}, {"p001", i % 10000 == 0}}));
  DOTDO_ASSERT_OK(vs.InsertBatch(batch).status());
  for (const std::string field : {"p10", "p1", "p001"}) {
    std::map<std::string, std::vector<float>> model;
    const int every = field == "p10" ? 10 : field == "p1" ? 100 : 10000;
    for (int i = 0; i < n; i += every) model["v" + std::to_string(i)] = data[static_cast<size_t>(i)];
    double recall = 0;
    for (int t = 0; t < 10; ++t) {
      const auto& q = data[static_cast<size_t>(t * 37)];
      DOTDO_ASSERT_OK_AND_ASSIGN(auto r, vs.Search({.embedding = q, .limit = 10, .filter = {{field, true}}}));
      ASSERT_EQ(r.size(), std::min<size_t>(10, model.size())) << field;
      for (const auto& x : r) EXPECT_EQ(std::stoi(x.id.substr(1)) % every, 0) << field;
      recall += Recall(Ids(r), BruteForce(model, q, 10)) / 10;
    }
    EXPECT_GE(recall, 0.95) << field;
  }
  // $type filters and a filter nothing matches.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto none, vs.Search({.embedding = data[0], .filter = {{"$type", "Nope"}}}));
  EXPECT_TRUE(none.empty());
}

TEST_F(VectorStoreTest, ProductQuantizationTrainsAndBoundsTheReconstructionError) {
  const int dim = 32;
  auto data = Clustered(1000, dim, 5);
  VectorStore vs = Open({.dimension = dim, .pq_train_threshold = 600});
  std::vector<VectorRecord> batch;
  for (int i = 0; i < 500; ++i) batch.push_back(Rec("v" + std::to_string(i), data[static_cast<size_t>(i)]));
  DOTDO_ASSERT_OK(vs.InsertBatch(batch).status());
  EXPECT_THAT(vs.PqReconstruct("v0"), StatusIs(StatusCode::kFailedPrecondition));
  batch.clear();
  for (int i = 500; i < 1000; ++i) batch.push_back(Rec("v" + std::to_string(i), data[static_cast<size_t>(i)]));
  DOTDO_ASSERT_OK(vs.InsertBatch(batch).status());  // crosses the threshold: trained in this batch
  DOTDO_ASSERT_OK_AND_ASSIGN(VectorStats st, vs.Stats());
  EXPECT_TRUE(st.pq_trained);
  EXPECT_EQ(st.pq_subquantizers, 4);
  DOTDO_ASSERT_OK(vs.Insert(Rec("late", data[3])));
  double err = 0;
  for (const std::string id : {"v1", "v500", "v999", "late"}) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto rec, vs.Get(id));
    DOTDO_ASSERT_OK_AND_ASSIGN(auto approx, vs.PqReconstruct(id));
    for (int i = 0; i < dim; ++i) err += std::pow(rec.embedding[static_cast<size_t>(i)] - approx[static_cast<size_t>(i)], 2);
  }
  // Unit vectors: squared norm 1 each; PQ at 8 bits per 8 dims keeps well under a quarter of it.
  EXPECT_LT(err / 4, 0.25);
  DOTDO_ASSERT_OK(vs.TrainPq());  // retrain on demand
}

TEST_F(VectorStoreTest, HybridFusesRanksAndHandlesUserSyntax) {
  VectorStore vs = Open({.dimension = 4});
  DOTDO_ASSERT_OK(vs.Insert(Rec("ml", {1, 0, 0, 0}, "machine learning frameworks compared", {{"lang", "en"}})));
  DOTDO_ASSERT_OK(vs.Insert(Rec("cook", {0, 1, 0, 0}, "cooking with machines", {{"lang", "en"}})));
  DOTDO_ASSERT_OK(vs.Insert(Rec("deep", {0.9f, 0.1f, 0, 0}, "deep learning", {{"lang", "de"}})));
  DOTDO_ASSERT_OK(vs.Insert(Rec("none", {0, 0, 1, 0})));
  HybridSearch hs(*db_);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto r, hs.Query({.query = "machine learning", .embedding = {1, 0, 0, 0}}));
  ASSERT_GE(r.size(), 3u);
  EXPECT_EQ(r[0].id, "ml");
  EXPECT_EQ(r[0].fts_rank, 1);
  EXPECT_EQ(r[0].vector_rank, 1);
  EXPECT_NEAR(r[0].score, 2.0 / 61, 1e-12);
  for (const auto& x : r) EXPECT_NEAR(x.score, RrfScore(x.fts_rank, x.vector_rank, 1, 1, 60), 1e-12);
  // Porter stemming: "machines" matches "machine".
  DOTDO_ASSERT_OK_AND_ASSIGN(auto text, hs.Query({.query = "machines"}));
  EXPECT_EQ(text.size(), 2u);
  for (const auto& x : text) EXPECT_FALSE(x.vector_rank.has_value());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto vec, hs.Query({.embedding = {0, 0, 1, 0}, .limit = 1}));
  ASSERT_EQ(vec.size(), 1u);
  EXPECT_EQ(vec[0].id, "none");
  EXPECT_FALSE(vec[0].fts_rank.has_value());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto where, hs.Query({.query = "learning", .where = {{"lang", "de"}}}));
  ASSERT_EQ(where.size(), 1u);
  EXPECT_EQ(where[0].id, "deep");
  DOTDO_ASSERT_OK_AND_ASSIGN(auto all, hs.Query({.query = "machine compared", .mode = FtsQueryMode::kAllTerms}));
  ASSERT_EQ(all.size(), 1u);
  // User syntax in plain mode is searched as words, never parsed.
  for (const std::string q : {"\"unbalanced", "NEAR", "*", "content: machine", "a OR", "(", "NEAR(a b", "\"\"\"", "^x"}) {
    DOTDO_EXPECT_OK(hs.Query({.query = q})) << q;
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto col, hs.Query({.query = "content:machine"}));
  EXPECT_TRUE(col.empty());
  // Raw mode: valid syntax works, errors are typed without SQL.
  DOTDO_EXPECT_OK(hs.Query({.query = "machin*", .mode = FtsQueryMode::kRaw}));
  for (const std::string q : {"\"unbalanced", "NEAR(", "*", "(", "a AND", "nosuchcolumn: x"}) {
    auto bad = hs.Query({.query = q, .mode = FtsQueryMode::kRaw});
    EXPECT_THAT(bad, StatusIs(StatusCode::kInvalidArgument, "FTS5 syntax")) << q;
    if (!bad.ok()) {
      EXPECT_EQ(bad.status().message().find("SELECT"), std::string::npos);
    }
  }
  EXPECT_THAT(hs.Query({}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(hs.Query({.query = "x", .rrf_k = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(hs.Query({.embedding = {1, 2}}), StatusIs(StatusCode::kInvalidArgument));
  // Deleted records leave the text index too.
  DOTDO_ASSERT_OK(vs.Delete("cook").status());
  DOTDO_ASSERT_OK_AND_ASSIGN(text, hs.Query({.query = "cooking"}));
  EXPECT_TRUE(text.empty());
}

TEST(VectorPersistenceTest, ReopenLoadsTheSavedIndexAndReplaysLaterChanges) {
  testing::ScratchDir dir;
  const int dim = 16;
  auto data = Clustered(400, dim, 9);
  {
    auto db = Database::Open(dir.path(), "ns").value();
    auto vs = VectorStore::Open(*db, {.dimension = dim}).value();
    for (int i = 0; i < 300; ++i) DOTDO_ASSERT_OK(vs.Insert(Rec("v" + std::to_string(i), data[static_cast<size_t>(i)])));
    DOTDO_ASSERT_OK(vs.SaveIndex());
    DOTDO_ASSERT_OK_AND_ASSIGN(VectorStats st, vs.Stats());
    EXPECT_GT(st.index_seq, 0);
    // After the save: more inserts and deletes that only the log holds.
    for (int i = 300; i < 400; ++i) DOTDO_ASSERT_OK(vs.Insert(Rec("v" + std::to_string(i), data[static_cast<size_t>(i)])));
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(vs.Delete("v" + std::to_string(i)).value());
  }
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    files += e.path().filename().string().find(".vec-") != std::string::npos;
  EXPECT_EQ(files, 1);
  auto db = Database::Open(dir.path(), "ns").value();
  auto vs = VectorStore::Open(*db, {}).value();
  for (int i = 0; i < 400; i += 7) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto r, vs.Search({.embedding = data[static_cast<size_t>(i)], .limit = 5, .ef = 200}));
    if (i < 50) {
      for (const auto& x : r) EXPECT_NE(x.id, "v" + std::to_string(i));
    } else {
      ASSERT_FALSE(r.empty());
      EXPECT_EQ(r[0].id, "v" + std::to_string(i));
    }
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(VectorStats st, vs.Stats());
  EXPECT_EQ(st.count, 350);
  EXPECT_EQ(st.index_elements - st.index_deleted, 350);
  // A corrupt index file is rebuilt from the records.
  DOTDO_ASSERT_OK(vs.SaveIndex());
  db.reset();
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    if (e.path().filename().string().find(".vec-") != std::string::npos) std::filesystem::resize_file(e.path(), 100);
  db = Database::Open(dir.path(), "ns").value();
  vs = VectorStore::Open(*db, {}).value();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto r, vs.Search({.embedding = data[200], .limit = 1}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, "v200");
}

// The graph is walked on int8 codes and its beam re-ranked on float32: recall stays above a floor,
// scores are the exact metric, and that holds after a save, deletes and a reopen, for both spaces.
TEST(VectorIndexTest, Int8GraphKeepsRecallAndExactScoresAcrossDeletesAndReopen) {
  const int dim = 40;  // not a multiple of the 32-byte code padding
  auto data = Clustered(3000, dim, 21, 30);
  for (VectorMetric metric : {VectorMetric::kCosine, VectorMetric::kL2}) {
    SCOPED_TRACE(std::string(VectorMetricName(metric)));
    testing::ScratchDir dir;
    std::map<std::string, std::vector<float>> model;  // as stored (normalized under cosine)
    auto exact = [&](const std::vector<float>& q, const std::vector<float>& v) {
      double s = 0;
      for (int i = 0; i < dim; ++i) s += metric == VectorMetric::kL2 ? (q[i] - v[i]) * (q[i] - v[i]) : q[i] * v[i];
      return metric == VectorMetric::kL2 ? -std::sqrt(s) : s;
    };
    auto check = [&](VectorStore& vs) {
      double recall = 0;
      std::mt19937 rng(5);
      for (int n = 0; n < 40; ++n) {
        std::vector<float> q = data[rng() % data.size()];
        for (float& x : q) x += 0.05f;
        if (metric == VectorMetric::kCosine) q = TruncateEmbedding(q, dim);
        std::vector<std::pair<double, std::string>> truth;
        for (const auto& [id, v] : model) truth.emplace_back(-exact(q, v), id);
        std::sort(truth.begin(), truth.end());
        std::vector<std::string> top;
        for (size_t i = 0; i < 10; ++i) top.push_back(truth[i].second);
        DOTDO_ASSERT_OK_AND_ASSIGN(auto r, vs.Search({.embedding = q, .limit = 10, .ef = 64}));
        ASSERT_EQ(r.size(), 10u);
        for (size_t i = 0; i < r.size(); ++i) {
          ASSERT_TRUE(model.count(r[i].id)) << "a deleted record was served";
          EXPECT_NEAR(r[i].score, exact(q, model[r[i].id]), 1e-4);
          EXPECT_EQ(r[i].stage, SearchStage::kHnsw);
          if (i > 0) {
            EXPECT_GE(r[i - 1].score, r[i].score);
          }
        }
        recall += Recall(Ids(r), top) / 40;
      }
      EXPECT_GE(recall, 0.95);
    };
    {
      auto db = Database::Open(dir.path(), "ns").value();
      auto vs = VectorStore::Open(*db, {.dimension = dim, .metric = metric}).value();
      std::vector<VectorRecord> batch;
      for (size_t i = 0; i < data.size(); ++i) batch.push_back(Rec("v" + std::to_string(i), data[i]));
      DOTDO_ASSERT_OK(vs.InsertBatch(std::move(batch)).status());
      for (size_t i = 0; i < data.size(); ++i) model["v" + std::to_string(i)] = vs.Get("v" + std::to_string(i))->embedding;
      check(vs);
      DOTDO_ASSERT_OK(vs.SaveIndex());
      for (size_t i = 0; i < data.size(); i += 5) {
        ASSERT_TRUE(vs.Delete("v" + std::to_string(i)).value());
        model.erase("v" + std::to_string(i));
      }
      check(vs);
    }
    bool int8_file = false;
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
      int8_file = int8_file || e.path().filename().string().ends_with(".i8.hnsw");
    EXPECT_TRUE(int8_file);
    auto db = Database::Open(dir.path(), "ns").value();
    auto vs = VectorStore::Open(*db, {}).value();
    check(vs);  // the saved graph, its float32 vectors from the records, the deletes replayed
    DOTDO_ASSERT_OK(vs.Compact());
    check(vs);
  }
}

// A namespace written by the previous schema (vectors inline in vec_records, an HNSW file of the
// float32 format) opens: the migration moves the vectors to vec_vectors, labels go on from where
// they were, the old file is ignored (rebuilt from the records) and removed by the next save.
TEST(VectorMigrationTest, AFileOfSchemaVersion1OpensWithItsVectors) {
  testing::ScratchDir dir;
  const std::vector<std::vector<float>> vecs = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}};
  {
    auto db = Database::Open(dir.path(), "old").value();
    DOTDO_ASSERT_OK(internal::DatabaseInternals::EnsureSchema(*db, "vector", internal::VectorMigrations().first(1)));
    auto& conn = internal::DatabaseInternals::Conn(*db);
    DOTDO_ASSERT_OK(conn.Exec("INSERT INTO vec_config(key, value) VALUES ('dimension', '4'), ('metric', 'cosine'), "
                              "('matryoshka_dims', '[]'), ('lsh_bits', '16'), ('index_seq', '3')"));
    for (size_t i = 0; i < vecs.size(); ++i) {
      auto st = conn.Prepare("INSERT INTO vec_records(id, type, content, metadata, embedding, binary, lsh, pq, created_at, "
                             "updated_at) VALUES (?1, 'Doc', ?2, jsonb('{\"n\": 1}'), ?3, ?4, 0, NULL, 1, 1)").value();
      const auto bits = BinaryCode(vecs[i]);
      st.Bind(1, std::string(1, static_cast<char>('a' + i))).Bind(2, "text " + std::to_string(i));
      st.BindBlob(3, std::string_view(reinterpret_cast<const char*>(vecs[i].data()), vecs[i].size() * sizeof(float)));
      st.BindBlob(4, std::string_view(reinterpret_cast<const char*>(bits.data()), bits.size()));
      DOTDO_ASSERT_OK(st.Run());
      DOTDO_ASSERT_OK(conn.Exec("INSERT INTO vec_log(label) VALUES (" + std::to_string(i + 1) + ")"));
    }
    std::ofstream(dir.path() / "old.sqlite.vec-3.hnsw") << "a float32 index of the previous format";
  }
  auto db = Database::Open(dir.path(), "old").value();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto vs, VectorStore::Open(*db, {}));
  DOTDO_ASSERT_OK_AND_ASSIGN(VectorRecord b, vs.Get("b"));
  EXPECT_EQ(b.embedding, vecs[1]);
  EXPECT_EQ(b.metadata, Json({{"n", 1}}));
  DOTDO_ASSERT_OK(vs.Insert(Rec("d", {0, 0, 0.9f, 0.1f})));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto r, vs.Search({.embedding = {0, 0, 1, 0}, .limit = 2}));
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"c", "d"}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto f, vs.Search({.embedding = {0, 1, 0, 0}, .limit = 1, .filter = {{"n", 1}}}));
  EXPECT_EQ(Ids(f), std::vector<std::string>{"b"});
  ASSERT_TRUE(vs.Delete("a").value());
  DOTDO_ASSERT_OK_AND_ASSIGN(Json rows, db->QueryReadOnly(
      "SELECT (SELECT label FROM vec_records WHERE id = 'd') AS d, (SELECT COUNT(*) FROM vec_vectors) AS vectors, "
      "(SELECT COUNT(*) FROM pragma_table_info('vec_records') WHERE name IN ('embedding', 'binary', 'pq')) AS inline, "
      "(SELECT value FROM meta WHERE key = 'schema.vector') AS version"));
  EXPECT_EQ(rows[0]["d"], 4);
  EXPECT_EQ(rows[0]["vectors"], 3);
  EXPECT_EQ(rows[0]["inline"], 0);
  EXPECT_EQ(rows[0]["version"], "3");
  DOTDO_ASSERT_OK(vs.SaveIndex());
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    if (e.path().filename().string().find(".vec-") != std::string::npos) files.push_back(e.path().filename().string());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(files[0].ends_with(".i8.hnsw")) << files[0];
}

TEST(VectorModelTest, RandomOperationsMatchAnInMemoryModel) {
  auto db = testing::OpenMemoryDb();
  const int dim = 8;
  auto vs = VectorStore::Open(*db, {.dimension = dim, .hnsw_ef_search = 400}).value();
  std::map<std::string, std::vector<float>> model;
  std::mt19937 rng(21);
  for (int step = 0; step < 1500; ++step) {
    const std::string id = "k" + std::to_string(rng() % 200);
    const int op = static_cast<int>(rng() % 10);
    auto v = RandomVec(rng, dim);
    if (op < 4) {
      Status s = vs.Insert(Rec(id, v));
      if (model.count(id)) {
        EXPECT_THAT(s, StatusIs(StatusCode::kAlreadyExists));
      } else {
        DOTDO_ASSERT_OK(s);
        model[id] = TruncateEmbedding(v, 0);
      }
    } else if (op < 7) {
      DOTDO_ASSERT_OK(vs.Upsert(Rec(id, v)));
      model[id] = TruncateEmbedding(v, 0);
    } else if (op < 9) {
      DOTDO_ASSERT_OK_AND_ASSIGN(bool gone, vs.Delete(id));
      EXPECT_EQ(gone, model.erase(id) == 1);
    } else {
      // A rolled-back transaction changes neither the store nor the index.
      Status s = db->Transaction([&]() -> Status {
        DOTDO_RETURN_IF_ERROR(vs.Upsert(Rec(id, v)));
        DOTDO_ASSIGN_OR_RETURN(auto inside, vs.Search({.embedding = v, .limit = 1}));
        EXPECT_EQ(inside.at(0).id, id);
        return AbortedError("roll back");
      });
      EXPECT_THAT(s, StatusIs(StatusCode::kAborted));
    }
    if (step % 25 == 0) {
      auto got = vs.Get(id);
      if (model.count(id)) {
        ASSERT_THAT(got, testing::IsOk());
        EXPECT_EQ(got->embedding, model[id]);
      } else {
        EXPECT_THAT(got, StatusIs(StatusCode::kNotFound));
      }
      DOTDO_ASSERT_OK_AND_ASSIGN(auto r, vs.Search({.embedding = v, .limit = 5}));
      EXPECT_EQ(Ids(r), BruteForce(model, v, 5)) << "step " << step;
    }
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(VectorStats st, vs.Stats());
  EXPECT_EQ(st.count, static_cast<int64_t>(model.size()));
}

TEST(VectorCliTest, InsertSearchHybridGetRmStats) {
  testing::ScratchDir dir;
  testing::CliNamespace cli(DOTDO_CLI_PATH, dir.path(), "cli");
  Json r = cli.RunOk({"vec", "insert", "--id", "a", "--embedding", "[1,0,0,0]", "--content", "machine learning"});
  EXPECT_EQ(r["written"], 1);
  // A .npy batch (format 1.0, '<f4', C order, shape (2, 4)).
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }";
  header.resize(117, ' ');
  header += '\n';
  std::string npy = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
  const float rows[8] = {0, 1, 0, 0, 0, 0, 1, 0};
  npy.append(reinterpret_cast<const char*>(rows), sizeof rows);
  const auto file = dir.path() / "batch.npy";
  std::ofstream(file, std::ios::binary) << npy;
  r = cli.RunOk({"vec", "insert", "--batch", file.string(), "--id-prefix", "n"});
  EXPECT_EQ(r["written"], 2);
  r = cli.RunOk({"vec", "search", "--embedding", "[0,0.9,0.1,0]", "--limit", "2"});
  ASSERT_EQ(r["results"].size(), 2u);
  EXPECT_EQ(r["results"][0]["id"], "n0");
  EXPECT_EQ(r["results"][0]["stage"], "hnsw");
  r = cli.RunOk({"vec", "hybrid", "--query", "machine", "--embedding", "[0,0,1,0]"});
  EXPECT_EQ(r["results"][0]["ftsRank"], 1);
  r = cli.RunOk({"vec", "get", "n1"});
  EXPECT_EQ(r["embedding"], Json::parse("[0,0,1,0]"));
  r = cli.RunOk({"vec", "rm", "a"});
  EXPECT_EQ(r["removed"], true);
  r = cli.RunOk({"vec", "stats"});
  EXPECT_EQ(r["count"], 2);
  EXPECT_EQ(cli.Run({"vec", "hybrid", "--query", "\"x", "--mode", "raw"}).exit_code, 2);
  EXPECT_EQ(cli.Run({"vec", "insert", "--id", "z", "--embedding", "[1,2]"}).exit_code, 2);
  EXPECT_EQ(cli.Run({"vec", "get", "nope"}).exit_code, 3);
}

}  // namespace
}  // namespace dotdo
