// ColumnarStore lookup indexes (ColumnarOptions::lookup_columns): an equality on an indexed
// column reads only its candidate rows, one row of each column (db.stats().rows_read and the scan
// counters show it), with the same answers as the bloom path; the index follows new chunks,
// tombstones, compaction and other connections' commits; reads inside a transaction do not use
// it; Get goes through the $id index; chunk ids are never reused; the options are validated.
// The differential test (columnar_differential_test.cc) checks 10,000 random predicates through
// lookup indexes against the unindexed reads.
#include "columnar/columnar_internal.h"
#include "core/database_internals.h"
#include "dotdo/columnar.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::StatusIs;

constexpr int64_t kStart = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kHour = 3'600'000;

// Customers spread over three days: an email each, a plan, a score, tags on some.
std::vector<ColumnarRecord> Customers(int count, int from = 0) {
  std::vector<ColumnarRecord> batch;
  for (int k = from; k < from + count; ++k) {
    Json data = {{"email", "c" + std::to_string(k) + "@mail.test"}, {"plan", k % 3 == 0 ? "pro" : "free"}, {"score", k % 97}};
    if (k % 10 == 0) data["tags"] = Json::array({"vip", k % 97});
    batch.push_back({.id = "c" + std::to_string(k), .type = "Customer", .data = std::move(data), .created_at = kStart + (k % 72) * kHour});
  }
  return batch;
}

ColumnarOptions Indexed() { return {.bloom_columns = {"email"}, .lookup_columns = {"email", "score", "tags", "$id"}}; }

Json Email(int k) { return {{"email", "c" + std::to_string(k) + "@mail.test"}}; }

TEST(ColumnarLookupTest, AnEqualityReadsOnlyItsRows) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore plain(*db, {.bloom_columns = {"email"}});
  ColumnarStore indexed(*db, Indexed());
  DOTDO_ASSERT_OK(plain.InsertBatch(Customers(6000)).status());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto first, indexed.Query({.type = "Customer", .where = Email(4321)}));  // builds the index
  ASSERT_EQ(first.rows.size(), 1u);
  EXPECT_EQ(first.rows[0].id, "c4321");
  const int64_t before = db->stats().rows_read;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto hit, indexed.Query({.type = "Customer", .where = Email(17), .columns = {"plan", "score"}}));
  const int64_t rows_read = db->stats().rows_read - before;
  ASSERT_EQ(hit.rows.size(), 1u);
  EXPECT_EQ(hit.rows[0].data, Json({{"plan", "free"}, {"score", 17}}));
  EXPECT_EQ(hit.scan.lookup_rows, 1);
  EXPECT_EQ(hit.scan.chunks_read, 1);
  EXPECT_EQ(hit.scan.groups_read, 1);
  EXPECT_EQ(hit.scan.chunks_skipped, hit.scan.chunks_total - 1);
  // One group row of each column the read needs: email (the filter), $id, $createdAt, plan, score.
  EXPECT_LE(rows_read, 5);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto same, plain.Query({.type = "Customer", .where = Email(17), .columns = {"plan", "score"}}));
  EXPECT_EQ(same.rows, hit.rows);
  EXPECT_EQ(same.scan.lookup_rows, 0);

  // $in, a miss, a number (5 and 5.0 alike), an array element, Count and Aggregate.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto in, indexed.Query({.type = "Customer", .where = {{"email", {{"$in", {"c1@mail.test", "c2@mail.test", "nobody"}}}}}}));
  EXPECT_EQ(in.rows.size(), 2u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto miss, indexed.Query({.type = "Customer", .where = Email(999999)}));
  EXPECT_TRUE(miss.rows.empty());
  EXPECT_EQ(miss.scan.chunks_read, 0);
  for (const Json& score : {Json(5), Json(5.0)}) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto n, indexed.Count("Customer", {{"score", score}}));
    DOTDO_ASSERT_OK_AND_ASSIGN(auto m, plain.Count("Customer", {{"score", score}}));
    EXPECT_EQ(n.count, m.count);
    EXPECT_GT(n.scan.lookup_rows, 0);
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto vip, indexed.Count("Customer", {{"tags", "vip"}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto vip_plain, plain.Count("Customer", {{"tags", "vip"}}));
  EXPECT_EQ(vip.count, vip_plain.count);
  EXPECT_EQ(vip.scan.lookup_rows, 600);  // every row with an array is a candidate
  DOTDO_ASSERT_OK_AND_ASSIGN(auto agg, indexed.Aggregate({.type = "Customer", .where = {{"score", 3}}, .group_by = {"plan"}, .metrics = {"count"}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto agg_plain, plain.Aggregate({.type = "Customer", .where = {{"score", 3}}, .group_by = {"plan"}, .metrics = {"count"}}));
  EXPECT_EQ(agg.groups, agg_plain.groups);
  EXPECT_GT(agg.scan.lookup_rows, 0);
}

TEST(ColumnarLookupTest, TheIndexFollowsWritesDeletesAndCompaction) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, Indexed());
  DOTDO_ASSERT_OK(col.InsertBatch(Customers(2000)).status());
  auto ids = [&](const Json& where) {
    std::vector<std::string> out;
    auto r = col.Query({.type = "Customer", .where = where});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok())
      for (const ColumnarRow& row : r->rows) out.push_back(row.id);
    return out;
  };
  EXPECT_EQ(ids(Email(1500)), std::vector<std::string>{"c1500"});
  DOTDO_ASSERT_OK(col.InsertBatch(Customers(500, 2000)).status());  // new chunks after the index was built
  EXPECT_EQ(ids(Email(2222)), std::vector<std::string>{"c2222"});
  DOTDO_ASSERT_OK(col.Delete({"c1500"}).status());  // a tombstone
  EXPECT_TRUE(ids(Email(1500)).empty());
  DOTDO_ASSERT_OK(col.Update("c7", {{"email", "moved@mail.test"}, {"score", 1000}}));
  EXPECT_TRUE(ids(Email(7)).empty());
  EXPECT_EQ(ids({{"email", "moved@mail.test"}}), std::vector<std::string>{"c7"});
  DOTDO_ASSERT_OK(col.Compact().status());  // every chunk replaced by new ones
  EXPECT_EQ(ids(Email(2222)), std::vector<std::string>{"c2222"});
  EXPECT_EQ(ids({{"score", 1000}}), std::vector<std::string>{"c7"});
  EXPECT_TRUE(ids(Email(1500)).empty());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto n, col.Count("Customer", {{"score", 42}}));
  EXPECT_EQ(n.count, 26);  // k % 97 == 42 for k < 2500 (c7 and c1500 are not among them)
  DOTDO_ASSERT_OK_AND_ASSIGN(ColumnarRow got, col.Get("c2222"));
  EXPECT_EQ(got.data["email"], "c2222@mail.test");
  DOTDO_ASSERT_OK_AND_ASSIGN(got, col.Get("c7"));
  EXPECT_EQ(got.data["score"], 1000);
  EXPECT_THAT(col.Get("c1500"), StatusIs(StatusCode::kNotFound));
}

TEST(ColumnarLookupTest, ReadsInATransactionSeeItsWritesWithoutTheIndex) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, Indexed());
  DOTDO_ASSERT_OK(col.InsertBatch(Customers(300)).status());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto warm, col.Query({.type = "Customer", .where = Email(5)}));
  EXPECT_EQ(warm.scan.lookup_rows, 1);
  Status rolled = db->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(col.InsertBatch(Customers(1, 5000)).status());
    DOTDO_ASSIGN_OR_RETURN(auto inside, col.Query({.type = "Customer", .where = Email(5000)}));
    EXPECT_EQ(inside.rows.size(), 1u);
    EXPECT_EQ(inside.scan.lookup_rows, 0);
    return AbortedError("roll back");
  });
  EXPECT_THAT(rolled, StatusIs(StatusCode::kAborted));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto after, col.Query({.type = "Customer", .where = Email(5000)}));
  EXPECT_TRUE(after.rows.empty());
  DOTDO_ASSERT_OK(col.InsertBatch(Customers(1, 6000)).status());  // may take the rolled-back chunk's place
  DOTDO_ASSERT_OK_AND_ASSIGN(auto fresh, col.Query({.type = "Customer", .where = Email(6000)}));
  EXPECT_EQ(fresh.rows.size(), 1u);
  EXPECT_EQ(fresh.scan.lookup_rows, 1);
}

TEST(ColumnarLookupTest, AnotherConnectionsCommitsAreIndexed) {
  testing::ScratchDir dir;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto a, Database::Open(dir.path(), "shared"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto b, Database::Open(dir.path(), "shared"));
  ColumnarStore reader(*a, Indexed());
  ColumnarStore writer(*b, Indexed());
  DOTDO_ASSERT_OK(writer.InsertBatch(Customers(100)).status());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto one, reader.Query({.type = "Customer", .where = Email(50)}));
  EXPECT_EQ(one.rows.size(), 1u);
  DOTDO_ASSERT_OK(writer.InsertBatch(Customers(100, 100)).status());
  DOTDO_ASSERT_OK(writer.Delete({"c50"}).status());
  DOTDO_ASSERT_OK(writer.Compact().status());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto two, reader.Query({.type = "Customer", .where = Email(150)}));
  ASSERT_EQ(two.rows.size(), 1u);
  EXPECT_EQ(two.scan.lookup_rows, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto gone, reader.Query({.type = "Customer", .where = Email(50)}));
  EXPECT_TRUE(gone.rows.empty());
}

TEST(ColumnarLookupTest, ChunkIdsAreNeverReused) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, Indexed());
  DOTDO_ASSERT_OK(col.InsertBatch(Customers(1)).status());
  auto last_chunk = [&] {
    auto r = db->QueryReadOnly("SELECT COALESCE(MAX(chunk_id), 0) AS id FROM col_chunks");
    return r.ok() ? (*r)[0]["id"].get<int64_t>() : -1;
  };
  const int64_t first = last_chunk();
  DOTDO_ASSERT_OK(col.Delete({"c0"}).status());
  DOTDO_ASSERT_OK(col.Compact().status());  // the only chunk is dropped
  EXPECT_EQ(last_chunk(), 0);
  DOTDO_ASSERT_OK(col.InsertBatch(Customers(1, 1)).status());
  EXPECT_GT(last_chunk(), first);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto r, col.Query({.type = "Customer", .where = Email(1)}));
  EXPECT_EQ(r.rows.size(), 1u);
}

TEST(ColumnarLookupTest, BadLookupColumnsAreRefused) {
  auto db = testing::OpenMemoryDb();
  EXPECT_THAT(ColumnarStore::Open(*db, {.lookup_columns = {"$createdAt"}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ColumnarStore::Open(*db, {.lookup_columns = {"a..b"}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ColumnarStore::Open(*db, {.lookup_columns = {"tags.0"}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ColumnarStore::Open(*db, {.lookup_columns = {"a", "b", "c", "d", "e", "f", "g", "h", "i"}}),
              StatusIs(StatusCode::kInvalidArgument));
  DOTDO_EXPECT_OK(ColumnarStore::Open(*db, {.lookup_columns = {"$id", "a.b"}}).status());
}

}  // namespace
}  // namespace dotdo
