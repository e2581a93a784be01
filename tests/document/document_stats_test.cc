// DocumentStore stats: per-(type, path) bloom filter and min/max, maintained on every write and used
// by Query/Count to answer without reading document rows (measured with db.stats().rows_read);
// never a false negative, also across rollbacks and reopen.
#include "dotdo/document.h"

#include <random>
#include <set>

#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

class DocumentStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DOTDO_ASSERT_OK(db_->Transaction([&]() -> Status {
      for (int i = 0; i < 1000; ++i) {
        DOTDO_RETURN_IF_ERROR(
            store_.Create({{"$type", "Acct"}, {"email", "user" + std::to_string(i) + "@example.com"}, {"balance", i}})
                .status());
      }
      return OkStatus();
    }));
    DOTDO_ASSERT_OK(store_.ConfigureStats("Acct", "email"));  // built from the existing documents
    DOTDO_ASSERT_OK(store_.ConfigureStats("Acct", "balance"));
    // The first query loads the (type, path) stats configuration into the per-Database cache; the
    // cases below measure steady-state queries.
    DOTDO_ASSERT_OK(store_.Count("Acct", {{"email", "warm-up"}}).status());
  }

  // Rows read by one Count call.
  int64_t RowsReadBy(const Json& where, int64_t* count = nullptr) {
    db_->ResetStats();
    auto n = store_.Count("Acct", where);
    EXPECT_THAT(n, IsOk()) << where.dump();
    if (count != nullptr) *count = n.ok() ? *n : -1;
    return db_->stats().rows_read;
  }

  ManualClock clock_;
  std::unique_ptr<Database> db_ = testing::OpenMemoryDb(&clock_);
  DocumentStore store_{*db_};
};

TEST_F(DocumentStatsTest, AbsentValueIsAnsweredWithoutReadingDocuments) {
  int64_t n = -1;
  // Only the stats row and one bloom block are read; no document row.
  EXPECT_LE(RowsReadBy({{"email", "nobody@example.com"}}, &n), 2);
  EXPECT_EQ(n, 0);
  EXPECT_LE(RowsReadBy({{"email", {{"$in", {"a@x", "b@x"}}}}}, &n), 3);
  EXPECT_EQ(n, 0);
  // A present value needs the scan (no index on email): the contrast that makes the point.
  EXPECT_GE(RowsReadBy({{"email", "user7@example.com"}}, &n), 1000);
  EXPECT_EQ(n, 1);
  DocumentQueryOptions q;
  q.type = "Acct";
  q.where = {{"email", "nobody@example.com"}};
  db_->ResetStats();
  DOTDO_ASSERT_OK_AND_ASSIGN(DocumentPage p, store_.Query(q));
  EXPECT_TRUE(p.items.empty());
  EXPECT_LE(db_->stats().rows_read, 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(std::string plan, store_.Explain(q));
  EXPECT_THAT(plan, ::testing::HasSubstr("SKIP DOCUMENTS"));
}

TEST_F(DocumentStatsTest, RangeOutsideMinMaxReadsNoDocuments) {
  int64_t n = -1;
  EXPECT_LE(RowsReadBy({{"balance", {{"$gt", 999}}}}, &n), 1);
  EXPECT_EQ(n, 0);
  EXPECT_LE(RowsReadBy({{"balance", {{"$lt", 0}}}}, &n), 1);
  EXPECT_LE(RowsReadBy({{"balance", {{"$gte", 1000}}}}, &n), 1);
  EXPECT_LE(RowsReadBy({{"balance", {{"$lte", -0.5}}}}, &n), 1);
  EXPECT_LE(RowsReadBy({{"balance", {{"$gt", "a"}}}}, &n), 1);  // no string balances at all
  EXPECT_LE(RowsReadBy({{"email", {{"$gt", "zzz"}}}}, &n), 1);
  EXPECT_EQ(n, 0);
  // Inside the range the documents are read and counted.
  EXPECT_GE(RowsReadBy({{"balance", {{"$gte", 999}}}}, &n), 1000);
  EXPECT_EQ(n, 1);
  EXPECT_GE(RowsReadBy({{"balance", {{"$lte", 0}}}}, &n), 1000);
  EXPECT_EQ(n, 1);
  // A term under $or is not used to skip (it does not constrain the whole result).
  RowsReadBy({{"$or", {{{"balance", {{"$gt", 5000}}}}, {{"balance", 3}}}}}, &n);
  EXPECT_EQ(n, 1);
}

TEST_F(DocumentStatsTest, WritesKeepTheStatsCurrent) {
  DOTDO_ASSERT_OK_AND_ASSIGN(Json d, store_.Create({{"$type", "Acct"}, {"email", "new@example.com"}, {"balance", 5000}}));
  int64_t n = -1;
  RowsReadBy({{"email", "new@example.com"}}, &n);
  EXPECT_EQ(n, 1);
  RowsReadBy({{"balance", {{"$gt", 4000}}}}, &n);
  EXPECT_EQ(n, 1);
  DOTDO_ASSERT_OK(store_.Update(d["$id"].get<std::string>(), {{"$set", {{"email", "changed@example.com"}, {"balance", -7.5}}}}));
  RowsReadBy({{"email", "changed@example.com"}}, &n);
  EXPECT_EQ(n, 1);
  RowsReadBy({{"balance", {{"$lt", -7}}}}, &n);
  EXPECT_EQ(n, 1);
  // The old value may still be "maybe present" (stale), but the answer is exact.
  RowsReadBy({{"email", "new@example.com"}}, &n);
  EXPECT_EQ(n, 0);
  // Booleans are recorded as 1/0 (a wider numeric range, never a missed value), but a boolean is
  // not a number to filters: $in [1] finds the number only, `true` the boolean only.
  DOTDO_ASSERT_OK(store_.Create({{"$type", "Acct"}, {"email", "b@x"}, {"balance", true}}));
  RowsReadBy({{"balance", {{"$in", {1}}}}}, &n);
  EXPECT_EQ(n, 1);
  RowsReadBy({{"balance", true}}, &n);
  EXPECT_EQ(n, 1);
}

TEST_F(DocumentStatsTest, NoFalseNegativesForRandomValuesRollbacksAndReconfiguration) {
  std::mt19937 rng(3);
  std::set<std::string> present;
  for (int i = 0; i < 1000; ++i) present.insert("user" + std::to_string(i) + "@example.com");
  for (int i = 0; i < 300; ++i) {
    std::string v = "r" + std::to_string(rng() % 100000);
    if (i % 10 == 0) {
      // Rolled back: the value must not be needed, and must not poison later writes of it.
      Status st = db_->Transaction([&]() -> Status {
        DOTDO_RETURN_IF_ERROR(store_.Create({{"$type", "Acct"}, {"email", v}}).status());
        return AbortedError("rolled back on purpose");
      });
      EXPECT_THAT(st, StatusIs(StatusCode::kAborted));
    }
    DOTDO_ASSERT_OK(store_.Create({{"$type", "Acct"}, {"email", v}}));
    present.insert(v);
  }
  for (const std::string& v : present) {
    DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, store_.Count("Acct", {{"email", v}}));
    EXPECT_GE(n, 1) << v;
  }
  // Reconfiguring rebuilds from the live documents.
  DOTDO_ASSERT_OK(store_.ConfigureStats("Acct", "email"));
  for (const char* v : {"user1@example.com", "user999@example.com"}) {
    DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, store_.Count("Acct", {{"email", v}}));
    EXPECT_EQ(n, 1);
  }
}

TEST(DocumentStatsConfigTest, ConfigurationIsValidatedAndRollsBackCleanly) {
  ManualClock clock;
  auto db = testing::OpenMemoryDb(&clock);
  DocumentStore store(*db);
  EXPECT_THAT(store.ConfigureStats("T", "$id"), StatusIs(StatusCode::kInvalidArgument, "column"));
  EXPECT_THAT(store.ConfigureStats("T", "a..b"), StatusIs(StatusCode::kInvalidArgument));
  DocumentStoreOptions o;
  o.bloom_blocks = 0;
  EXPECT_THAT(DocumentStore(*db, o).ConfigureStats("T", "a"), StatusIs(StatusCode::kInvalidArgument, "bloom_blocks"));
  DOTDO_ASSERT_OK(store.Create({{"$type", "T"}, {"a", 1}}));
  Status st = db->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(store.ConfigureStats("T", "a"));
    return AbortedError("undo");
  });
  EXPECT_THAT(st, StatusIs(StatusCode::kAborted));
  DOTDO_ASSERT_OK(store.Create({{"$type", "T"}, {"a", 2}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, store.Count("T", {{"a", 2}}));
  EXPECT_EQ(n, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rows, db->QueryReadOnly("SELECT count(*) AS n FROM doc_stats"));
  EXPECT_EQ(rows[0]["n"], 0);
}

TEST(DocumentStatsConfigTest, StatsSurviveReopen) {
  testing::ScratchDir dir;
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "ns"));
    DocumentStore store(*db);
    DOTDO_ASSERT_OK(store.ConfigureStats("T", "k"));
    DOTDO_ASSERT_OK(store.Create({{"$type", "T"}, {"k", "a"}}));
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "ns"));
  DocumentStore store(*db);
  DOTDO_ASSERT_OK(store.Create({{"$type", "T"}, {"k", "b"}}));
  for (const char* v : {"a", "b"}) {
    DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, store.Count("T", {{"k", v}}));
    EXPECT_EQ(n, 1) << v;
  }
  db->ResetStats();
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, store.Count("T", {{"k", "zzz"}}));
  EXPECT_EQ(n, 0);
  EXPECT_LE(db->stats().rows_read, 2);
}

}  // namespace
}  // namespace dotdo

namespace dotdo {
namespace {

// The bloom key of a number is its value as SQLite compares it, not its JSON spelling: a query
// must find with stats exactly what it finds without them.
TEST(DocumentStatsNumbersTest, EqualNumbersFindTheSameDocumentsWithAndWithoutStats) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"-9223372036854775808", "-9223372036854775809"},
      {"18446744073709551615", "1.8446744073709552e19"},
      {"9223372036854774784", "9.223372036854774784e18"},
      {"9007199254740993", "9007199254740993.0"},
      {"12", "1.2e1"},
      {"0", "-0.0"},
      {"1.5", "15e-1"},
  };
  auto plain_db = testing::OpenMemoryDb();
  auto stats_db = testing::OpenMemoryDb();
  DocumentStore plain(*plain_db), stats(*stats_db);
  DOTDO_ASSERT_OK(stats.ConfigureStats("T", "x"));
  for (const auto& [stored, _] : cases) {
    for (DocumentStore* s : {&plain, &stats}) DOTDO_ASSERT_OK(s->Create({{"$type", "T"}, {"x", Json::parse(stored)}}));
  }
  for (const auto& [stored, spelled] : cases) {
    for (const std::string& q : {stored, spelled}) {
      const Json where = {{"x", Json::parse(q)}};
      DOTDO_ASSERT_OK_AND_ASSIGN(int64_t without, plain.Count("T", where));
      DOTDO_ASSERT_OK_AND_ASSIGN(int64_t with, stats.Count("T", where));
      EXPECT_EQ(with, without) << stored << " queried as " << q;
      if (q == stored) {
        EXPECT_GE(with, 1) << stored;
      }
    }
  }
}

}  // namespace
}  // namespace dotdo
