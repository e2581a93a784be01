// GraphStore under disk faults (the fault-injecting VFS): failing the Nth write (EIO, ENOSPC) or
// sync (EIO, synchronous=FULL) of a Relate, a RelateMany batch or an UnrelateAll returns the
// fault's typed status and leaves, in the process and after a restart, either the whole change
// with exactly its events or none of it; the namespace keeps working (the retry succeeds).
#include <algorithm>

#include "dotdo/graph.h"
#include "testing/fault_util.h"

namespace dotdo {
namespace {

using internal::FaultError;
using internal::FaultOp;
using ::dotdo::testing::FaultLoopOptions;
using ::dotdo::testing::ForEachFaultPosition;
using ::dotdo::testing::IsOk;

class GraphFaultTest : public ::testing::TestWithParam<::dotdo::testing::DiskFaultCase> {};

std::vector<UnifiedEvent> GraphEvents(Database& db) {
  std::vector<UnifiedEvent> out;
  auto events = ChangeFeed(db).Read(0, 10000);
  EXPECT_THAT(events, IsOk());
  if (events.ok()) {
    for (auto& e : *events) {
      if (e.store == "graph") out.push_back(e);
    }
  }
  return out;
}

// Every stored edge has exactly one cdc.insert (keyed by its id) and no other event is present.
void ExpectEventsMatchEdges(Database& db, size_t expected_edges) {
  auto edges = db.QueryReadOnly("SELECT id FROM graph_relationships ORDER BY id");
  ASSERT_THAT(edges, IsOk());
  ASSERT_EQ(edges->size(), expected_edges);
  std::vector<std::string> ids, keys;
  for (const Json& e : *edges) ids.push_back(e["id"].get<std::string>());
  for (const auto& e : GraphEvents(db)) {
    EXPECT_EQ(e.type, "cdc.insert");
    keys.push_back(*e.key);
  }
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, ids);
}

TEST_P(GraphFaultTest, RelateIsAllOrNothingAndTheRetrySucceeds) {
  const int faulted = ForEachFaultPosition(
      GetParam().options,
      [](Database& db) { DOTDO_ASSERT_OK(GraphStore(db).Relate("User/a", "User/b", "follows")); },
      [](Database& db) { return GraphStore(db).Relate("User/a", "User/c", "follows", {{"w", 2}}).status(); },
      [](Database& db, const Status& st, bool) {
        GraphStore g(db);
        EXPECT_EQ(*g.Exists("User/a", "User/c", "follows"), st.ok());
        if (!st.ok()) {
          DOTDO_ASSERT_OK(g.Relate("User/a", "User/c", "follows", {{"w", 2}}));
        }
      },
      [](Database& db, const Status&, bool) {
        GraphStore g(db);
        DOTDO_ASSERT_OK_AND_ASSIGN(Edge e, g.GetEdge("User/a", "User/c", "follows"));
        EXPECT_EQ(e.data["w"], 2);
        ExpectEventsMatchEdges(db, 2);
      });
  EXPECT_GE(faulted, 1);
}

TEST_P(GraphFaultTest, RelateManyIsAllOrNothing) {
  std::vector<EdgeInput> batch;
  for (int i = 0; i < 8; ++i) batch.push_back({"Post/p" + std::to_string(i), "Tag/t", "tagged", {{"pad", std::string(400, 't')}}});
  const int faulted = ForEachFaultPosition(
      GetParam().options,
      [](Database& db) { DOTDO_ASSERT_OK(GraphStore(db).Relate("User/a", "User/b", "follows")); },
      [&](Database& db) { return GraphStore(db).RelateMany(batch).status(); },
      [](Database& db, const Status& st, bool) { EXPECT_EQ(*GraphStore(db).InDegree("Tag/t"), st.ok() ? 8 : 0); },
      [](Database& db, const Status& st, bool) {
        EXPECT_EQ(*GraphStore(db).InDegree("Tag/t"), st.ok() ? 8 : 0);
        ExpectEventsMatchEdges(db, st.ok() ? 9 : 1);
      });
  EXPECT_GE(faulted, 1);
}

TEST_P(GraphFaultTest, UnrelateAllIsAllOrNothing) {
  const int faulted = ForEachFaultPosition(
      GetParam().options,
      [](Database& db) {
        GraphStore g(db);
        for (int i = 0; i < 5; ++i) DOTDO_ASSERT_OK(g.Relate("User/hub", "User/u" + std::to_string(i), "follows"));
      },
      [](Database& db) { return GraphStore(db).UnrelateAll("User/hub").status(); },
      [](Database& db, const Status& st, bool) { EXPECT_EQ(*GraphStore(db).OutDegree("User/hub"), st.ok() ? 0 : 5); },
      [](Database& db, const Status& st, bool) {
        EXPECT_EQ(*GraphStore(db).OutDegree("User/hub"), st.ok() ? 0 : 5);
        size_t deletes = 0;
        for (const auto& e : GraphEvents(db)) deletes += e.type == "cdc.delete";
        EXPECT_EQ(deletes, st.ok() ? 5u : 0u);
      });
  EXPECT_GE(faulted, 1);
}

INSTANTIATE_TEST_SUITE_P(Faults, GraphFaultTest, ::testing::ValuesIn(::dotdo::testing::kDiskFaultCases),
                         ::dotdo::testing::DiskFaultCaseName);

}  // namespace
}  // namespace dotdo
