// The bad-input list, call by call: unknown directions and algorithms, negative or huge
// depths and limits, self-loops and cycles of acyclic types, missing nodes in path queries (an empty
// result, not an error), non-object edge data, node ids that are not valid UTF-8 — each a clear
// typed error (or empty result) and never a write. Also node ids with JSON-special characters, which
// every query path must look up byte for byte.
#include "dotdo/cdc.h"
#include "dotdo/graph.h"
#include "graph/graph_test_util.h"

namespace dotdo {
namespace {

class GraphBadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::OpenMemoryDb();
    g_ = std::make_unique<GraphStore>(*db_);
    ASSERT_THAT(g_->Relate("N/a", "N/b", "link", {{"w", 1}}), IsOk());
    ASSERT_THAT(g_->Relate("N/b", "N/c", "link", {{"w", 1}}), IsOk());
    ASSERT_THAT(g_->SetRelationOptions("dep", {.acyclic = true}), IsOk());
    lsn_ = LastLsn();
  }
  int64_t LastLsn() {
    auto lsn = ChangeFeed(*db_).LastLsn();
    EXPECT_THAT(lsn, IsOk());
    return lsn.ok() ? *lsn : -1;
  }
  // Nothing was written since SetUp: no event, the same two edges.
  void ExpectNothingWritten() {
    EXPECT_EQ(LastLsn(), lsn_);
    auto rows = db_->QueryReadOnly("SELECT COUNT(*) AS n FROM graph_relationships");
    ASSERT_THAT(rows, IsOk());
    EXPECT_EQ((*rows)[0]["n"], 2);
  }
  std::unique_ptr<Database> db_;
  std::unique_ptr<GraphStore> g_;
  int64_t lsn_ = 0;
};

TEST_F(GraphBadInputTest, UnknownDirectionAndAlgorithmNamesAreRejected) {
  for (const char* bad : {"", "OUT", "outgoing", "both ", "sideways"})
    EXPECT_THAT(ParseEdgeDirection(bad), StatusIs(StatusCode::kInvalidArgument, "valid directions: out, in, both")) << bad;
  for (const char* bad : {"", "BFS", "astar", "dijkstra"})
    EXPECT_THAT(ParseTraversalAlgorithm(bad), StatusIs(StatusCode::kInvalidArgument, "valid algorithms: bfs, dfs"))
        << bad;
}

TEST_F(GraphBadInputTest, NegativeOrHugeDepthsAndLimitsAreRejected) {
  for (int depth : {-1, -1000, kMaxGraphDepth + 1, 1 << 30}) {
    for (auto algorithm : {TraversalAlgorithm::kBfs, TraversalAlgorithm::kDfs})
      EXPECT_THAT(g_->Traverse({.start = "N/a", .max_depth = depth, .algorithm = algorithm}),
                  StatusIs(StatusCode::kInvalidArgument, "max_depth"))
          << depth;
    EXPECT_THAT(g_->ShortestPath({.from = "N/a", .to = "N/c", .max_depth = depth}),
                StatusIs(StatusCode::kInvalidArgument, "max_depth"));
    EXPECT_THAT(g_->FindPath({.from = "N/a", .to = "N/c", .max_depth = depth}),
                StatusIs(StatusCode::kInvalidArgument, "max_depth"));
  }
  for (int64_t limit : {int64_t{0}, int64_t{-5}, kMaxTraverseLimit + 1})
    EXPECT_THAT(g_->Traverse({.start = "N/a", .limit = limit}), StatusIs(StatusCode::kInvalidArgument, "limit"));
  for (int64_t limit : {int64_t{0}, int64_t{-1}, kMaxEdgePageSize + 1}) {
    EXPECT_THAT(g_->Incoming("N/a", {.limit = limit}), StatusIs(StatusCode::kInvalidArgument, "limit"));
    EXPECT_THAT(g_->Both("N/a", {.limit = limit}), StatusIs(StatusCode::kInvalidArgument, "limit"));
    EXPECT_THAT(g_->IncomingBatch({"N/a"}, {.limit = limit}), StatusIs(StatusCode::kInvalidArgument, "limit"));
  }
  // The bounds themselves are accepted.
  EXPECT_THAT(g_->Traverse({.start = "N/a", .max_depth = kMaxGraphDepth, .limit = kMaxTraverseLimit}), IsOk());
  EXPECT_THAT(g_->ShortestPath({.from = "N/a", .to = "N/c", .max_depth = 0}), IsOkAndEmpty());
  ExpectNothingWritten();
}

TEST_F(GraphBadInputTest, SelfLoopsAndCyclesOfAcyclicTypesAreRefusedWithTheCycle) {
  EXPECT_THAT(g_->Relate("N/x", "N/x", "dep"), StatusIs(StatusCode::kFailedPrecondition, "self-loop cycle N/x -> N/x"));
  EXPECT_THAT(g_->RelateMany({{"N/y", "N/z", "dep"}, {"N/z", "N/z", "dep"}}),
              StatusIs(StatusCode::kFailedPrecondition, "edge #1"));
  EXPECT_THAT(g_->RelateMany({{"N/y", "N/z", "dep"}, {"N/z", "N/y", "dep"}}),
              StatusIs(StatusCode::kFailedPrecondition, "N/z -> N/y -> N/z"));
  ExpectNothingWritten();
  // Self-loops of other types are ordinary edges.
  EXPECT_THAT(g_->Relate("N/x", "N/x", "link"), IsOk());
}

TEST_F(GraphBadInputTest, MissingNodesInPathQueriesGiveAnEmptyResult) {
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"Ghost/1", "Ghost/2"}, {"N/a", "Ghost/2"}, {"Ghost/1", "N/c"}}) {
    for (EdgeDirection d : {EdgeDirection::kOut, EdgeDirection::kIn, EdgeDirection::kBoth}) {
      EXPECT_THAT(g_->ShortestPath({.from = from, .to = to, .direction = d}), IsOkAndEmpty()) << from << to;
      EXPECT_THAT(g_->FindPath({.from = from, .to = to, .direction = d}), IsOkAndEmpty()) << from << to;
      EXPECT_THAT(g_->WeightedShortestPath({.from = from, .to = to, .direction = d, .weight_field = "w"}),
                  IsOkAndEmpty())
          << from << to;
    }
  }
  EXPECT_THAT(g_->Traverse({.start = "Ghost/1"}), IsOkAndHolds(std::vector<TraversedNode>{}));
  EXPECT_THAT(g_->DetectCycle("Ghost/1"), IsOkAndEmpty());
  // A malformed id is still an error, not an empty result.
  EXPECT_THAT(g_->ShortestPath({.from = "ghost", .to = "N/c"}), StatusIs(StatusCode::kInvalidArgument, "from"));
  EXPECT_THAT(g_->FindPath({.from = "N/a", .to = "ghost"}), StatusIs(StatusCode::kInvalidArgument, "to"));
  EXPECT_THAT(g_->WeightedShortestPath({.from = "N/a", .to = "N/c", .types = {"a b"}, .weight_field = "w"}),
              StatusIs(StatusCode::kInvalidArgument, "relation type"));
  ExpectNothingWritten();
}

TEST_F(GraphBadInputTest, NonObjectEdgeDataIsRejectedEverywhere) {
  for (const Json& bad : {Json::array(), Json(1), Json(1.5), Json(true), Json("text")}) {
    EXPECT_THAT(g_->Relate("N/a", "N/b", "link", bad), StatusIs(StatusCode::kInvalidArgument, "JSON object"));
    EXPECT_THAT(g_->Relate("N/p", "N/q", "link", bad), StatusIs(StatusCode::kInvalidArgument, "JSON object"));
    EXPECT_THAT(g_->RelateMany({{"N/p", "N/q", "link"}, {"N/q", "N/r", "link", bad}}),
                StatusIs(StatusCode::kInvalidArgument, "edge #1"));
  }
  ExpectNothingWritten();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto e, g_->GetEdge("N/a", "N/b", "link"));
  EXPECT_EQ(e.data, (Json{{"w", 1}}));  // the existing edge kept its data
}

TEST_F(GraphBadInputTest, EdgeDataHasTheDepthLimitOfEveryStoredJson) {
  // Deep enough to need the limit, shallow enough for the test's own (recursive) JSON copies.
  Json deep = 1;
  for (int i = 0; i < 5000; ++i) deep = Json{{"a", std::move(deep)}};
  EXPECT_THAT(g_->Relate("N/a", "N/z", "link", deep), StatusIs(StatusCode::kInvalidArgument, "nests deeper than 64"));
  EXPECT_THAT(g_->RelateMany({{"N/p", "N/q", "link"}, {"N/q", "N/r", "link", Json{{"x", deep}}}}),
              StatusIs(StatusCode::kInvalidArgument, "nests deeper"));
  ExpectNothingWritten();
}

TEST_F(GraphBadInputTest, NodeIdsMustBeValidUtf8) {
  for (const std::string& bad : {std::string("N/\xff"), std::string("N/a\xc3"), std::string("N/\xc0\xaf"),
                                 std::string("N/\xed\xa0\x80")}) {
    EXPECT_THAT(g_->Relate(bad, "N/b", "link"), StatusIs(StatusCode::kInvalidArgument, "UTF-8"));
    EXPECT_THAT(g_->Relate("N/b", bad, "link"), StatusIs(StatusCode::kInvalidArgument, "UTF-8"));
    EXPECT_THAT(g_->Outgoing(bad), StatusIs(StatusCode::kInvalidArgument, "UTF-8"));
    EXPECT_THAT(g_->OutgoingBatch({"N/a", bad}), StatusIs(StatusCode::kInvalidArgument, "UTF-8"));
    EXPECT_THAT(g_->Traverse({.start = bad}), StatusIs(StatusCode::kInvalidArgument, "UTF-8"));
  }
  ExpectNothingWritten();
}

TEST_F(GraphBadInputTest, IdsWithJsonSpecialCharactersAreFoundByEveryQuery) {
  // Keys may hold quotes, backslashes and non-ASCII text; batched queries bind ids as JSON arrays
  // and must still match the stored bytes exactly.
  const std::string q = "Q/say\"hi\"", bs = "Q/back\\slash", u = "Q/zoë→",
                    ctrl_like = "Q/\\u0000";  // six literal characters, not a NUL
  DOTDO_ASSERT_OK(g_->Relate("N/a", q, "link"));
  DOTDO_ASSERT_OK(g_->Relate(q, bs, "link"));
  DOTDO_ASSERT_OK(g_->Relate(bs, u, "link"));
  DOTDO_ASSERT_OK(g_->Relate(u, ctrl_like, "link"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto bfs, g_->Traverse({.start = q, .max_depth = 5}));
  ASSERT_EQ(bfs.size(), 3u);
  EXPECT_THAT(bfs.back().path, ElementsAre(q, bs, u, ctrl_like));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto dfs, g_->Traverse({.start = q, .max_depth = 5, .algorithm = TraversalAlgorithm::kDfs}));
  EXPECT_EQ(dfs.size(), 3u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto path, g_->ShortestPath({.from = "N/a", .to = ctrl_like}));
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->edges.size(), 4u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto batch, g_->OutgoingBatch({q, bs, u, ctrl_like}));
  EXPECT_EQ(batch.at(q).size(), 1u);
  EXPECT_EQ(batch.at(bs).size(), 1u);
  EXPECT_EQ(batch.at(u).size(), 1u);
  EXPECT_THAT(batch.at(ctrl_like), IsEmpty());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto in, g_->IncomingBatch({ctrl_like}));
  ASSERT_EQ(in.at(ctrl_like).size(), 1u);
  EXPECT_EQ(in.at(ctrl_like)[0].from, u);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto page, g_->Both(u, {.limit = 1}));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto next, g_->Both(u, {.limit = 1, .cursor = page.next_cursor}));
  EXPECT_EQ(next.items.at(0).from, bs);  // the cursor carries the non-ASCII id intact
}

}  // namespace
}  // namespace dotdo
