// VectorStoreOptions::indexed_metadata_paths: the expression index is created (by the first write,
// or by Open on a namespace that has records), SQLite uses it for the filter's plain scalar form
// (EXPLAIN QUERY PLAN, and far fewer rows read), filtered searches answer the same with and without
// it, an array on the path (multikey) falls back to the array-aware form and stays exact, bad paths
// are rejected, and a rolled-back write leaves no index behind. Also: stored metadata decoded straight
// from JSONB equals what json() + the parser give, and the fast path declines what it does not know.
#include <map>
#include <random>
#include <set>

#include "core/database_internals.h"
#include "dotdo/vector.h"
#include "testing/test_util.h"
#include "vector/vector_internal.h"

namespace dotdo {
namespace {

using internal::DatabaseInternals;
using testing::StatusIs;

std::vector<float> RandomUnit(std::mt19937& rng, int dim) {
  std::normal_distribution<float> n(0, 1);
  std::vector<float> v(static_cast<size_t>(dim));
  for (float& x : v) x = n(rng);
  return v;
}

VectorRecord Rec(int i, std::vector<float> e, Json meta) {
  VectorRecord r;
  r.id = "v" + std::to_string(i);
  r.embedding = std::move(e);
  r.metadata = std::move(meta);
  return r;
}

// The metadata of record i: a rare boolean, a string category and a number.
Json Meta(int i) { return {{"rare", i % 1000 == 7}, {"cat", "c" + std::to_string(i % 50)}, {"n", i % 200}}; }

std::vector<std::string> Ids(const std::vector<VectorSearchResult>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.id);
  return out;
}

// EXPLAIN QUERY PLAN of the filtered scan the search runs, one detail per line.
std::string PlanOf(Database& db, const Json& where) {
  auto compiled = internal::CompileVectorFilter(db, where);
  EXPECT_THAT(compiled, testing::IsOk());
  auto& conn = DatabaseInternals::Conn(db);
  auto st = conn.PrepareUncached("EXPLAIN QUERY PLAN SELECT r.label FROM vec_records AS r CROSS JOIN vec_vectors AS v "
                                 "ON v.label = r.label WHERE " + compiled->sql);
  EXPECT_THAT(st, testing::IsOk());
  st->BindValues(compiled->params);
  std::string plan;
  for (;;) {
    auto row = st->Step();
    EXPECT_THAT(row, testing::IsOk());
    if (!row.ok() || !*row) break;
    plan += std::string(st->ColumnText(3)) + "\n";
  }
  return plan;
}

class VectorMetadataIndexTest : public ::testing::Test {
 protected:
  static constexpr int kDim = 16, kN = 5000;
  void SetUp() override {
    std::mt19937 rng(5);
    for (int i = 0; i < kN; ++i) data_.push_back(RandomUnit(rng, kDim));
    for (int i = 0; i < 20; ++i) queries_.push_back(RandomUnit(rng, kDim));
  }
  // A store over its own in-memory namespace holding the kN records.
  std::unique_ptr<Database> Fill(std::vector<std::string> paths) {
    auto db = testing::OpenMemoryDb();
    auto vs = VectorStore::Open(*db, {.dimension = kDim, .pq_train_threshold = 1 << 30, .indexed_metadata_paths = paths});
    EXPECT_THAT(vs, testing::IsOk());
    std::vector<VectorRecord> batch;
    for (int i = 0; i < kN; ++i) batch.push_back(Rec(i, data_[static_cast<size_t>(i)], Meta(i)));
    EXPECT_THAT(vs->InsertBatch(std::move(batch)), testing::IsOk());
    return db;
  }
  std::vector<std::vector<float>> data_, queries_;
};

TEST_F(VectorMetadataIndexTest, FilterOnAnIndexedPathUsesTheIndexAndReadsFewRows) {
  auto indexed = Fill({"rare", "cat", "n"});
  auto plain = Fill({});
  for (const Json& where : {Json{{"rare", true}}, Json{{"cat", "c7"}}, Json{{"n", 7}}, Json{{"n", {{"$gte", 198}}}},
                            Json{{"cat", {{"$in", {"c1", "c2"}}}}}}) {
    const std::string plan = PlanOf(*indexed, where);
    EXPECT_NE(plan.find("INDEX vec_ix_"), std::string::npos) << where.dump() << "\n" << plan;
    EXPECT_EQ(PlanOf(*plain, where).find("INDEX vec_ix_"), std::string::npos) << where.dump();
  }
  auto a = VectorStore::Open(*indexed, {});
  auto b = VectorStore::Open(*plain, {});
  ASSERT_THAT(a, testing::IsOk());
  ASSERT_THAT(b, testing::IsOk());
  // Warm both (index catch-up), then count the rows one filtered search reads.
  DOTDO_ASSERT_OK(a->Search({.embedding = queries_[0]}).status());
  DOTDO_ASSERT_OK(b->Search({.embedding = queries_[0]}).status());
  const int64_t before_a = indexed->stats().rows_read, before_b = plain->stats().rows_read;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ra, a->Search({.embedding = queries_[0], .limit = 3, .filter = {{"rare", true}}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rb, b->Search({.embedding = queries_[0], .limit = 3, .filter = {{"rare", true}}}));
  const int64_t read_a = indexed->stats().rows_read - before_a, read_b = plain->stats().rows_read - before_b;
  EXPECT_EQ(Ids(ra), Ids(rb));
  EXPECT_LT(read_a, 100) << "5 matching rows should be an index range";
  EXPECT_GE(read_b, kN) << "without the index every record is scanned";
}

TEST_F(VectorMetadataIndexTest, FilteredSearchesAnswerTheSameWithAndWithoutTheIndex) {
  auto indexed = Fill({"rare", "cat", "n"});
  auto plain = Fill({});
  auto a = VectorStore::Open(*indexed, {});
  auto b = VectorStore::Open(*plain, {});
  ASSERT_THAT(a, testing::IsOk());
  ASSERT_THAT(b, testing::IsOk());
  const std::vector<Json> filters = {
      {{"rare", true}}, {{"rare", false}}, {{"cat", "c3"}}, {{"n", {{"$lt", 3}}}}, {{"n", {{"$in", {5, 6, 7}}}}},
      {{"cat", {{"$ne", "c3"}}}}, {{"$or", {{{"rare", true}}, {{"cat", "c9"}}}}}, {{"n", "7"}}, {{"missing", {{"$exists", true}}}}};
  for (const Json& where : filters) {
    for (size_t q = 0; q < queries_.size(); q += 5) {
      DOTDO_ASSERT_OK_AND_ASSIGN(auto ra, a->Search({.embedding = queries_[q], .limit = 10, .filter = where}));
      DOTDO_ASSERT_OK_AND_ASSIGN(auto rb, b->Search({.embedding = queries_[q], .limit = 10, .filter = where}));
      EXPECT_EQ(Ids(ra), Ids(rb)) << where.dump();
      for (size_t i = 0; i < std::min(ra.size(), rb.size()); ++i) {
        EXPECT_DOUBLE_EQ(ra[i].score, rb[i].score);
        EXPECT_EQ(ra[i].stage, rb[i].stage);
      }
    }
  }
}

TEST_F(VectorMetadataIndexTest, AnArrayOnThePathMakesItMultikeyAndKeepsMatchesInsideArrays) {
  auto db = Fill({"cat"});
  auto vs = VectorStore::Open(*db, {});
  ASSERT_THAT(vs, testing::IsOk());
  EXPECT_NE(PlanOf(*db, {{"cat", "c7"}}).find("INDEX vec_ix_"), std::string::npos);
  // A record whose "cat" is an array holding "c7": the filter must still find it.
  DOTDO_ASSERT_OK(vs->Insert(Rec(kN, queries_[1], {{"cat", {"zz", "c7"}}})));
  EXPECT_EQ(PlanOf(*db, {{"cat", "c7"}}).find("INDEX vec_ix_"), std::string::npos)
      << "a multikey path is compiled to the array-aware form";
  DOTDO_ASSERT_OK_AND_ASSIGN(auto r, vs->Search({.embedding = queries_[1], .limit = 1, .filter = {{"cat", "c7"}}}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, "v" + std::to_string(kN));
  // The flag is sticky: deleting the record does not make the path scalar again.
  DOTDO_ASSERT_OK(vs->Delete("v" + std::to_string(kN)).status());
  EXPECT_EQ(PlanOf(*db, {{"cat", "c7"}}).find("INDEX vec_ix_"), std::string::npos);
}

TEST_F(VectorMetadataIndexTest, OpenIndexesAnExistingStoreAndMarksExistingArrays) {
  auto db = testing::OpenMemoryDb();
  {
    auto vs = VectorStore::Open(*db, {.dimension = kDim});
    ASSERT_THAT(vs, testing::IsOk());
    DOTDO_ASSERT_OK(vs->Insert(Rec(1, data_[1], {{"tags", {"a", "b"}}, {"k", "x"}})));
    DOTDO_ASSERT_OK(vs->Insert(Rec(2, data_[2], {{"k", "y"}})));
  }
  auto vs = VectorStore::Open(*db, {.indexed_metadata_paths = {"k", "tags"}});
  ASSERT_THAT(vs, testing::IsOk());
  EXPECT_NE(PlanOf(*db, {{"k", "x"}}).find("INDEX vec_ix_"), std::string::npos);
  EXPECT_EQ(PlanOf(*db, {{"tags", "a"}}).find("INDEX vec_ix_"), std::string::npos);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto r, vs->Search({.embedding = data_[1], .filter = {{"tags", "b"}}}));
  EXPECT_EQ(Ids(r), std::vector<std::string>{"v1"});
  DOTDO_ASSERT_OK_AND_ASSIGN(r, vs->Search({.embedding = data_[1], .filter = {{"k", "y"}}}));
  EXPECT_EQ(Ids(r), std::vector<std::string>{"v2"});
  // Opening again with the same paths writes nothing (no transaction, no new index).
  const int64_t written = db->stats().rows_written;
  ASSERT_THAT(VectorStore::Open(*db, {.indexed_metadata_paths = {"tags", "k"}}), testing::IsOk());
  EXPECT_EQ(db->stats().rows_written, written);
}

TEST_F(VectorMetadataIndexTest, BadPathsAreRejectedAndARolledBackWriteLeavesNoIndex) {
  auto db = testing::OpenMemoryDb();
  EXPECT_THAT(VectorStore::Open(*db, {.dimension = kDim, .indexed_metadata_paths = {"$type"}}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(VectorStore::Open(*db, {.dimension = kDim, .indexed_metadata_paths = {"a..b"}}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(VectorStore::Open(*db, {.dimension = kDim, .indexed_metadata_paths = std::vector<std::string>(33, "a")}),
              StatusIs(StatusCode::kInvalidArgument));
  // A handle opened before the namespace had tables creates its index in its first write; when that
  // write fails (a taken id), the index goes with it.
  auto late = VectorStore::Open(*db, {.dimension = kDim, .indexed_metadata_paths = {"k"}});
  ASSERT_THAT(late, testing::IsOk());
  auto first = VectorStore::Open(*db, {.dimension = kDim});
  ASSERT_THAT(first, testing::IsOk());
  DOTDO_ASSERT_OK(first->Insert(Rec(1, data_[1], {{"k", 1}})));
  EXPECT_THAT(late->Insert(Rec(1, data_[1], {{"k", 1}})), StatusIs(StatusCode::kAlreadyExists));
  EXPECT_EQ(PlanOf(*db, {{"k", 1}}).find("INDEX vec_ix_"), std::string::npos);
  DOTDO_ASSERT_OK(late->Insert(Rec(2, data_[2], {{"k", 2}})));
  EXPECT_NE(PlanOf(*db, {{"k", 1}}).find("INDEX vec_ix_"), std::string::npos);
  auto& conn = DatabaseInternals::Conn(*db);
  auto count = conn.Prepare("SELECT COUNT(*) FROM vec_indexes");
  ASSERT_THAT(count, testing::IsOk());
  DOTDO_ASSERT_OK_AND_ASSIGN(bool row, count->Step());
  ASSERT_TRUE(row);
  EXPECT_EQ(count->ColumnInt64(0), 1);
}

// jsonb(text) by SQLite, then both decoders.
std::pair<std::optional<Json>, Json> BothDecodings(Database& db, const std::string& text) {
  auto& conn = DatabaseInternals::Conn(db);
  auto st = conn.PrepareUncached("SELECT jsonb(?1), json(jsonb(?1))");
  EXPECT_THAT(st, testing::IsOk());
  st->Bind(1, text);
  auto row = st->Step();
  EXPECT_THAT(row, testing::IsOk());
  auto parsed = internal::ParseMetadata(st->ColumnText(1));
  EXPECT_THAT(parsed, testing::IsOk());
  return {internal::DecodeJsonb(st->ColumnBlob(0)), parsed.ok() ? *parsed : Json()};
}

TEST(VectorJsonbTest, DecodingStoredMetadataMatchesTheTextPath) {
  auto db = testing::OpenMemoryDb();
  const std::vector<std::string> docs = {
      R"({})", R"({"rare":false,"n":7,"neg":-3,"f":1.5e-7,"s":"plain"})",
      R"({"esc":"q\"uote\\ \u00e9 \ud83d\ude00 \n","big":18446744073709551615,"huge":1e308,"min":-9223372036854775808})",
      R"({"a":{"b":[1,[2,{"c":null}],true]},"empty":[],"o":{}})",
      R"({"long":")" + std::string(70000, 'x') + R"("})",
      R"({"k":"v","k":"w"})"};
  for (const std::string& text : docs) {
    auto [fast, slow] = BothDecodings(*db, text);
    ASSERT_TRUE(fast.has_value()) << text.substr(0, 80);
    EXPECT_EQ(*fast, slow) << text.substr(0, 80);
    EXPECT_EQ(fast->dump(), slow.dump());
  }
  // JSON5 forms (hex integers) and nesting deeper than the fast path's limit go to the parser.
  EXPECT_FALSE(BothDecodings(*db, R"({"h":0x1F})").first.has_value());
  const std::string deep = "{\"d\":" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_FALSE(BothDecodings(*db, deep).first.has_value());
  EXPECT_FALSE(internal::DecodeJsonb(std::string("\xcc\x05", 2)).has_value()) << "truncated size";
  EXPECT_FALSE(internal::DecodeJsonb("").has_value());
  // A record whose metadata only the slow path decodes is still served whole.
  auto vs = VectorStore::Open(*db, {.dimension = 2});
  ASSERT_THAT(vs, testing::IsOk());
  Json nested = Json::array();
  for (int i = 0; i < 40; ++i) nested = Json::array({nested});
  DOTDO_ASSERT_OK(vs->Insert(Rec(1, {1, 0}, {{"d", nested}})));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto r, vs->Search({.embedding = {1, 0}, .limit = 1, .with_metadata = true}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].metadata, (Json{{"d", nested}}));
}

}  // namespace
}  // namespace dotdo

