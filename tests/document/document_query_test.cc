// DocumentStore queries: every filter operator (data-driven table), logical combinators, sort with
// mixed types and missing values, stable keyset pagination, projection, expression indexes used
// by the plan for every indexed operator, and injection attempts through paths, values and types.
#include "dotdo/document.h"

#include <algorithm>
#include <random>

#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

class DocumentQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const Json& d : {
             Json{{"$id", "p1"}, {"name", "Ada"}, {"age", 36}, {"city", "Paris"}, {"tags", {"a", "b"}}, {"vip", true}, {"score", 1.5}},
             Json{{"$id", "p2"}, {"name", "Bob"}, {"age", 20}, {"city", "Lyon"}, {"vip", false}},
             Json{{"$id", "p3"}, {"name", "Cy"}, {"age", "unknown"}, {"city", nullptr}},
             Json{{"$id", "p4"}, {"name", "Dee"}, {"age", 50}, {"nested", {{"x", 1}}}},
             Json{{"$id", "p5"}, {"name", "eve"}, {"age", 36}},
         }) {
      Json doc = d;
      doc["$type"] = "P";
      ASSERT_THAT(store_.Create(doc), IsOk());
    }
    ASSERT_THAT(store_.Create({{"$id", "o1"}, {"$type", "Other"}, {"name", "Ada"}, {"age", 36}}), IsOk());
  }

  // Names of the matching documents, in result order.
  std::vector<std::string> Names(const Json& where, std::vector<DocumentSortKey> sort = {}) {
    DocumentQueryOptions q;
    q.type = "P";
    q.where = where;
    q.sort = std::move(sort);
    auto page = store_.Query(q);
    EXPECT_THAT(page, IsOk()) << where.dump();
    std::vector<std::string> out;
    if (page.ok())
      for (const Json& d : page->items) out.push_back(d["name"]);
    return out;
  }

  ManualClock clock_;
  std::unique_ptr<Database> db_ = testing::OpenMemoryDb(&clock_);
  DocumentStore store_{*db_};
};

using NameList = std::vector<std::string>;

TEST_F(DocumentQueryTest, EveryOperatorMatchesTheDocumentedSemantics) {
  const std::vector<std::pair<Json, NameList>> cases = {
      {Json::object(), {"Ada", "Bob", "Cy", "Dee", "eve"}},
      {{{"age", 36}}, {"Ada", "eve"}},
      {{{"age", {{"$eq", 36}}}}, {"Ada", "eve"}},
      {{{"age", {{"$ne", 36}}}}, {"Bob", "Cy", "Dee"}},
      {{{"age", {{"$gt", 30}}}}, {"Ada", "Dee", "eve"}},  // numbers only: "unknown" is not > 30
      {{{"age", {{"$gte", 50}}}}, {"Dee"}},
      {{{"age", {{"$lt", 36}}}}, {"Bob"}},
      {{{"age", {{"$lte", 36}}}}, {"Ada", "Bob", "eve"}},
      {{{"age", {{"$gt", "a"}}}}, {"Cy"}},  // strings only
      {{{"age", {{"$lt", "zzz"}}}}, {"Cy"}},
      {{{"age", {{"$in", {20, 50}}}}}, {"Bob", "Dee"}},
      {{{"age", {{"$in", {"unknown", 36}}}}}, {"Ada", "Cy", "eve"}},
      {{{"age", {{"$nin", {20, 50}}}}}, {"Ada", "Cy", "eve"}},
      {{{"nested", {{"$nin", {1}}}}}, {"Ada", "Bob", "Cy", "Dee", "eve"}},  // missing counts as "not in"
      {{{"city", {{"$exists", true}}}}, {"Ada", "Bob", "Cy"}},  // JSON null exists
      {{{"city", {{"$exists", false}}}}, {"Dee", "eve"}},
      {{{"city", nullptr}}, {"Cy", "Dee", "eve"}},  // null matches null and missing
      {{{"city", {{"$ne", nullptr}}}}, {"Ada", "Bob"}},
      {{{"name", {{"$like", "%e"}}}}, {"Dee", "eve"}},
      {{{"name", {{"$like", "a%"}}}}, {"Ada"}},  // LIKE is case-insensitive for ASCII
      {{{"age", {{"$like", "3%"}}}}, NameList{}},   // $like matches strings only
      {{{"vip", true}}, {"Ada"}},
      {{{"vip", false}}, {"Bob"}},
      {{{"vip", {{"$ne", true}}}}, {"Bob", "Cy", "Dee", "eve"}},
      {{{"nested.x", 1}}, {"Dee"}},
      {{{"tags.1", "b"}}, {"Ada"}},
      {{{"score", {{"$gt", 1}}}}, {"Ada"}},
      {{{"$or", {{{"age", 20}}, {{"name", "Dee"}}}}}, {"Bob", "Dee"}},
      {{{"$and", {{{"age", {{"$gte", 20}}}}, {{"age", {{"$lt", 40}}}}}}}, {"Ada", "Bob", "eve"}},
      {{{"age", {{"$gte", 20}, {"$lt", 40}}}}, {"Ada", "Bob", "eve"}},
      {{{"$not", {{"age", 36}}}}, {"Bob", "Cy", "Dee"}},
      {{{"$not", {{"city", "Paris"}}}}, {"Bob", "Cy", "Dee", "eve"}},  // unknown inside $not counts as not matching
      {{{"$not", {{"$or", {{{"age", 36}}, {{"age", 20}}}}}}}, {"Cy", "Dee"}},
      {{{"$id", {{"$in", {"p1", "p3"}}}}}, {"Ada", "Cy"}},
      {{{"$id", "o1"}}, NameList{}},
      {{{"$version", 1}, {"name", "Bob"}}, {"Bob"}},
      {{{"$type", "P"}, {"age", 20}}, {"Bob"}},
      {{{"name", "x'); DROP TABLE doc_documents; --"}}, NameList{}},
  };
  for (const auto& [where, expected] : cases) {
    EXPECT_EQ(Names(where), expected) << where.dump();
    DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, store_.Count("P", where));
    EXPECT_EQ(n, static_cast<int64_t>(expected.size())) << where.dump();
  }
}

TEST_F(DocumentQueryTest, MalformedFiltersAreRejectedWithTheReason) {
  const std::vector<std::pair<Json, std::string>> cases = {
      {{{"age", {{"$regex", "("}}}}, "$regex pattern does not compile"},
      {{{"$expr", Json::array({{{"a", 1}}})}}, "unknown operator '$expr'"},
      {{{"age", {{"$in", 5}}}}, "$in on 'age' takes an array of values"},
      {{{"age", {{"$size", "2"}}}}, "$size on 'age' takes a non-negative integer"},
      {{{"age", {{"$gt", Json::array({1})}}}}, "$gt on 'age' takes a number, a string or a boolean"},
      {{{"age", {{"$gt", nullptr}}}}, "takes a number, a string or a boolean"},
      {{{"age", {{"$exists", 1}}}}, "true or false"},
      {{{"age", {{"$like", 1}}}}, "LIKE pattern"},
      {{{"age", {{"$gt", 1}, {"x", 1}}}}, "mixes operators and field names"},
      {{{"age", {{"$not", 1}}}}, "takes an operator object"},
      {{{"a b", 1}}, "invalid path"},
      {{{"a..b", 1}}, "invalid path"},
      {{{"a'); DROP TABLE doc_documents; --", 1}}, "invalid path"},
      {{{"$or", Json::object()}}, "$or takes a non-empty array"},
      {{{"$or", Json::array({1})}}, "array of filter objects"},
      {{{"$not", Json::array()}}, "$not takes a filter object"},
      {Json::array(), "must be a JSON object"},
  };
  for (const auto& [where, message] : cases) {
    DocumentQueryOptions q;
    q.type = "P";
    q.where = where;
    EXPECT_THAT(store_.Query(q), StatusIs(StatusCode::kInvalidArgument, message)) << where.dump();
    EXPECT_THAT(store_.Count("P", where), StatusIs(StatusCode::kInvalidArgument, message)) << where.dump();
  }
  Json deep = {{"a", 1}};
  for (int i = 0; i < 20; ++i) deep = {{"$not", deep}};
  EXPECT_THAT(store_.Count("P", deep), StatusIs(StatusCode::kInvalidArgument, "deeper"));
  Json many = Json::array();
  for (int i = 0; i < 300; ++i) many.push_back({{"a", i}});
  EXPECT_THAT(store_.Count("P", {{"$or", many}}), StatusIs(StatusCode::kInvalidArgument, "256"));
}

TEST_F(DocumentQueryTest, InjectionThroughNamesIsRejectedAndValuesAreInert) {
  const std::string evil = "a'); DROP TABLE doc_documents; --";
  DocumentQueryOptions q;
  q.type = "P' OR 1=1 --";
  EXPECT_THAT(store_.Query(q), StatusIs(StatusCode::kInvalidArgument, "$type"));
  q.type = "P";
  q.sort = {{evil, false}};
  EXPECT_THAT(store_.Query(q), StatusIs(StatusCode::kInvalidArgument, "invalid path"));
  q.sort.clear();
  q.projection = {evil};
  EXPECT_THAT(store_.Query(q), StatusIs(StatusCode::kInvalidArgument, "invalid path"));
  EXPECT_THAT(store_.CreateIndex("P", evil), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store_.CreateIndex(evil, "name"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store_.ConfigureStats("P", "x\"]') --"), StatusIs(StatusCode::kInvalidArgument));
  // Values with quotes are stored and matched as data.
  DOTDO_ASSERT_OK(store_.Create({{"$type", "P"}, {"name", evil}, {"note", "' OR '1'='1"}}));
  EXPECT_EQ(Names({{"name", evil}}), NameList{evil});
  EXPECT_EQ(Names({{"note", {{"$in", {"' OR '1'='1"}}}}}), NameList{evil});
  EXPECT_EQ(Names({{"note", {{"$like", "%' OR%"}}}}), NameList{evil});
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, store_.Count("P"));
  EXPECT_EQ(n, 6);
}

TEST_F(DocumentQueryTest, SortOrdersMissingThenNumbersThenStringsWithStableTies) {
  EXPECT_EQ(Names({}, {{"age", false}}), (NameList{"Bob", "Ada", "eve", "Dee", "Cy"}));
  EXPECT_EQ(Names({}, {{"age", true}}), (NameList{"Cy", "Dee", "eve", "Ada", "Bob"}));
  EXPECT_EQ(Names({}, {{"city", false}, {"name", true}}), (NameList{"eve", "Dee", "Cy", "Bob", "Ada"}));
  EXPECT_EQ(Names({{"age", {{"$gte", 30}}}}, {{"name", true}}), (NameList{"eve", "Dee", "Ada"}));
  EXPECT_EQ(Names({}, {{"$id", true}}), (NameList{"eve", "Dee", "Cy", "Bob", "Ada"}));
}

TEST_F(DocumentQueryTest, ProjectionReturnsOnlyTheRequestedPaths) {
  DocumentQueryOptions q;
  q.type = "P";
  q.where = {{"name", "Dee"}};
  q.projection = {"name", "nested.x", "absent"};
  DOTDO_ASSERT_OK_AND_ASSIGN(DocumentPage p, store_.Query(q));
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0], Json({{"$id", "p4"}, {"$type", "P"}, {"name", "Dee"}, {"nested", {{"x", 1}}}}));
  q.projection = {"tags.0"};
  EXPECT_THAT(store_.Query(q), StatusIs(StatusCode::kInvalidArgument, "array index"));
}

TEST_F(DocumentQueryTest, QueryRejectsBadLimitsAndForeignCursors) {
  DocumentQueryOptions q;
  q.type = "P";
  q.limit = 1001;
  EXPECT_THAT(store_.Query(q), StatusIs(StatusCode::kInvalidArgument, "limit"));
  q.limit = 2;
  DOTDO_ASSERT_OK_AND_ASSIGN(DocumentPage p, store_.Query(q));
  ASSERT_FALSE(p.next_cursor.empty());
  DocumentQueryOptions other = q;
  other.where = {{"age", 36}};
  other.cursor = p.next_cursor;
  EXPECT_THAT(store_.Query(other), StatusIs(StatusCode::kInvalidArgument, "different query"));
  q.cursor = p.next_cursor.substr(0, p.next_cursor.size() - 2);
  EXPECT_THAT(store_.Query(q), StatusIs(StatusCode::kInvalidArgument, "cursor"));
  q.cursor = "7b7d";  // "{}"
  EXPECT_THAT(store_.Query(q), StatusIs(StatusCode::kInvalidArgument, "cursor"));
  q.sort = {{"age", false}, {"a", false}, {"b", false}, {"c", false}, {"d", false}, {"e", false}, {"f", false},
            {"g", false}, {"h", false}};
  q.cursor.clear();
  EXPECT_THAT(store_.Query(q), StatusIs(StatusCode::kInvalidArgument, "8 sort keys"));
}

// Pages of a sorted query, concatenated, equal the one-page answer, for every sort shape.
TEST(DocumentPaginationTest, KeysetPagesMatchTheFullResultForEverySortShape) {
  ManualClock clock;
  auto db = testing::OpenMemoryDb(&clock);
  DocumentStore store(*db);
  std::mt19937 rng(7);
  for (int i = 0; i < 120; ++i) {
    Json d = {{"$type", "R"}, {"i", i}};
    int r = static_cast<int>(rng() % 10);
    if (r < 6) d["score"] = static_cast<int>(rng() % 7);           // many ties
    else if (r < 8) d["score"] = "s" + std::to_string(rng() % 4);  // strings
    else if (r < 9) d["score"] = nullptr;                          // null; else missing
    d["g"] = static_cast<int>(rng() % 3);
    DOTDO_ASSERT_OK(store.Create(d));
  }
  const std::vector<std::vector<DocumentSortKey>> shapes = {
      {}, {{"score", false}}, {{"score", true}}, {{"g", false}, {"score", true}}, {{"g", true}, {"score", false}},
      {{"score", true}, {"g", true}}};
  for (const auto& sort : shapes) {
    for (const Json& where : {Json::object(), Json{{"g", {{"$ne", 1}}}}}) {
      DocumentQueryOptions q;
      q.type = "R";
      q.where = where;
      q.sort = sort;
      q.limit = 1000;
      DOTDO_ASSERT_OK_AND_ASSIGN(DocumentPage all, store.Query(q));
      EXPECT_TRUE(all.next_cursor.empty());
      for (int64_t size : {1, 7, 50}) {
        std::vector<Json> got;
        q.limit = size;
        q.cursor.clear();
        do {
          DOTDO_ASSERT_OK_AND_ASSIGN(DocumentPage p, store.Query(q));
          ASSERT_LE(static_cast<int64_t>(p.items.size()), size);
          got.insert(got.end(), p.items.begin(), p.items.end());
          q.cursor = p.next_cursor;
        } while (!q.cursor.empty());
        EXPECT_EQ(got, all.items) << "sort keys " << sort.size() << " page " << size << " where " << where.dump();
      }
    }
  }
}

TEST(DocumentPaginationTest, PagesStayStableWhileOtherDocumentsChange) {
  ManualClock clock;
  auto db = testing::OpenMemoryDb(&clock);
  DocumentStore store(*db);
  for (int i = 0; i < 30; ++i) DOTDO_ASSERT_OK(store.Create({{"$id", "k" + std::to_string(100 + i)}, {"$type", "S"}, {"n", i}}));
  DocumentQueryOptions q;
  q.type = "S";
  q.sort = {{"n", false}};
  q.limit = 10;
  DOTDO_ASSERT_OK_AND_ASSIGN(DocumentPage first, store.Query(q));
  // Inserted before the cursor, deleted after it: neither shifts the next page.
  DOTDO_ASSERT_OK(store.Create({{"$type", "S"}, {"n", -1}}));
  DOTDO_ASSERT_OK(store.Delete("k125"));
  q.cursor = first.next_cursor;
  DOTDO_ASSERT_OK_AND_ASSIGN(DocumentPage second, store.Query(q));
  ASSERT_EQ(second.items.size(), 10u);
  EXPECT_EQ(second.items.front()["n"], 10);
  EXPECT_EQ(second.items.back()["n"], 19);
}

class DocumentIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DOTDO_ASSERT_OK(db_->Transaction([&]() -> Status {
      for (int i = 0; i < 2000; ++i) {
        DOTDO_RETURN_IF_ERROR(store_.Create({{"$type", "Idx"}, {"n", i % 500}, {"s", "v" + std::to_string(i)}}).status());
        DOTDO_RETURN_IF_ERROR(store_.Create({{"$type", "Noise"}, {"n", i}}).status());
      }
      return OkStatus();
    }));
  }
  std::string Plan(const Json& where, std::vector<DocumentSortKey> sort = {}) {
    DocumentQueryOptions q;
    q.type = "Idx";
    q.where = where;
    q.sort = std::move(sort);
    auto plan = store_.Explain(q);
    EXPECT_THAT(plan, IsOk());
    return plan.ok() ? *plan : "";
  }
  ManualClock clock_;
  std::unique_ptr<Database> db_ = testing::OpenMemoryDb(&clock_);
  DocumentStore store_{*db_};
};

TEST_F(DocumentIndexTest, ThePlanUsesTheExpressionIndexForEveryIndexedOperator) {
  EXPECT_THAT(Plan({{"n", {{"$gt", 5}}}}), ::testing::Not(::testing::HasSubstr("doc_ix_Idx")));
  DOTDO_ASSERT_OK(store_.CreateIndex("Idx", "n"));
  DOTDO_ASSERT_OK(store_.CreateIndex("Idx", "n"));  // idempotent
  const std::vector<std::pair<Json, std::vector<DocumentSortKey>>> cases = {
      {{{"n", 7}}, {}},
      {{{"n", {{"$eq", 7}}}}, {}},
      {{{"n", {{"$gt", 490}}}}, {}},
      {{{"n", {{"$gte", 490}}}}, {}},
      {{{"n", {{"$lt", 3}}}}, {}},
      {{{"n", {{"$lte", 3}}}}, {}},
      {{{"n", {{"$gt", 3}, {"$lt", 6}}}}, {}},
      {{{"n", {{"$in", {1, 2, 3}}}}}, {}},
      {Json::object(), {{"n", false}}},
      {Json::object(), {{"n", true}}},
  };
  for (const auto& [where, sort] : cases) {
    std::string plan = Plan(where, sort);
    EXPECT_THAT(plan, ::testing::HasSubstr("USING INDEX doc_ix_Idx_")) << where.dump() << "\n" << plan;
    if (!sort.empty()) {
      EXPECT_THAT(plan, ::testing::Not(::testing::HasSubstr("TEMP B-TREE"))) << where.dump() << "\n" << plan;
    }
  }
  // Index answers agree with a scan of the same data.
  DocumentQueryOptions q;
  q.type = "Idx";
  q.where = {{"n", {{"$gte", 495}}}};
  q.limit = 1000;
  DOTDO_ASSERT_OK_AND_ASSIGN(DocumentPage p, store_.Query(q));
  EXPECT_EQ(p.items.size(), 20u);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, store_.Count("Idx", {{"n", {{"$in", {1, 2}}}}}));
  EXPECT_EQ(n, 8);
}

TEST_F(DocumentIndexTest, IndexesOnStringPathsServeEqualityAndRanges) {
  DOTDO_ASSERT_OK(store_.CreateIndex("Idx", "s"));
  EXPECT_THAT(Plan({{"s", "v42"}}), ::testing::HasSubstr("USING INDEX doc_ix_Idx_"));
  EXPECT_THAT(Plan({{"s", {{"$gte", "v9"}}}}), ::testing::HasSubstr("USING INDEX doc_ix_Idx_"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto idx, db_->QueryReadOnly("SELECT type, path, name FROM doc_indexes"));
  ASSERT_EQ(idx.size(), 1u);
  EXPECT_EQ(idx[0]["path"], "s");
}

}  // namespace
}  // namespace dotdo
