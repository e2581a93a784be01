// ColumnarStore through its public API: insert/query/get/count/aggregate/delete/update/compact,
// the subcolumn thresholds and schema evolution, each skip path shown with the chunk counters and
// db.stats() (count from the index, bloom miss, min/max prune), row writes per batch, the CDC
// events, bad input writing nothing, reads that create no tables, and a model-based randomized
// test against an in-memory map.
#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "columnar/columnar_internal.h"
#include "core/database_internals.h"
#include "dotdo/cdc.h"
#include "dotdo/columnar.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

std::vector<ColumnarRecord> Orders(int n, int64_t t0 = kT0, int first = 0) {
  static const char* kStatus[] = {"paid", "open", "refunded", "shipped", "void"};
  std::vector<ColumnarRecord> out;
  for (int i = first; i < first + n; ++i)
    out.push_back({.id = "o" + std::to_string(i), .type = "Order",
                   .data = {{"status", kStatus[i % 5]}, {"amount", i * 0.5}, {"email", "u" + std::to_string(i) + "@x.io"}},
                   .created_at = t0 + i});
  return out;
}

int64_t Events(Database& db, const std::string& type) {
  auto r = db.QueryReadOnly("SELECT COUNT(*) AS n FROM cdc_events WHERE type = ?1", {type});
  return r.ok() ? (*r)[0]["n"].get<int64_t>() : -1;
}

TEST(ColumnarStoreTest, InsertQueryGetRoundTrip) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db);
  std::vector<ColumnarRecord> recs = Orders(10);
  recs[3].data["nested"] = {{"a", {{"b", 1}}}, {"list", {1, "two", nullptr}}};
  recs[4].data["maybe"] = nullptr;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ids, col.InsertBatch(recs));
  ASSERT_EQ(ids.size(), 10u);
  EXPECT_EQ(ids[3], "o3");
  for (const ColumnarRecord& r : recs) {
    DOTDO_ASSERT_OK_AND_ASSIGN(ColumnarRow row, col.Get(*r.id));
    EXPECT_EQ(row.data, r.data) << *r.id;
    EXPECT_EQ(row.type, "Order");
    EXPECT_EQ(row.created_at, *r.created_at);
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto q, col.Query({.type = "Order", .where = {{"amount", {{"$gte", 2}}}},
                                                .columns = {"status"}, .order_by = "amount", .descending = true, .limit = 3}));
  ASSERT_EQ(q.rows.size(), 3u);
  EXPECT_EQ(q.rows[0].id, "o9");
  EXPECT_EQ(q.rows[0].data, (Json{{"status", "void"}}));
  EXPECT_THAT(col.Get("nope"), StatusIs(StatusCode::kNotFound));
}

TEST(ColumnarStoreTest, ColumnarLayoutReturnsTypedVectorsWithNulls) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db);
  std::vector<ColumnarRecord> recs = Orders(6);
  recs[1].data["amount"] = nullptr;
  recs[2].data.erase("status");
  for (int i = 0; i < 6; ++i) recs[i].data["n"] = i;
  recs[5].data["flag"] = true;
  DOTDO_ASSERT_OK(col.InsertBatch(recs));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto q, col.Query({.type = "Order", .columns = {"amount", "status", "n", "flag", "none"},
                                                .layout = ColumnarLayout::kColumns}));
  EXPECT_TRUE(q.rows.empty());
  const ColumnarColumns& c = q.columns;
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(c.ids, (std::vector<std::string>{"o0", "o1", "o2", "o3", "o4", "o5"}));
  EXPECT_EQ(c.created_at[4], kT0 + 4);
  const ColumnarColumn& amount = c.columns[0];
  EXPECT_EQ(amount.kind, ColumnarValueKind::kDouble);
  EXPECT_EQ(amount.doubles, (std::vector<double>{0, 0, 1, 1.5, 2, 2.5}));
  EXPECT_EQ(amount.present, (std::vector<uint8_t>{1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(amount.nonnull, (std::vector<uint8_t>{1, 0, 1, 1, 1, 1}));
  const ColumnarColumn& status = c.columns[1];
  EXPECT_EQ(status.kind, ColumnarValueKind::kString);
  EXPECT_EQ(status.strings, (std::vector<std::string>{"paid", "open", "", "shipped", "void", "paid"}));
  EXPECT_EQ(status.present, (std::vector<uint8_t>{1, 1, 0, 1, 1, 1}));
  EXPECT_EQ(c.columns[2].kind, ColumnarValueKind::kInt);
  EXPECT_EQ(c.columns[2].ints, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(c.columns[3].kind, ColumnarValueKind::kBool);  // in `_rest` (1 of 6 records): still typed
  EXPECT_EQ(c.columns[3].Value(5), Json(true));
  EXPECT_EQ(c.columns[3].Value(0), Json(nullptr));
  EXPECT_EQ(c.columns[4].kind, ColumnarValueKind::kNone);
  EXPECT_EQ(c.columns[4].present, (std::vector<uint8_t>(6, 0)));

  // Later batches widen `n` (int -> double in one chunk, then a string): the result column widens
  // to double, then to JSON, keeping every value.
  std::vector<ColumnarRecord> more = Orders(2, kT0 + kDay, 6);
  more[0].data["n"] = 6.5;
  more[1].data["n"] = 7;
  DOTDO_ASSERT_OK(col.InsertBatch(more));
  DOTDO_ASSERT_OK_AND_ASSIGN(q, col.Query({.type = "Order", .columns = {"n"}, .layout = ColumnarLayout::kColumns}));
  EXPECT_EQ(q.columns.columns[0].kind, ColumnarValueKind::kDouble);
  EXPECT_EQ(q.columns.columns[0].doubles, (std::vector<double>{0, 1, 2, 3, 4, 5, 6.5, 7}));
  std::vector<ColumnarRecord> text = Orders(1, kT0 + 2 * kDay, 8);
  text[0].data["n"] = "eight";
  DOTDO_ASSERT_OK(col.InsertBatch(text));
  DOTDO_ASSERT_OK_AND_ASSIGN(q, col.Query({.type = "Order", .columns = {"n"}, .order_by = "$createdAt", .descending = true,
                                           .limit = 3, .layout = ColumnarLayout::kColumns}));
  EXPECT_EQ(q.columns.ids, (std::vector<std::string>{"o8", "o7", "o6"}));
  EXPECT_EQ(q.columns.columns[0].kind, ColumnarValueKind::kJson);
  EXPECT_EQ(q.columns.columns[0].json, (std::vector<Json>{"eight", 7, 6.5}));

  EXPECT_THAT(col.Query({.type = "Order", .layout = ColumnarLayout::kColumns}), StatusIs(StatusCode::kInvalidArgument));
}

TEST(ColumnarStoreTest, OneBatchIsOneChunkWithFewRowWritesAndOneEvent) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db);
  DOTDO_ASSERT_OK(col.InsertBatch(Orders(10)));  // the schema, first path statistics
  db->ResetStats();
  DOTDO_ASSERT_OK(col.InsertBatch(Orders(1000, kT0, 10)));
  // 6 columns ($id, $createdAt, status, amount, email; `_rest` is empty so absent: 5), the chunk row
  // with the accelerator, the type's path statistics and the one outbox event.
  EXPECT_EQ(db->stats().rows_written, 5 + 1 + 1 + 1);
  EXPECT_EQ(Events(*db, "cdc.batch_insert"), 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto ev, db->QueryReadOnly("SELECT after FROM cdc_events ORDER BY lsn DESC LIMIT 1"));
  const Json after = Json::parse(ev[0]["after"].get<std::string>());
  EXPECT_EQ(after["count"], 1000);
  EXPECT_EQ(after["partition"], "Order/2026-01-01");
  // A call that changes nothing costs no row write.
  db->ResetStats();
  DOTDO_ASSERT_OK(col.Delete({"no-such-id"}));
  EXPECT_EQ(db->stats().rows_written, 0);
}

TEST(ColumnarStoreTest, SkipPathsShowInTheCounters) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, {.bloom_columns = {"email"}});
  for (int d = 0; d < 4; ++d) DOTDO_ASSERT_OK(col.InsertBatch(Orders(500, kT0 + d * kDay, d * 500)));
  // Count from the index: no column row read.
  db->ResetStats();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto c, col.Count("Order"));
  EXPECT_EQ(c.count, 2000);
  EXPECT_EQ(c.scan.chunks_read, 0);
  EXPECT_EQ(c.scan.chunks_skipped, 4);
  EXPECT_LE(db->stats().rows_read, 8);  // the chunk index rows only
  // Bloom miss on email: no chunk decoded; a hit decodes one.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto miss, col.Query({.type = "Order", .where = {{"email", "nobody@x.io"}}}));
  EXPECT_TRUE(miss.rows.empty());
  EXPECT_EQ(miss.scan.chunks_read, 0);
  EXPECT_EQ(miss.scan.chunks_skipped, 4);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto hit, col.Query({.type = "Order", .where = {{"email", "u1234@x.io"}}}));
  ASSERT_EQ(hit.rows.size(), 1u);
  EXPECT_EQ(hit.rows[0].id, "o1234");
  EXPECT_EQ(hit.scan.chunks_read, 1);
  // Min/max prune on a data path and on $createdAt.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto range, col.Query({.type = "Order", .where = {{"amount", {{"$lt", 100}}}}, .limit = 10000}));
  EXPECT_EQ(range.rows.size(), 200u);
  EXPECT_EQ(range.scan.chunks_read, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto days, col.Count("Order", {{"$createdAt", {{"$gte", kT0 + 2 * kDay}}}}));
  EXPECT_EQ(days.count, 1000);
  EXPECT_EQ(days.scan.chunks_skipped, 2);
  // $id through its bloom.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto byid, col.Count("Order", {{"$id", {{"$in", {"o3", "o1999"}}}}}));
  EXPECT_EQ(byid.count, 2);
  EXPECT_EQ(byid.scan.chunks_read, 2);
}

TEST(ColumnarStoreTest, AggregateGroupsAndMetrics) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db);
  std::vector<ColumnarRecord> recs = Orders(100);
  recs[0].data["amount"] = "n/a";  // a string in a numeric path: ignored by sum/avg/min/max
  recs[1].data.erase("status");
  DOTDO_ASSERT_OK(col.InsertBatch(recs));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto agg, col.Aggregate({.type = "Order", .where = {{"amount", {{"$gte", 1}}}}, .group_by = {"status"},
                                                       .metrics = {"count", "sum:amount", "avg:amount", "min:amount", "max:amount",
                                                                   "count_distinct:email"}}));
  // amount >= 1 drops o0 ("n/a" is text) and o1 (0.5): groups null? no (o1 is gone).
  ASSERT_EQ(agg.groups.size(), 5u);
  EXPECT_EQ(agg.groups[0]["status"], "open");
  // open: i % 5 == 1 and i >= 2: 6, 11, ..., 96 -> 19 records
  EXPECT_EQ(agg.groups[0]["count"], 19);
  EXPECT_DOUBLE_EQ(agg.groups[0]["sum:amount"].get<double>(), 0.5 * (6 + 96) * 19 / 2);
  EXPECT_EQ(agg.groups[0]["min:amount"], 3.0);
  EXPECT_EQ(agg.groups[0]["count_distinct:email"], 19);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto all, col.Aggregate({.type = "Order", .metrics = {"count", "sum:amount"}}));
  ASSERT_EQ(all.groups.size(), 1u);
  EXPECT_EQ(all.groups[0]["count"], 100);
  EXPECT_THAT(col.Aggregate({.type = "Order", .metrics = {"median:amount"}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(col.Aggregate({.type = "Order", .metrics = {}}), StatusIs(StatusCode::kInvalidArgument));
}

TEST(ColumnarStoreTest, SubcolumnThresholdAndTypeWidening) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, {.subcolumn_threshold = 0.5});
  std::vector<ColumnarRecord> recs;
  for (int i = 0; i < 10; ++i) {
    Json d = {{"n", i}, {"flag", i % 2 == 0}};
    if (i < 3) d["rare"] = "x";  // 30 %: stays in _rest
    recs.push_back({.type = "Ev", .data = d, .created_at = kT0});
  }
  DOTDO_ASSERT_OK(col.InsertBatch(recs));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto stats, col.Stats());
  ASSERT_EQ(stats.size(), 1u);
  std::map<std::string, std::string> kinds;
  for (const auto& c : stats[0].columns) kinds[c.path] = c.kind;
  EXPECT_EQ(kinds, (std::map<std::string, std::string>{{"flag", "bool"}, {"n", "int"}}));
  // n widens to double, then to string; old chunks are not rewritten and still read back exactly.
  DOTDO_ASSERT_OK(col.InsertBatch({{.type = "Ev", .data = {{"n", 2.5}}, .created_at = kT0}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(stats, col.Stats());
  for (const auto& c : stats[0].columns) kinds[c.path] = c.kind;
  EXPECT_EQ(kinds["n"], "double");
  DOTDO_ASSERT_OK(col.InsertBatch({{.type = "Ev", .data = {{"n", "seven"}, {"rare", "y"}}, .created_at = kT0},
                                   {.type = "Ev", .data = {{"n", 8}}, .created_at = kT0}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(stats, col.Stats());
  for (const auto& c : stats[0].columns) kinds[c.path] = c.kind;
  EXPECT_EQ(kinds["n"], "string");
  DOTDO_ASSERT_OK_AND_ASSIGN(auto q, col.Query({.type = "Ev", .where = {{"n", {{"$gte", 2}}}}, .limit = 100}));
  EXPECT_EQ(q.rows.size(), 10u);  // 2..9, 2.5 and 8; "seven" is text
  DOTDO_ASSERT_OK_AND_ASSIGN(auto s, col.Query({.type = "Ev", .where = {{"n", "seven"}}}));
  ASSERT_EQ(s.rows.size(), 1u);
  EXPECT_EQ(s.rows[0].data, (Json{{"n", "seven"}, {"rare", "y"}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto eight, col.Query({.type = "Ev", .where = {{"n", 8}}}));
  ASSERT_EQ(eight.rows.size(), 2u);
  EXPECT_TRUE(eight.rows[1].data["n"].is_number_integer());
}

// The filter semantics of docs/formats/document.md: booleans are not numbers, paths cross arrays
// (kept in `_rest`), array elements match, $elemMatch / $size / $regex / $all / $type / $not; a
// chunk whose subcolumn meets an array on a prefix of its path in one row is not skipped.
TEST(ColumnarStoreTest, FilterSemanticsOverSubcolumnsAndArraysInRest) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, {.subcolumn_threshold = 0.5});
  std::vector<ColumnarRecord> recs;
  for (int i = 0; i < 8; ++i)
    recs.push_back({.id = "r" + std::to_string(i), .type = "S",
                    .data = {{"n", i}, {"flag", i % 2 == 0}, {"o", {{"p", i}}}, {"name", i % 2 ? "Alpha" : "beta"}},
                    .created_at = kT0 + i});
  recs[6].data = {{"n", true}, {"o", Json::array({{{"p", 40}}, {{"p", 41}}})}, {"tags", {"x", "y"}}, {"name", 7}};
  recs[7].data = {{"n", Json::array({1, 50})}, {"o", Json::array({3, {{"p", Json::array({60, 61})}}})},
                  {"tags", Json::array()}, {"flag", 1}};
  DOTDO_ASSERT_OK(col.InsertBatch(recs));
  auto ids = [&](const Json& where) {
    std::vector<std::string> out;
    auto q = col.Query({.type = "S", .where = where, .order_by = "$id", .limit = 100});
    EXPECT_TRUE(q.ok()) << q.status() << " " << where.dump();
    if (q.ok())
      for (const auto& r : q->rows) out.push_back(r.id);
    auto c = col.Count("S", where);
    EXPECT_TRUE(c.ok() && c->count == static_cast<int64_t>(out.size())) << where.dump();
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({{"flag", true}}), (V{"r0", "r2", "r4"}));  // r7's 1 is a number
  EXPECT_EQ(ids({{"flag", 1}}), (V{"r7"}));
  EXPECT_EQ(ids({{"n", 1}}), (V{"r1", "r7"}));               // an element of r7's array
  EXPECT_EQ(ids({{"n", {{"$gte", 50}}}}), (V{"r7"}));
  EXPECT_EQ(ids({{"n", {{"$gt", 3}, {"$lt", 2}}}}), (V{"r7"}));  // two bounds met by two elements: 50 > 3, 1 < 2
  EXPECT_EQ(ids({{"n", {{"$elemMatch", {{"$gt", 3}, {"$lt", 60}}}}}}), (V{"r7"}));
  EXPECT_EQ(ids({{"n", {{"$size", 2}}}}), (V{"r7"}));
  EXPECT_EQ(ids({{"n", {{"$type", "bool"}}}}), (V{"r6"}));
  EXPECT_EQ(ids({{"n", Json::array({1, 50})}}), (V{"r7"}));  // whole-array equality
  EXPECT_EQ(ids({{"o.p", 41}}), (V{"r6"}));                   // across an array of objects
  EXPECT_EQ(ids({{"o.p", {{"$gte", 40}}}}), (V{"r6", "r7"}));
  EXPECT_EQ(ids({{"o.p", {{"$in", {60, 99}}}}}), (V{"r7"}));
  EXPECT_EQ(ids({{"o.1.p", 41}}), (V{"r6"}));                 // an index picks the element
  EXPECT_EQ(ids({{"o.1.p", {{"$all", {60, 61}}}}}), (V{"r7"}));
  EXPECT_EQ(ids({{"tags", "y"}}), (V{"r6"}));
  EXPECT_EQ(ids({{"tags", {{"$size", 0}}}}), (V{"r7"}));
  EXPECT_EQ(ids({{"tags", {{"$exists", false}}}}), (V{"r0", "r1", "r2", "r3", "r4", "r5"}));
  EXPECT_EQ(ids({{"name", {{"$regex", "^a"}, {"$options", "i"}}}}), (V{"r1", "r3", "r5"}));
  EXPECT_EQ(ids({{"name", {{"$regex", "ta$"}}}}), (V{"r0", "r2", "r4"}));
  EXPECT_EQ(ids({{"name", {{"$not", {{"$type", "string"}}}}}}), (V{"r6", "r7"}));
  EXPECT_EQ(ids({{"$nor", {{{"flag", true}}, {{"n", {{"$lt", 4}}}}}}}), (V{"r5", "r6"}));
  EXPECT_EQ(ids({{"n", {{"$in", Json::array()}}}}), V{});
  EXPECT_EQ(ids({{"n", {{"$nin", Json::array()}}}}).size(), 8u);
  EXPECT_EQ(ids({{"$id", {{"$regex", "^r[67]$"}}}}), (V{"r6", "r7"}));
  EXPECT_EQ(ids({{"$id", nullptr}}), V{});
  EXPECT_EQ(ids({{"$id", {{"$in", {nullptr, "r3"}}}}}), (V{"r3"}));
  EXPECT_EQ(ids({{"$createdAt", {{"$gte", "2026-01-01T00:00:00.006Z"}}}}), (V{"r6", "r7"}));
}

TEST(ColumnarStoreTest, DeleteUpdateAndCompact) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, {.max_chunk_rows = 100});
  for (int b = 0; b < 5; ++b) DOTDO_ASSERT_OK(col.InsertBatch(Orders(30, kT0, b * 30)));
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, col.Delete({"o1", "o2", "o100", "missing"}));
  EXPECT_EQ(n, 3);
  EXPECT_EQ(Events(*db, "cdc.delete"), 3);
  EXPECT_THAT(col.Get("o2"), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK(col.Update("o5", {{"status", "changed"}}));
  EXPECT_THAT(col.Update("o2", {{"x", 1}}), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK_AND_ASSIGN(ColumnarRow o5, col.Get("o5"));
  EXPECT_EQ(o5.data, (Json{{"status", "changed"}}));
  EXPECT_EQ(o5.created_at, kT0 + 5);
  EXPECT_EQ(Events(*db, "cdc.update"), 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto before, col.Query({.type = "Order", .order_by = "$id", .limit = 1000}));
  EXPECT_EQ(before.rows.size(), 147u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto c, col.Compact());
  EXPECT_EQ(c.chunks_before, 6);
  EXPECT_EQ(c.chunks_after, 2);
  EXPECT_EQ(c.records_dropped, 4);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto after, col.Query({.type = "Order", .order_by = "$id", .limit = 1000}));
  EXPECT_EQ(after.rows, before.rows);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto again, col.Compact());
  EXPECT_EQ(again.chunks_after, again.chunks_before);
}

TEST(ColumnarStoreTest, DuplicateIds) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db);
  EXPECT_THAT(col.InsertBatch({{.id = "a", .type = "T"}, {.id = "a", .type = "T"}}), StatusIs(StatusCode::kInvalidArgument, "repeats"));
  DOTDO_ASSERT_OK(col.InsertBatch({{.id = "a", .type = "T", .data = {{"v", 1}}, .created_at = kT0}}));
  DOTDO_ASSERT_OK(col.InsertBatch({{.id = "a", .type = "T", .data = {{"v", 2}}, .created_at = kT0 + 1}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(ColumnarRow a, col.Get("a"));
  EXPECT_EQ(a.data["v"], 2);  // the latest $createdAt
  DOTDO_ASSERT_OK_AND_ASSIGN(auto c, col.Count("T"));
  EXPECT_EQ(c.count, 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, col.Delete({"a"}));
  EXPECT_EQ(n, 2);
}

TEST(ColumnarStoreTest, BadInputWritesNothing) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, {.max_chunk_rows = 4, .max_record_bytes = 4096});
  auto bad = [&](std::vector<ColumnarRecord> recs, const char* what) {
    recs.insert(recs.begin(), ColumnarRecord{.type = "Good", .data = {{"x", 1}}});
    EXPECT_THAT(col.InsertBatch(recs), StatusIs(StatusCode::kInvalidArgument)) << what;
  };
  bad({{.type = ""}}, "no type");
  bad({{.type = "bad type"}}, "type grammar");
  bad({{.id = "bad id!", .type = "T"}}, "id grammar");
  bad({{.type = "T", .data = Json::array()}}, "data not an object");
  bad({{.type = "T", .data = {{"x", std::numeric_limits<double>::quiet_NaN()}}}}, "NaN");
  bad({{.type = "T", .data = {{"x", {1, std::numeric_limits<double>::infinity()}}}}}, "Inf");
  bad({{.type = "T", .data = {{"s", std::string(5000, 'a')}}}}, "huge string");
  bad({{.type = "T", .data = {{"s", "\xff"}}}}, "invalid UTF-8");
  bad({{.type = "T", .created_at = -1}}, "negative time");
  EXPECT_THAT(col.InsertBatch(std::vector<ColumnarRecord>(kMaxColumnarBatch + 1)), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(db->QueryReadOnly("SELECT COUNT(*) FROM col_chunks"), StatusIs(StatusCode::kInvalidArgument));  // no table
  // Reads on a namespace without the store's tables answer as empty and create nothing.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto q, col.Query({.type = "T"}));
  EXPECT_TRUE(q.rows.empty());
  EXPECT_THAT(col.Get("x"), StatusIs(StatusCode::kNotFound));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto cnt, col.Count("T"));
  EXPECT_EQ(cnt.count, 0);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto st, col.Stats());
  EXPECT_TRUE(st.empty());
  EXPECT_THAT(db->QueryReadOnly("SELECT COUNT(*) FROM col_chunks"), StatusIs(StatusCode::kInvalidArgument));
  // Read arguments.
  EXPECT_THAT(col.Query({.type = "T", .limit = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(col.Query({.type = "T", .where = {{"$bogus", 1}}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(col.Query({.type = "T", .where = {{"x", {{"$gt", nullptr}}}}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(col.Query({.type = "T", .where = {{"x", {{"$regex", "("}}}}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(col.Query({.type = "T", .where = {{"$id", {{"$size", 1}}}}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(col.Query({.type = "T", .columns = {"a..b"}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(col.Count("no such type!"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ColumnarStore::Open(*db, {.max_chunk_rows = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ColumnarStore::Open(*db, {.subcolumn_threshold = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ColumnarStore::Open(*db, {.row_group_rows = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ColumnarStore::Open(*db, {.row_group_rows = 65537}), StatusIs(StatusCode::kInvalidArgument));
  // A batch larger than a chunk is split, not refused.
  std::vector<ColumnarRecord> many(10, ColumnarRecord{.type = "T", .data = {{"x", 1}}, .created_at = kT0});
  DOTDO_ASSERT_OK(col.InsertBatch(many));
  DOTDO_ASSERT_OK_AND_ASSIGN(cnt, col.Count("T"));
  EXPECT_EQ(cnt.count, 10);
  EXPECT_EQ(cnt.scan.chunks_total, 3);
}

// Rows are kept in $createdAt order inside a chunk and cut into row groups of 1024 rows with
// their own statistics: a narrow time range or an equality decodes only the groups that may match.
TEST(ColumnarStoreTest, RowGroupsSkipInsideAChunk) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, {.bloom_columns = {"email"}});
  std::vector<ColumnarRecord> recs = Orders(10'000);
  std::shuffle(recs.begin(), recs.end(), std::mt19937(3));  // stored sorted all the same
  DOTDO_ASSERT_OK(col.InsertBatch(recs));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto range, col.Query({.type = "Order", .where = {{"$createdAt", {{"$gte", kT0 + 5000}, {"$lt", kT0 + 5100}}}},
                                                    .columns = {"amount"}, .limit = 10000}));
  ASSERT_EQ(range.rows.size(), 100u);
  for (size_t i = 0; i < 100; ++i) {
    EXPECT_EQ(range.rows[i].id, "o" + std::to_string(5000 + i));  // storage order is time order
    EXPECT_EQ(range.rows[i].data, (Json{{"amount", (5000 + static_cast<int>(i)) * 0.5}}));
  }
  EXPECT_EQ(range.scan.chunks_read, 1);
  EXPECT_EQ(range.scan.groups_read, 1);  // rows 4096..5119
  EXPECT_EQ(range.scan.groups_skipped, 9);
  // A subcolumn's per-group min/max prunes as well; the answers equal a full scan's.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto amt, col.Count("Order", {{"amount", {{"$gte", 4000}}}}));
  EXPECT_EQ(amt.count, 2000);
  EXPECT_EQ(amt.scan.groups_read, 3);  // rows 8000.. are in groups 7, 8, 9
  DOTDO_ASSERT_OK_AND_ASSIGN(auto email, col.Query({.type = "Order", .where = {{"email", "u7777@x.io"}}}));
  ASSERT_EQ(email.rows.size(), 1u);
  EXPECT_EQ(email.rows[0].id, "o7777");
  EXPECT_LT(email.scan.groups_read, 10);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto none, col.Count("Order", {{"$createdAt", {{"$gt", kT0 + 20'000}}}}));
  EXPECT_EQ(none.count, 0);
  EXPECT_EQ(none.scan.chunks_skipped, 1);
  // An $or of two narrow ranges reads the two groups; a $not reads everything it must.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto either, col.Count("Order", {{"$or", {{{"$createdAt", kT0 + 10}}, {{"$createdAt", kT0 + 9990}}}}}));
  EXPECT_EQ(either.count, 2);
  EXPECT_EQ(either.scan.groups_read, 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto nots, col.Count("Order", {{"$nor", {{{"$createdAt", {{"$lt", kT0 + 9000}}}}}}}));
  EXPECT_EQ(nots.count, 1000);
  // Deletes, updates and compaction keep the groups consistent.
  DOTDO_ASSERT_OK(col.Delete({"o5001", "o9999"}));
  DOTDO_ASSERT_OK(col.Update("o5002", {{"status", "void"}, {"amount", -1}}));
  DOTDO_ASSERT_OK(col.Compact());
  DOTDO_ASSERT_OK_AND_ASSIGN(range, col.Query({.type = "Order", .where = {{"$createdAt", {{"$gte", kT0 + 5000}, {"$lt", kT0 + 5100}}}},
                                               .order_by = "$createdAt", .limit = 10000}));
  ASSERT_EQ(range.rows.size(), 99u);
  EXPECT_EQ(range.rows[1].id, "o5002");
  EXPECT_EQ(range.rows[1].data, (Json{{"status", "void"}, {"amount", -1}}));
  EXPECT_EQ(range.scan.groups_read, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto all, col.Count("Order"));
  EXPECT_EQ(all.count, 9998);
}

// The chunk metadata cache is filled once and then serves reads without touching col_chunks; a
// commit on this Database or on another connection to the file makes the next read reload it.
TEST(ColumnarStoreTest, ChunkCacheFollowsCommitsOfEveryConnection) {
  testing::ScratchDir dir;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db1, Database::Open(dir.path(), "cache"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db2, Database::Open(dir.path(), "cache"));
  ColumnarStore c1(*db1, {.bloom_columns = {"email"}}), c2(*db2, {.bloom_columns = {"email"}});
  DOTDO_ASSERT_OK(c1.InsertBatch(Orders(100)));
  auto& state = internal::DatabaseInternals::Extension<internal::ColumnarState>(*db1);
  auto count = [&](ColumnarStore& c, const Json& where) { return c.Count("Order", where)->count; };
  const Json hit = {{"email", "u150@x.io"}};
  EXPECT_EQ(count(c1, hit), 0);
  const int64_t loads = state.loads();
  db1->ResetStats();
  EXPECT_EQ(count(c1, {{"amount", {{"$gte", 10}}}}), 80);
  EXPECT_EQ(count(c1, hit), 0);
  EXPECT_EQ(state.loads(), loads);  // served from the cache
  // Another connection appends and deletes: the next read on db1 sees both.
  DOTDO_ASSERT_OK(c2.InsertBatch(Orders(100, kT0, 100)));
  EXPECT_EQ(count(c1, hit), 1);
  EXPECT_EQ(state.loads(), loads + 1);
  DOTDO_ASSERT_OK(c2.Delete({"o150"}));
  EXPECT_EQ(count(c1, hit), 0);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto q, c1.Query({.type = "Order", .where = {{"$id", "o150"}}}));
  EXPECT_TRUE(q.rows.empty());
  DOTDO_ASSERT_OK(c2.Compact());
  EXPECT_EQ(count(c1, {{"amount", {{"$gte", 0}}}}), 199);
  // A write on db1 itself, and a read inside db1's transaction after its own write.
  DOTDO_ASSERT_OK(c1.Update("o151", {{"email", "u150@x.io"}}));
  EXPECT_EQ(count(c1, hit), 1);
  Status rolled = db1->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(c1.Delete({"o151"}).status());
    EXPECT_EQ(count(c1, hit), 0);
    return InternalError("roll back");
  });
  EXPECT_THAT(rolled, StatusIs(StatusCode::kInternal));
  EXPECT_EQ(count(c1, hit), 1);  // the rollback dropped what the transaction saw
  EXPECT_EQ(count(c2, hit), 1);
}

// Random inserts, deletes, updates and compactions against a map id -> record.
TEST(ColumnarStoreTest, ModelBasedRandomOperations) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, {.max_chunk_rows = 16, .row_group_rows = 4, .subcolumn_threshold = 0.3});
  std::map<std::string, ColumnarRow> model;
  std::mt19937 rng(7);
  int next = 0;
  auto random_data = [&] {
    Json d = Json::object();
    if (rng() % 4) d["a"] = static_cast<int>(rng() % 50);
    if (rng() % 3 == 0) d["a"] = (rng() % 2) ? Json("s" + std::to_string(rng() % 5)) : Json(rng() % 100 / 4.0);
    if (rng() % 2) d["b"] = {{"c", rng() % 2 == 0}, {"d", nullptr}};
    if (rng() % 5 == 0) d["e"] = Json::array({1, 2});
    return d;
  };
  for (int step = 0; step < 300; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 5) {
      std::vector<ColumnarRecord> batch;
      const int n = 1 + static_cast<int>(rng() % 20);
      for (int i = 0; i < n; ++i) {
        const std::string id = "r" + std::to_string(next++);
        batch.push_back({.id = id, .type = rng() % 2 ? "A" : "B", .data = random_data(),
                         .created_at = kT0 + static_cast<int64_t>(rng() % 3) * kDay + step});
        model[id] = {id, batch.back().type, *batch.back().created_at, batch.back().data};
      }
      DOTDO_ASSERT_OK(col.InsertBatch(batch));
    } else if (op < 7 && next > 0) {
      std::vector<std::string> ids;
      for (int i = 0; i < 3; ++i) ids.push_back("r" + std::to_string(rng() % next));
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      int64_t expect = 0;
      for (const auto& id : ids) expect += model.erase(id);
      DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, col.Delete(ids));
      ASSERT_EQ(n, expect);
    } else if (op < 9 && next > 0) {
      const std::string id = "r" + std::to_string(rng() % next);
      const Json d = random_data();
      Status s = col.Update(id, d);
      if (model.contains(id)) {
        DOTDO_ASSERT_OK(s);
        model[id].data = d;
      } else {
        ASSERT_THAT(s, StatusIs(StatusCode::kNotFound));
      }
    } else {
      DOTDO_ASSERT_OK(col.Compact());
    }
    for (const char* type : {"A", "B"}) {
      DOTDO_ASSERT_OK_AND_ASSIGN(auto q, col.Query({.type = type, .order_by = "$id", .limit = 100000}));
      std::vector<ColumnarRow> expect;
      for (const auto& [id, row] : model)
        if (row.type == type) expect.push_back(row);
      std::sort(expect.begin(), expect.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
      ASSERT_EQ(q.rows, expect) << "step " << step << " type " << type;
      DOTDO_ASSERT_OK_AND_ASSIGN(auto c, col.Count(type));
      ASSERT_EQ(c.count, static_cast<int64_t>(expect.size()));
      // A time window, pruned by chunk and row-group statistics.
      const int64_t lo = kT0 + kDay + step / 2, hi = lo + kDay;
      DOTDO_ASSERT_OK_AND_ASSIGN(auto w, col.Count(type, {{"$createdAt", {{"$gte", lo}, {"$lt", hi}}}}));
      ASSERT_EQ(w.count, std::count_if(expect.begin(), expect.end(), [&](const auto& r) { return r.created_at >= lo && r.created_at < hi; }));
    }
  }
}

}  // namespace
}  // namespace dotdo
