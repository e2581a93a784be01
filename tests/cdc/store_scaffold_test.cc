// The store scaffold: every store opens the same way (errors returned, not dropped), its schema is
// made once per Database and made again after a rollback undid it, per-Database state is created
// once even when threads race on first use, and change events carry typed ops.
#include <atomic>
#include <thread>
#include <vector>

#include "cdc/store_scaffold.h"
#include "dotdo/blob.h"
#include "dotdo/cdc.h"
#include "dotdo/document.h"
#include "dotdo/graph.h"
#include "dotdo/timeseries.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using testing::IsOk;
using testing::StatusIs;

constexpr std::string_view kWidgetMigrations[] = {"CREATE TABLE widget_items (id TEXT PRIMARY KEY) STRICT"};
const internal::StoreSpec kWidgetSpec{.name = "widget", .table_prefix = "widget_", .migrations = kWidgetMigrations};

struct CountingState {
  explicit CountingState(Database&) { ++constructed; }
  static inline std::atomic<int> constructed{0};
};

int64_t TableCount(Database& db, const std::string& name) {
  auto r = db.QueryReadOnly("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table' AND name = ?1", {name});
  EXPECT_THAT(r, IsOk());
  return r.ok() ? (*r)[0]["n"].get<int64_t>() : -1;
}

TEST(StoreScaffoldTest, StateIsCreatedOnceWhenThreadsRaceOnFirstUse) {
  auto db = testing::OpenMemoryDb();
  CountingState::constructed = 0;
  std::vector<std::thread> threads;
  std::vector<CountingState*> seen(8, nullptr);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto s = internal::StoreStateOf<CountingState>(*db, kWidgetSpec);
      if (s.ok()) seen[i] = *s;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(CountingState::constructed.load(), 1);
  for (auto* s : seen) EXPECT_EQ(s, seen[0]);
  EXPECT_NE(seen[0], nullptr);
}

TEST(StoreScaffoldTest, SchemaMadeInsideARolledBackTransactionIsMadeAgain) {
  auto db = testing::OpenMemoryDb();
  Status st = db->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(internal::StoreStateOf(*db, kWidgetSpec).status());
    return AbortedError("give up");
  });
  EXPECT_THAT(st, StatusIs(StatusCode::kAborted));
  EXPECT_EQ(TableCount(*db, "widget_items"), 0);  // the rollback took the table with it
  DOTDO_ASSERT_OK(internal::StoreStateOf(*db, kWidgetSpec).status());
  EXPECT_EQ(TableCount(*db, "widget_items"), 1);
  EXPECT_EQ(TableCount(*db, "cdc_events"), 1);
}

TEST(StoreScaffoldTest, ADocumentStoreFirstUsedInARolledBackTransactionStillWorks) {
  auto db = testing::OpenMemoryDb();
  DocumentStore docs(*db);
  Status st = db->Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(docs.Create({{"$type", "T"}, {"$id", "a"}}).status());
    return AbortedError("give up");
  });
  EXPECT_THAT(st, StatusIs(StatusCode::kAborted));
  DOTDO_ASSERT_OK(docs.Create({{"$type", "T"}, {"$id", "b"}}).status());
  EXPECT_THAT(docs.Get("a"), StatusIs(StatusCode::kNotFound));
  DOTDO_EXPECT_OK(docs.Get("b").status());
  auto events = ChangeFeed(*db).Read(0);
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].op, "c");
}

// A namespace whose `meta` says a store's tables are newer than this build.
std::unique_ptr<Database> DbWithFutureSchema(const std::string& component) {
  auto db = testing::OpenMemoryDb();
  auto r = db->QueryReadOnly("SELECT 1");
  EXPECT_THAT(r, IsOk());
  internal::Connection& conn = internal::DatabaseInternals::Conn(*db);
  EXPECT_THAT(conn.Exec("INSERT INTO meta(key, value) VALUES ('schema." + component + "', '999')"), IsOk());
  return db;
}

TEST(StoreScaffoldTest, OpenReturnsTheErrorOfATooNewSchema) {
  {
    auto db = DbWithFutureSchema("document");
    EXPECT_THAT(DocumentStore::Open(*db), StatusIs(StatusCode::kFailedPrecondition, "upgrade dotdo"));
    // The lazy handle reports the same error on its first call instead of dropping it.
    DocumentStore lazy(*db);
    EXPECT_THAT(lazy.Create({{"$type", "T"}}), StatusIs(StatusCode::kFailedPrecondition, "upgrade dotdo"));
  }
  {
    auto db = DbWithFutureSchema("graph");
    EXPECT_THAT(GraphStore::Open(*db), StatusIs(StatusCode::kFailedPrecondition, "upgrade dotdo"));
  }
  {
    testing::ScratchDir dir;
    auto objects = LocalObjectStore::Open(dir.path() / "objects");
    ASSERT_THAT(objects, IsOk());
    auto db = DbWithFutureSchema("blob");
    EXPECT_THAT(BlobStore::Open(*db, **objects), StatusIs(StatusCode::kFailedPrecondition, "upgrade dotdo"));
  }
}

// Reads never create tables (docs/architecture.md, "How to add a store"): on a namespace where a
// store (document, graph, timeseries) was never written, every read answers as for an empty store and the file is unchanged —
// also when the namespace is opened read-only.
TEST(StoreScaffoldTest, ReadsOfStoresNeverWrittenCreateNoTables) {
  testing::ScratchDir dir;
  { DOTDO_ASSERT_OK(Database::Open(dir.path(), "ns")); }
  for (bool read_only : {true, false}) {
    SCOPED_TRACE(read_only ? "read-only" : "writable");
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "ns", {.read_only = read_only}));
    DOTDO_ASSERT_OK_AND_ASSIGN(DocumentStore docs, DocumentStore::Open(*db));
    EXPECT_THAT(docs.Get("x"), StatusIs(StatusCode::kNotFound));
    EXPECT_THAT(docs.GetAsOf("x", 0), StatusIs(StatusCode::kNotFound));
    EXPECT_THAT(docs.History("x"), StatusIs(StatusCode::kNotFound));
    DOTDO_ASSERT_OK_AND_ASSIGN(DocumentPage page, docs.Query({.type = "T", .where = {{"a", {{"$gt", 1}}}}}));
    EXPECT_TRUE(page.items.empty());
    EXPECT_THAT(docs.Query({.type = "T", .where = {{"a", {{"$bogus", 1}}}}}), StatusIs(StatusCode::kInvalidArgument));
    DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, docs.Count("T", {{"a", 1}}));
    EXPECT_EQ(n, 0);
    DOTDO_EXPECT_OK(docs.Explain({.type = "T"}));

    DOTDO_ASSERT_OK_AND_ASSIGN(GraphStore graph, GraphStore::Open(*db));
    DOTDO_ASSERT_OK_AND_ASSIGN(EdgePage out, graph.Outgoing("N/a"));
    EXPECT_TRUE(out.items.empty());
    DOTDO_ASSERT_OK_AND_ASSIGN(EdgePage both, graph.Both("N/a"));
    EXPECT_TRUE(both.items.empty());
    DOTDO_ASSERT_OK_AND_ASSIGN(bool exists, graph.Exists("N/a", "N/b", "t"));
    EXPECT_FALSE(exists);
    EXPECT_THAT(graph.GetEdge("N/a", "N/b", "t"), StatusIs(StatusCode::kNotFound));
    DOTDO_ASSERT_OK_AND_ASSIGN(auto reached, graph.Traverse({.start = "N/a", .max_depth = 3}));
    EXPECT_TRUE(reached.empty());
    DOTDO_ASSERT_OK_AND_ASSIGN(auto path, graph.ShortestPath({.from = "N/a", .to = "N/b"}));
    EXPECT_FALSE(path.has_value());
    DOTDO_ASSERT_OK_AND_ASSIGN(auto self, graph.ShortestPath({.from = "N/a", .to = "N/a"}));
    ASSERT_TRUE(self.has_value());
    EXPECT_EQ(self->nodes, std::vector<std::string>{"N/a"});
    DOTDO_ASSERT_OK_AND_ASSIGN(auto cycle, graph.DetectCycle("N/a"));
    EXPECT_FALSE(cycle.has_value());
    EXPECT_THAT(graph.Traverse({.start = "N/a", .max_depth = -1}), StatusIs(StatusCode::kInvalidArgument));

    DOTDO_ASSERT_OK_AND_ASSIGN(TimeSeriesStore ts, TimeSeriesStore::Open(*db));
    EXPECT_THAT(ts.Get("cpu"), StatusIs(StatusCode::kNotFound));
    EXPECT_THAT(ts.GetAsOf("cpu", 1000), StatusIs(StatusCode::kNotFound));
    DOTDO_ASSERT_OK_AND_ASSIGN(TimeSeriesRange range, ts.Range("cpu"));
    DOTDO_ASSERT_OK_AND_ASSIGN(bool any, range.Next());
    EXPECT_FALSE(any);
    DOTDO_ASSERT_OK_AND_ASSIGN(TimeSeriesAggregate agg, ts.Aggregate("cpu", {.bucket_ms = 60'000}));
    EXPECT_TRUE(agg.buckets.empty());
    DOTDO_ASSERT_OK_AND_ASSIGN(auto series, ts.ListSeries("cpu", {{"host", "a"}}));
    EXPECT_TRUE(series.empty());
    DOTDO_ASSERT_OK_AND_ASSIGN(auto snapshots, ts.ListSnapshots());
    EXPECT_TRUE(snapshots.empty());
    EXPECT_THAT(ts.Aggregate("cpu", {.bucket_ms = 0}), StatusIs(StatusCode::kInvalidArgument));

    DOTDO_ASSERT_OK_AND_ASSIGN(auto tables, db->QueryReadOnly("SELECT name FROM sqlite_schema WHERE name <> 'meta' AND name NOT LIKE 'sqlite_%'"));
    EXPECT_TRUE(tables.empty()) << tables.dump();
  }
}

TEST(StoreScaffoldTest, OpenChecksOptions) {
  auto db = testing::OpenMemoryDb();
  EXPECT_THAT(DocumentStore::Open(*db, {.max_document_bytes = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(DocumentStore::Open(*db, {.history_retention_millis = -2}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(DocumentStore::Open(*db, {.bloom_blocks = 0}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(GraphStore::Open(*db, {.max_visited_nodes = 0}), StatusIs(StatusCode::kInvalidArgument));
  DOTDO_EXPECT_OK(DocumentStore::Open(*db).status());
  DOTDO_EXPECT_OK(GraphStore::Open(*db).status());
}

TEST(StoreScaffoldTest, ChangeOpsHaveTheSeedsLettersAndTypes) {
  EXPECT_EQ(ChangeOpCode(ChangeOp::kInsert), "c");
  EXPECT_EQ(ChangeOpCode(ChangeOp::kUpdate), "u");
  EXPECT_EQ(ChangeOpCode(ChangeOp::kDelete), "d");
  EXPECT_EQ(ChangeOpCode(ChangeOp::kRead), "r");
  EXPECT_EQ(ChangeOpEventType(ChangeOp::kInsert), "cdc.insert");
  EXPECT_EQ(ChangeOpEventType(ChangeOp::kRead), "cdc.read");
  for (ChangeOp op : {ChangeOp::kInsert, ChangeOp::kUpdate, ChangeOp::kDelete, ChangeOp::kRead}) {
    auto parsed = ParseChangeOp(ChangeOpCode(op));
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, op);
  }
  EXPECT_THAT(ParseChangeOp("x"), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace dotdo
