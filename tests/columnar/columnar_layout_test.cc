// ColumnarStore chunk layouts: from schema version 3 a chunk keeps one col_groups row per (column,
// row group) and per-group blooms, so a read fetches only the groups it decodes (shown with the
// groups counters and db.stats().rows_read) and a lookup on a bloom column reads one group per
// column; the row writes of a chunk are columns x groups. Chunks written by versions 1 and 2 (one
// col_columns row per column: a single frame, or a grouped blob) stay readable next to new ones,
// and a version 2 namespace migrates to version 3 on open.
#include <map>
#include <random>

#include "columnar/columnar_internal.h"
#include "core/database_internals.h"
#include "dotdo/columnar.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using internal::ChunkLayout;
using internal::ChunkMeta;
using internal::Connection;
using internal::DatabaseInternals;

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

std::vector<ColumnarRecord> Orders(int n, int first = 0) {
  static const char* kStatus[] = {"paid", "open", "refunded", "shipped", "void"};
  std::vector<ColumnarRecord> out;
  for (int i = first; i < first + n; ++i)
    out.push_back({.id = "o" + std::to_string(i), .type = "Order",
                   .data = {{"status", kStatus[i % 5]}, {"amount", i * 0.5}, {"email", "u" + std::to_string(i) + "@x.io"}},
                   .created_at = kT0 + i});
  return out;
}

int64_t Scalar(Database& db, const std::string& sql) {
  auto r = db.QueryReadOnly(sql);
  return r.ok() ? (*r)[0].begin()->get<int64_t>() : -1;
}

// Rewrites every version 3 chunk as an older build stored it: one col_columns row per column — a
// single frame without a row-group index (version 1) or a grouped blob (version 2) — and an
// accelerator without per-group blooms.
Status RewriteAsColumnBlobs(Database& db, bool grouped) {
  Connection& conn = DatabaseInternals::Conn(db);
  return db.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(std::vector<ChunkMeta> chunks, internal::LoadChunks(conn, ""));
    for (const ChunkMeta& m : chunks) {
      if (m.layout != ChunkLayout::kGroupRows) continue;
      std::map<std::string, std::vector<std::string>> frames;
      DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT name, data FROM col_groups WHERE chunk_id = ?1 ORDER BY name, grp"));
      st.Bind(1, m.chunk_id);
      while (true) {
        DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        frames[st.ColumnString(0)].emplace_back(st.ColumnBlob(1));
      }
      for (const auto& [name, list] : frames) {
        std::string blob;
        if (grouped) {
          blob.push_back(2);
          internal::PutVarint(blob, static_cast<uint64_t>(m.group_rows));
          internal::PutVarint(blob, list.size());
          for (const std::string& f : list) internal::PutVarint(blob, f.size());
          for (const std::string& f : list) blob += f;
        } else {
          std::vector<std::string_view> views(list.begin(), list.end());
          DOTDO_ASSIGN_OR_RETURN(internal::ColumnData c, internal::DecodeGroupFrames(views, static_cast<size_t>(m.rows),
                                                                                      static_cast<size_t>(m.group_rows)));
          blob = internal::EncodeColumn(c);
        }
        DOTDO_ASSIGN_OR_RETURN(auto put, conn.Prepare("INSERT INTO col_columns (chunk_id, name, data) VALUES (?1, ?2, ?3)"));
        put.Bind(1, m.chunk_id).Bind(2, name).BindBlob(3, blob);
        DOTDO_RETURN_IF_ERROR(put.Run());
      }
      DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM col_groups WHERE chunk_id = ?1"));
      del.Bind(1, m.chunk_id);
      DOTDO_RETURN_IF_ERROR(del.Run());
      DOTDO_ASSIGN_OR_RETURN(internal::ChunkAccel accel, internal::LoadAccel(conn, m.chunk_id));
      accel.groups.clear();
      const std::string stats = grouped ? internal::EncodeChunkStats(m.columns, m.groups, m.group_rows) : internal::EncodeChunkStats(m.columns);
      DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare("UPDATE col_chunks SET stats = ?2, accel = ?3 WHERE chunk_id = ?1"));
      up.Bind(1, m.chunk_id).BindBlob(2, stats).BindBlob(3, internal::EncodeAccel(accel));
      DOTDO_RETURN_IF_ERROR(up.Run());
    }
    return OkStatus();
  });
}

// The answers of a fixed set of reads, to compare a store before and after a layout change.
struct Answers {
  std::vector<ColumnarRow> range, by_email, all;
  ColumnarRow got;
  int64_t count = 0;
  std::vector<Json> groups;
  bool operator==(const Answers&) const = default;
};

// The value of a read, or a recorded failure and an empty value.
template <typename T>
T Value(Result<T> r, const char* what) {
  if (r.ok()) return std::move(*r);
  ADD_FAILURE() << what << ": " << r.status().ToString();
  return T{};
}

Answers Read(ColumnarStore& col) {
  Answers a;
  a.range = Value(col.Query({.type = "Order", .where = {{"$createdAt", {{"$gte", kT0 + 1000}, {"$lt", kT0 + 1010}}}}, .limit = 100}),
                  "range").rows;
  a.by_email = Value(col.Query({.type = "Order", .where = {{"email", "u2345@x.io"}}}), "by email").rows;
  a.all = Value(col.Query({.type = "Order", .columns = {"amount"}, .order_by = "$id", .limit = 100000}), "all").rows;
  a.got = Value(col.Get("o2999"), "get");
  a.count = Value(col.Count("Order", {{"amount", {{"$gte", 100}}}}), "count").count;
  a.groups = Value(col.Aggregate({.type = "Order", .group_by = {"status"}, .metrics = {"count", "sum:amount"}}), "aggregate").groups;
  return a;
}

TEST(ColumnarLayoutTest, ReadsFetchOnlyTheGroupsTheyDecode) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, {.bloom_columns = {"email"}});
  std::vector<ColumnarRecord> recs = Orders(10'000);
  std::shuffle(recs.begin(), recs.end(), std::mt19937(5));
  DOTDO_ASSERT_OK(col.InsertBatch(recs));
  EXPECT_EQ(Scalar(*db, "SELECT COUNT(*) FROM col_groups"), 5 * 10);  // 5 columns x 10 groups of 1024
  EXPECT_EQ(Scalar(*db, "SELECT COUNT(*) FROM col_columns"), 0);
  // An absent email inside the column's min/max: fills the metadata and bloom cache.
  DOTDO_ASSERT_OK(col.Count("Order", {{"email", "u99999@x.io"}}).status());
  // A lookup on the bloom column: the per-group blooms leave one group, so one col_groups row of
  // each column is read (email to find the row, then $id, $createdAt, status, amount).
  db->ResetStats();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto hit, col.Query({.type = "Order", .where = {{"email", "u7777@x.io"}}, .limit = 1}));
  ASSERT_EQ(hit.rows.size(), 1u);
  EXPECT_EQ(hit.rows[0].id, "o7777");
  EXPECT_EQ(hit.rows[0].data, Orders(1, 7777)[0].data);
  EXPECT_EQ(hit.scan.chunks_read, 1);
  EXPECT_EQ(hit.scan.groups_read, 1);
  EXPECT_EQ(hit.scan.groups_skipped, 9);
  EXPECT_EQ(db->stats().rows_read, 5);
  // A narrow time range with one returned column: $createdAt, $id and amount of one group.
  db->ResetStats();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto range, col.Query({.type = "Order", .where = {{"$createdAt", {{"$gte", kT0 + 5000}, {"$lt", kT0 + 5100}}}},
                                                    .columns = {"amount"}, .limit = 10000}));
  ASSERT_EQ(range.rows.size(), 100u);
  EXPECT_EQ(range.rows[0].data, (Json{{"amount", 2500.0}}));
  EXPECT_EQ(range.scan.groups_read, 1);
  EXPECT_EQ(db->stats().rows_read, 3);
  // Two groups far apart: only those two are fetched, not the span between them.
  db->ResetStats();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto either, col.Count("Order", {{"$or", {{{"$createdAt", kT0 + 10}}, {{"$createdAt", kT0 + 9990}}}}}));
  EXPECT_EQ(either.count, 2);
  EXPECT_EQ(either.scan.groups_read, 2);
  EXPECT_EQ(db->stats().rows_read, 2);
  // Get by $id: the per-group $id blooms narrow it to one group as well.
  db->ResetStats();
  DOTDO_ASSERT_OK_AND_ASSIGN(ColumnarRow got, col.Get("o4321"));
  EXPECT_EQ(got.data, Orders(1, 4321)[0].data);
  EXPECT_EQ(db->stats().rows_read, 5);
  // A full scan of one column reads its ten groups.
  db->ResetStats();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto full, col.Count("Order", {{"amount", {{"$gte", 0}}}}));
  EXPECT_EQ(full.count, 10'000);
  EXPECT_EQ(db->stats().rows_read, 10);
}

TEST(ColumnarLayoutTest, RowWritesAreColumnsTimesGroups) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, {.bloom_columns = {"email"}});
  DOTDO_ASSERT_OK(col.InsertBatch(Orders(10)));  // the schema, first path statistics
  db->ResetStats();
  DOTDO_ASSERT_OK(col.InsertBatch(Orders(3000, 10)));
  // 5 columns x 3 groups (1024 + 1024 + 952 rows), the chunk row, the type statistics, the event.
  EXPECT_EQ(db->stats().rows_written, 5 * 3 + 1 + 1 + 1);
}

// Chunks written before row groups (one frame per column, no group index) are read whole.
TEST(ColumnarLayoutTest, ChunksWithoutRowGroupsStayReadable) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, {.bloom_columns = {"email"}});
  DOTDO_ASSERT_OK(col.InsertBatch(Orders(3000)));
  const Answers before = Read(col);
  DOTDO_ASSERT_OK(RewriteAsColumnBlobs(*db, /*grouped=*/false));
  EXPECT_EQ(Scalar(*db, "SELECT COUNT(*) FROM col_groups"), 0);
  EXPECT_EQ(Read(col), before);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto range, col.Query({.type = "Order", .where = {{"$createdAt", {{"$gte", kT0 + 1000}, {"$lt", kT0 + 1010}}}},
                                                    .limit = 100}));
  EXPECT_EQ(range.rows.size(), 10u);
  EXPECT_EQ(range.scan.chunks_read, 1);
  EXPECT_EQ(range.scan.groups_read + range.scan.groups_skipped, 0);
  // Compaction leaves it alone (one chunk, no tombstones); a delete then compaction rewrites it with groups.
  DOTDO_ASSERT_OK(col.Delete({"o0"}));
  DOTDO_ASSERT_OK(col.Compact());
  DOTDO_ASSERT_OK_AND_ASSIGN(range, col.Query({.type = "Order", .where = {{"$createdAt", {{"$gte", kT0 + 1000}, {"$lt", kT0 + 1010}}}},
                                               .limit = 100}));
  EXPECT_EQ(range.rows.size(), 10u);
  EXPECT_EQ(range.scan.groups_read, 1);
  EXPECT_EQ(Scalar(*db, "SELECT COUNT(*) FROM col_columns"), 0);
}

// Version 2 chunks (a grouped blob per column) decode only their wanted groups, next to version 3
// chunks of the same partition.
TEST(ColumnarLayoutTest, GroupedColumnBlobsStayReadableNextToGroupRows) {
  auto db = testing::OpenMemoryDb();
  ColumnarStore col(*db, {.bloom_columns = {"email"}});
  DOTDO_ASSERT_OK(col.InsertBatch(Orders(2000)));
  DOTDO_ASSERT_OK(RewriteAsColumnBlobs(*db, /*grouped=*/true));
  DOTDO_ASSERT_OK(col.InsertBatch(Orders(1000, 2000)));  // a version 3 chunk
  EXPECT_EQ(Scalar(*db, "SELECT COUNT(*) FROM col_columns"), 5);
  EXPECT_EQ(Scalar(*db, "SELECT COUNT(*) FROM col_groups"), 5);
  auto fresh = testing::OpenMemoryDb();
  ColumnarStore ref(*fresh, {.bloom_columns = {"email"}});
  DOTDO_ASSERT_OK(ref.InsertBatch(Orders(2000)));
  DOTDO_ASSERT_OK(ref.InsertBatch(Orders(1000, 2000)));
  EXPECT_EQ(Read(col), Read(ref));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto range, col.Query({.type = "Order", .where = {{"$createdAt", {{"$gte", kT0 + 1000}, {"$lt", kT0 + 1010}}}},
                                                    .limit = 100}));
  EXPECT_EQ(range.rows.size(), 10u);
  EXPECT_EQ(range.scan.groups_read, 1);
  EXPECT_EQ(range.scan.groups_skipped, 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(ColumnarRow old_row, col.Get("o1500"));
  EXPECT_EQ(old_row.data, Orders(1, 1500)[0].data);
  DOTDO_ASSERT_OK(col.Update("o1500", {{"status", "void"}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(old_row, col.Get("o1500"));
  EXPECT_EQ(old_row.data, (Json{{"status", "void"}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto n, col.Delete({"o1501", "o2500"}));
  EXPECT_EQ(n, 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto all, col.Count("Order"));
  EXPECT_EQ(all.count, 2998);
}

// A namespace at schema version 2 opens as version 4: col_groups is created, col_chunks becomes
// AUTOINCREMENT (chunk ids kept), the old chunks are read as they are, new chunks use group rows,
// and compaction moves a partition to group rows.
TEST(ColumnarLayoutTest, SchemaVersion2NamespaceMigrates) {
  testing::ScratchDir dir;
  Answers before;
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "mig"));
    ColumnarStore col(*db, {.bloom_columns = {"email"}});
    DOTDO_ASSERT_OK(col.InsertBatch(Orders(3000)));
    before = Read(col);
    DOTDO_ASSERT_OK(RewriteAsColumnBlobs(*db, /*grouped=*/true));
    DOTDO_ASSERT_OK(DatabaseInternals::Conn(*db).Exec(
        "DROP TABLE col_groups; UPDATE meta SET value = '2' WHERE key = 'schema.columnar'"));
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "mig"));
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t version, DatabaseInternals::SchemaVersion(*db, "columnar"));
  EXPECT_EQ(version, 2);
  ColumnarStore col(*db, {.bloom_columns = {"email"}});
  EXPECT_EQ(Read(col), before);  // the first read migrates
  DOTDO_ASSERT_OK_AND_ASSIGN(version, DatabaseInternals::SchemaVersion(*db, "columnar"));
  EXPECT_EQ(version, 4);
  EXPECT_EQ(Scalar(*db, "SELECT COUNT(*) FROM col_groups"), 0);
  EXPECT_EQ(Scalar(*db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'col_chunks' AND sql LIKE '%AUTOINCREMENT%'"), 1);
  DOTDO_ASSERT_OK(col.InsertBatch(Orders(500, 3000)));
  EXPECT_EQ(Scalar(*db, "SELECT COUNT(*) FROM col_groups"), 5);
  DOTDO_ASSERT_OK(col.Delete({"o3"}));
  DOTDO_ASSERT_OK(col.Compact());
  EXPECT_EQ(Scalar(*db, "SELECT COUNT(*) FROM col_columns"), 0);
  EXPECT_EQ(Scalar(*db, "SELECT COUNT(*) FROM col_groups"), 5 * 4);  // 3499 rows: 4 groups
  DOTDO_ASSERT_OK_AND_ASSIGN(auto all, col.Count("Order"));
  EXPECT_EQ(all.count, 3499);
  DOTDO_ASSERT_OK_AND_ASSIGN(ColumnarRow got, col.Get("o3499"));
  EXPECT_EQ(got.data, Orders(1, 3499)[0].data);
}

}  // namespace
}  // namespace dotdo
