// GraphStore traversals, paths and cycles on small hand-built graphs: BFS/DFS order, depths and
// paths, limits, direction and algorithm parsing, shortest/weighted/any paths, cycles of length 1,
// 2 and long, and acyclic relation types that refuse edges (persisted across reopen).
#include "dotdo/graph.h"

#include "dotdo/cdc.h"
#include "graph/graph_test_util.h"

namespace dotdo {
namespace {

std::vector<std::string> Ids(const std::vector<TraversedNode>& nodes) {
  std::vector<std::string> out;
  for (const auto& n : nodes) out.push_back(n.id + "@" + std::to_string(n.depth));
  return out;
}

// a -> b -> d -> f
// a -> c -> d, c -> e, e -> a (back), x -> a (incoming only)
class TraversalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::OpenMemoryDb();
    g_ = std::make_unique<GraphStore>(*db_);
    for (auto [f, t] : std::vector<std::pair<const char*, const char*>>{
             {"N/a", "N/b"}, {"N/a", "N/c"}, {"N/b", "N/d"}, {"N/c", "N/d"}, {"N/c", "N/e"},
             {"N/d", "N/f"}, {"N/e", "N/a"}, {"N/x", "N/a"}}) {
      ASSERT_THAT(g_->Relate(f, t, "link"), IsOk());
    }
    ASSERT_THAT(g_->Relate("N/a", "N/z", "other"), IsOk());
  }
  std::unique_ptr<Database> db_;
  std::unique_ptr<GraphStore> g_;
};

TEST_F(TraversalTest, BfsReportsNodesInDistanceOrderWithPaths) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto nodes, g_->Traverse({.start = "N/a", .types = {"link"}, .max_depth = 10}));
  EXPECT_THAT(Ids(nodes), ElementsAre("N/b@1", "N/c@1", "N/d@2", "N/e@2", "N/f@3"));
  EXPECT_THAT(nodes[2].path, ElementsAre("N/a", "N/b", "N/d"));
  EXPECT_THAT(nodes[4].path, ElementsAre("N/a", "N/b", "N/d", "N/f"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto all_types, g_->Traverse({.start = "N/a", .max_depth = 1}));
  EXPECT_THAT(Ids(all_types), ElementsAre("N/b@1", "N/c@1", "N/z@1"));
}

TEST_F(TraversalTest, DepthAndLimitBoundTheResult) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto d2, g_->Traverse({.start = "N/a", .types = {"link"}, .max_depth = 2}));
  EXPECT_THAT(Ids(d2), ElementsAre("N/b@1", "N/c@1", "N/d@2", "N/e@2"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto d0, g_->Traverse({.start = "N/a", .max_depth = 0}));
  EXPECT_THAT(d0, IsEmpty());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto l3, g_->Traverse({.start = "N/a", .types = {"link"}, .max_depth = 5, .limit = 3}));
  EXPECT_THAT(Ids(l3), ElementsAre("N/b@1", "N/c@1", "N/d@2"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto l3d, g_->Traverse({.start = "N/a", .types = {"link"}, .max_depth = 5,
                                                     .algorithm = TraversalAlgorithm::kDfs, .limit = 3}));
  EXPECT_EQ(l3d.size(), 3u);
  EXPECT_THAT(g_->Traverse({.start = "N/a", .max_depth = -1}), StatusIs(StatusCode::kInvalidArgument, ">= 0"));
  EXPECT_THAT(g_->Traverse({.start = "N/a", .max_depth = 1001}), StatusIs(StatusCode::kInvalidArgument, "cap of 1000"));
  EXPECT_THAT(g_->Traverse({.start = "N/a", .limit = 0}), StatusIs(StatusCode::kInvalidArgument, "limit"));
  EXPECT_THAT(g_->ShortestPath({.from = "N/a", .to = "N/f", .max_depth = 5000}),
              StatusIs(StatusCode::kInvalidArgument, "cap"));
}

TEST_F(TraversalTest, DfsIsPreorderAndStillReachesEverythingWithinDepth) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto nodes, g_->Traverse({.start = "N/a", .types = {"link"}, .max_depth = 10,
                                                       .algorithm = TraversalAlgorithm::kDfs}));
  EXPECT_THAT(Ids(nodes), ElementsAre("N/b@1", "N/d@2", "N/f@3", "N/c@1", "N/e@2"));
  EXPECT_THAT(nodes[2].path, ElementsAre("N/a", "N/b", "N/d", "N/f"));
  // f is 3 hops away through b; with max_depth 3 DFS must find it even when it explores c's side first.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto d3, g_->Traverse({.start = "N/a", .types = {"link"}, .max_depth = 3,
                                                    .algorithm = TraversalAlgorithm::kDfs}));
  EXPECT_EQ(d3.size(), 5u);
}

TEST_F(TraversalTest, DirectionsFollowIncomingOrBothEdges) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto in, g_->Traverse({.start = "N/a", .direction = EdgeDirection::kIn, .max_depth = 5}));
  EXPECT_THAT(Ids(in), ElementsAre("N/e@1", "N/x@1", "N/c@2"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto both, g_->Traverse({.start = "N/f", .direction = EdgeDirection::kBoth, .max_depth = 1}));
  EXPECT_THAT(Ids(both), ElementsAre("N/d@1"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto none, g_->Traverse({.start = "Ghost/1"}));
  EXPECT_THAT(none, IsEmpty());
}

TEST(GraphParsingTest, DirectionAndAlgorithmNamesRoundTripAndBadOnesAreRejected) {
  for (auto d : {EdgeDirection::kOut, EdgeDirection::kIn, EdgeDirection::kBoth})
    EXPECT_THAT(ParseEdgeDirection(EdgeDirectionName(d)), IsOkAndHolds(d));
  for (auto a : {TraversalAlgorithm::kBfs, TraversalAlgorithm::kDfs})
    EXPECT_THAT(ParseTraversalAlgorithm(TraversalAlgorithmName(a)), IsOkAndHolds(a));
  EXPECT_THAT(ParseEdgeDirection("sideways"), StatusIs(StatusCode::kInvalidArgument, "out, in, both"));
  EXPECT_THAT(ParseEdgeDirection("OUT"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseTraversalAlgorithm("astar"), StatusIs(StatusCode::kInvalidArgument, "bfs, dfs"));
}

TEST_F(TraversalTest, ShortestPathReturnsFewestEdgesWithTheEdges) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto p, g_->ShortestPath({.from = "N/a", .to = "N/f"}));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->nodes.size(), 4u);
  EXPECT_EQ(p->nodes.front(), "N/a");
  EXPECT_EQ(p->nodes.back(), "N/f");
  EXPECT_EQ(p->cost, 3);
  ASSERT_EQ(p->edges.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(p->edges[i].from, p->nodes[i]);
    EXPECT_EQ(p->edges[i].to, p->nodes[i + 1]);
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto self, g_->ShortestPath({.from = "N/a", .to = "N/a"}));
  ASSERT_TRUE(self.has_value());
  EXPECT_THAT(self->nodes, ElementsAre("N/a"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto back, g_->ShortestPath({.from = "N/f", .to = "N/a"}));
  EXPECT_FALSE(back.has_value());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rev, g_->ShortestPath({.from = "N/f", .to = "N/a", .direction = EdgeDirection::kIn}));
  ASSERT_TRUE(rev.has_value());
  EXPECT_EQ(rev->nodes.size(), 4u);
  EXPECT_EQ(rev->edges[0].to, "N/f");  // stored direction is kept
  DOTDO_ASSERT_OK_AND_ASSIGN(auto short_cap, g_->ShortestPath({.from = "N/a", .to = "N/f", .max_depth = 2}));
  EXPECT_FALSE(short_cap.has_value());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto missing, g_->ShortestPath({.from = "Ghost/1", .to = "Ghost/2"}));
  EXPECT_FALSE(missing.has_value());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto typed, g_->ShortestPath({.from = "N/a", .to = "N/z", .types = {"link"}}));
  EXPECT_FALSE(typed.has_value());
}

TEST_F(TraversalTest, FindPathReturnsSomeValidPath) {
  DOTDO_ASSERT_OK_AND_ASSIGN(auto p, g_->FindPath({.from = "N/x", .to = "N/f"}));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->nodes.front(), "N/x");
  EXPECT_EQ(p->nodes.back(), "N/f");
  ASSERT_EQ(p->edges.size() + 1, p->nodes.size());
  for (size_t i = 0; i < p->edges.size(); ++i) EXPECT_EQ(p->edges[i].to, p->nodes[i + 1]);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto none, g_->FindPath({.from = "N/f", .to = "N/x"}));
  EXPECT_FALSE(none.has_value());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto capped, g_->FindPath({.from = "N/x", .to = "N/f", .max_depth = 3}));
  EXPECT_FALSE(capped.has_value());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto exact, g_->FindPath({.from = "N/x", .to = "N/f", .max_depth = 4}));
  EXPECT_TRUE(exact.has_value());
}

TEST(GraphWeightedPathTest, PrefersCheaperLongerRoutesAndRejectsBadWeights) {
  auto db = testing::OpenMemoryDb();
  GraphStore g(*db);
  DOTDO_ASSERT_OK(g.Relate("C/a", "C/b", "road", {{"km", 10}}));
  DOTDO_ASSERT_OK(g.Relate("C/a", "C/c", "road", {{"km", 2}}));
  DOTDO_ASSERT_OK(g.Relate("C/c", "C/d", "road", {{"km", 2.5}}));
  DOTDO_ASSERT_OK(g.Relate("C/d", "C/b", "road", {{"km", 1}}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto p, g.WeightedShortestPath({.from = "C/a", .to = "C/b", .weight_field = "km"}));
  ASSERT_TRUE(p.has_value());
  EXPECT_THAT(p->nodes, ElementsAre("C/a", "C/c", "C/d", "C/b"));
  EXPECT_DOUBLE_EQ(p->cost, 5.5);
  EXPECT_EQ(p->edges.size(), 3u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto none, g.WeightedShortestPath({.from = "C/b", .to = "C/a", .weight_field = "km"}));
  EXPECT_FALSE(none.has_value());

  EXPECT_THAT(g.WeightedShortestPath({.from = "C/a", .to = "C/b"}), StatusIs(StatusCode::kInvalidArgument, "weight_field"));
  EXPECT_THAT(g.WeightedShortestPath({.from = "C/a", .to = "C/b", .weight_field = "a..b"}),
              StatusIs(StatusCode::kInvalidArgument, "weight_field"));
  DOTDO_ASSERT_OK(g.Relate("C/c", "C/e", "road", {{"km", -1}}));
  EXPECT_THAT(g.WeightedShortestPath({.from = "C/a", .to = "C/b", .weight_field = "km"}),
              StatusIs(StatusCode::kFailedPrecondition, "C/c -[road]-> C/e"));
  DOTDO_ASSERT_OK(g.Relate("C/c", "C/e", "road", {{"km", "far"}}));
  EXPECT_THAT(g.WeightedShortestPath({.from = "C/a", .to = "C/b", .weight_field = "km"}),
              StatusIs(StatusCode::kFailedPrecondition, "non-numeric"));
  DOTDO_ASSERT_OK(g.Relate("C/c", "C/e", "road"));
  EXPECT_THAT(g.WeightedShortestPath({.from = "C/a", .to = "C/b", .weight_field = "km"}),
              StatusIs(StatusCode::kFailedPrecondition, "default_weight"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto with_default, g.WeightedShortestPath({.from = "C/a", .to = "C/e", .weight_field = "km",
                                                                         .default_weight = 0.5}));
  ASSERT_TRUE(with_default.has_value());
  EXPECT_DOUBLE_EQ(with_default->cost, 2.5);
  EXPECT_THAT(g.WeightedShortestPath({.from = "C/a", .to = "C/e", .weight_field = "km", .default_weight = -2}),
              StatusIs(StatusCode::kInvalidArgument, "default_weight"));
}

TEST(GraphCycleTest, DetectsCyclesOfLengthOneTwoAndLong) {
  auto db = testing::OpenMemoryDb();
  GraphStore g(*db);
  DOTDO_ASSERT_OK(g.Relate("N/s", "N/s", "self"));
  DOTDO_ASSERT_OK(g.Relate("N/p", "N/q", "pair"));
  DOTDO_ASSERT_OK(g.Relate("N/q", "N/p", "pair"));
  std::vector<EdgeInput> ring;
  for (int i = 0; i < 60; ++i) ring.push_back({"R/" + std::to_string(i), "R/" + std::to_string((i + 1) % 60), "ring"});
  ring.push_back({"T/0", "R/5", "ring"});
  DOTDO_ASSERT_OK(g.RelateMany(ring));
  DOTDO_ASSERT_OK(g.Relate("D/1", "D/2", "dag"));
  DOTDO_ASSERT_OK(g.Relate("D/1", "D/3", "dag"));
  DOTDO_ASSERT_OK(g.Relate("D/2", "D/3", "dag"));

  EXPECT_THAT(g.DetectCycle("N/s", "self"), IsOkAndHolds(std::optional<std::vector<std::string>>({"N/s", "N/s"})));
  EXPECT_THAT(g.DetectCycle("N/p", "pair"),
              IsOkAndHolds(std::optional<std::vector<std::string>>({"N/p", "N/q", "N/p"})));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto long_cycle, g.DetectCycle("T/0", "ring"));
  ASSERT_TRUE(long_cycle.has_value());
  EXPECT_EQ(long_cycle->size(), 61u);
  EXPECT_EQ(long_cycle->front(), "R/5");
  EXPECT_EQ(long_cycle->back(), "R/5");
  EXPECT_THAT(g.DetectCycle("D/1", "dag"), IsOkAndHolds(std::optional<std::vector<std::string>>()));
  EXPECT_THAT(g.DetectCycle("N/p", "other"), IsOkAndHolds(std::optional<std::vector<std::string>>()));
  EXPECT_THAT(g.DetectCycle("N/p"), IsOkAndHolds(std::optional<std::vector<std::string>>({"N/p", "N/q", "N/p"})));
  EXPECT_THAT(g.DetectCycle("bad", "pair"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(g.DetectCycle("N/p", "bad type"), StatusIs(StatusCode::kInvalidArgument));
}

TEST(GraphCycleTest, AcyclicTypesRefuseEdgesThatCloseACycle) {
  testing::ScratchDir dir;
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "deps"));
    GraphStore g(*db);
    EXPECT_THAT(g.GetRelationOptions("dependsOn"), IsOkAndHolds(GraphRelationOptions{}));
    DOTDO_ASSERT_OK(g.SetRelationOptions("dependsOn", {.acyclic = true}));
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "deps"));
  GraphStore g(*db);
  EXPECT_THAT(g.GetRelationOptions("dependsOn"), IsOkAndHolds(GraphRelationOptions{.acyclic = true}));
  const int64_t lsn0 = *ChangeFeed(*db).LastLsn();
  EXPECT_THAT(g.Relate("Pkg/a", "Pkg/a", "dependsOn"), StatusIs(StatusCode::kFailedPrecondition, "Pkg/a -> Pkg/a"));
  DOTDO_ASSERT_OK(g.Relate("Pkg/a", "Pkg/b", "dependsOn"));
  EXPECT_THAT(g.Relate("Pkg/b", "Pkg/a", "dependsOn"),
              StatusIs(StatusCode::kFailedPrecondition, "cycle Pkg/b -> Pkg/a -> Pkg/b"));
  for (int i = 0; i < 30; ++i)
    DOTDO_ASSERT_OK(g.Relate("Pkg/c" + std::to_string(i), "Pkg/c" + std::to_string(i + 1), "dependsOn"));
  EXPECT_THAT(g.Relate("Pkg/c30", "Pkg/c0", "dependsOn"), StatusIs(StatusCode::kFailedPrecondition, "Pkg/c29 -> Pkg/c30"));
  // Other types are free; re-relating an existing edge only updates its data.
  DOTDO_ASSERT_OK(g.Relate("Pkg/b", "Pkg/a", "mentions"));
  DOTDO_ASSERT_OK(g.Relate("Pkg/a", "Pkg/b", "dependsOn", {{"version", "^1"}}));
  EXPECT_THAT(g.Exists("Pkg/b", "Pkg/a", "dependsOn"), IsOkAndHolds(false));
  EXPECT_EQ(*ChangeFeed(*db).LastLsn(), lsn0 + 1 + 30 + 2);  // refused edges wrote no events

  // Turning acyclic on is refused while a cycle exists, and names it.
  DOTDO_ASSERT_OK(g.Relate("Pkg/a", "Pkg/b", "mentions"));
  EXPECT_THAT(g.SetRelationOptions("mentions", {.acyclic = true}),
              StatusIs(StatusCode::kFailedPrecondition, "Pkg/a -> Pkg/b -> Pkg/a"));
  EXPECT_THAT(g.GetRelationOptions("mentions"), IsOkAndHolds(GraphRelationOptions{}));
  DOTDO_ASSERT_OK(g.Unrelate("Pkg/a", "Pkg/b", "mentions"));
  DOTDO_ASSERT_OK(g.SetRelationOptions("mentions", {.acyclic = true}));
  DOTDO_ASSERT_OK(g.SetRelationOptions("dependsOn", {.acyclic = false}));
  DOTDO_ASSERT_OK(g.Relate("Pkg/b", "Pkg/a", "dependsOn"));
  auto events = *ChangeFeed(*db).Read(0, 1000);
  EXPECT_EQ(events[0].table, "relation_options");
  EXPECT_EQ(events[0].after, (Json{{"type", "dependsOn"}, {"acyclic", true}}));
  EXPECT_THAT(g.SetRelationOptions("bad type", {}), StatusIs(StatusCode::kInvalidArgument));
}

TEST(GraphLimitsTest, SearchesStopAtTheVisitedNodeBudget) {
  auto db = testing::OpenMemoryDb();
  GraphStore g(*db, GraphOptions{.max_visited_nodes = 10});
  std::vector<EdgeInput> chain;
  for (int i = 0; i < 30; ++i) chain.push_back({"N/" + std::to_string(i), "N/" + std::to_string(i + 1), "next"});
  DOTDO_ASSERT_OK(g.RelateMany(chain));
  EXPECT_THAT(g.ShortestPath({.from = "N/0", .to = "N/30"}), StatusIs(StatusCode::kResourceExhausted, "max_visited_nodes"));
  EXPECT_THAT(g.DetectCycle("N/0"), StatusIs(StatusCode::kResourceExhausted));
  EXPECT_THAT(g.WeightedShortestPath({.from = "N/0", .to = "N/30", .weight_field = "w", .default_weight = 1}),
              StatusIs(StatusCode::kResourceExhausted));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto nodes, g.Traverse({.start = "N/0", .max_depth = 100, .limit = 25}));
  EXPECT_EQ(nodes.size(), 25u);  // traversal memory is bounded by its limit, not the budget
}

}  // namespace
}  // namespace dotdo
