// GraphStore against Boost.Graph as the reference, on random directed graphs (with self-loops and
// parallel edges of different types): BFS reachability and depths, unweighted and weighted shortest
// paths in every direction, cycle detection (DFS back edges) and acyclic-type refusal must agree;
// returned paths and cycles must be made of real edges. Also: a second process, or other threads,
// reading while a writer commits never see half a transaction.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/depth_first_search.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "dotdo/cdc.h"
#include "dotdo/graph.h"
#include "graph/graph_internal.h"
#include "graph/graph_test_util.h"

namespace dotdo {
namespace {

using BoostGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property,
                                         boost::property<boost::edge_weight_t, double>>;

struct RandomGraph {
  int nodes = 0;
  struct E {
    int from, to;
    std::string type;
    int weight;
  };
  std::vector<E> edges;
  static std::string Name(int i) { return "V/" + std::to_string(i); }

  // Boost graph of the edges whose type is in `types` (all when empty), as a traversal in
  // `direction` sees them: kIn reverses every edge, kBoth adds both orientations.
  BoostGraph Boost(const std::set<std::string>& types = {}, EdgeDirection direction = EdgeDirection::kOut) const {
    BoostGraph g(static_cast<size_t>(nodes));
    for (const auto& e : edges) {
      if (!types.empty() && !types.count(e.type)) continue;
      const auto from = static_cast<size_t>(e.from), to = static_cast<size_t>(e.to);
      if (direction != EdgeDirection::kIn) boost::add_edge(from, to, e.weight, g);
      if (direction != EdgeDirection::kOut) boost::add_edge(to, from, e.weight, g);
    }
    return g;
  }
  bool HasEdge(const std::string& from, const std::string& to, const std::string& type) const {
    for (const auto& e : edges)
      if (Name(e.from) == from && Name(e.to) == to && e.type == type) return true;
    return false;
  }
};

RandomGraph MakeRandomGraph(uint32_t seed, int nodes, int edge_count, GraphStore& g) {
  std::mt19937 rng(seed);
  RandomGraph rg;
  rg.nodes = nodes;
  std::set<std::tuple<int, int, std::string>> seen;
  std::vector<EdgeInput> inputs;
  while (static_cast<int>(rg.edges.size()) < edge_count) {
    int f = static_cast<int>(rng() % static_cast<uint32_t>(nodes)), t = static_cast<int>(rng() % static_cast<uint32_t>(nodes));
    std::string type = rng() % 3 == 0 ? "y" : "x";
    if (!seen.insert({f, t, type}).second) continue;
    int w = static_cast<int>(rng() % 20);
    rg.edges.push_back({f, t, type, w});
    inputs.push_back({RandomGraph::Name(f), RandomGraph::Name(t), type, Json{{"w", w}}});
  }
  EXPECT_THAT(g.RelateMany(inputs), IsOk());
  return rg;
}

std::vector<int> BoostBfsDepths(const BoostGraph& bg, int start) {
  std::vector<int> depth(boost::num_vertices(bg), -1);
  std::vector<size_t> dist(boost::num_vertices(bg), 0);
  std::vector<boost::default_color_type> colour(boost::num_vertices(bg));
  boost::breadth_first_search(bg, static_cast<size_t>(start),
                              boost::visitor(boost::make_bfs_visitor(boost::record_distances(dist.data(), boost::on_tree_edge())))
                                  .color_map(colour.data()));
  for (size_t i = 0; i < dist.size(); ++i)
    if (colour[i] != boost::white_color) depth[i] = static_cast<int>(dist[i]);
  return depth;
}

struct BackEdgeFinder : boost::default_dfs_visitor {
  explicit BackEdgeFinder(bool* found) : found_(found) {}
  template <typename Edge, typename Graph>
  void back_edge(Edge, const Graph&) const { *found_ = true; }
  bool* found_;
};

class GraphReferenceTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override {
    db_ = testing::OpenMemoryDb();
    g_ = std::make_unique<GraphStore>(*db_);
    // Sparse enough to leave unreachable pairs and acyclic regions, dense enough for long paths.
    rg_ = MakeRandomGraph(GetParam(), 120, 180 + static_cast<int>(GetParam() % 3) * 60, *g_);
  }
  std::unique_ptr<Database> db_;
  std::unique_ptr<GraphStore> g_;
  RandomGraph rg_;
};

TEST_P(GraphReferenceTest, BfsReachabilityAndDepthsMatchBoost) {
  struct Variant {
    EdgeDirection dir;
    std::vector<std::string> types;
  };
  for (const Variant& v : {Variant{EdgeDirection::kOut, {}}, Variant{EdgeDirection::kOut, {"x"}}, Variant{EdgeDirection::kBoth, {"y"}}}) {
    const BoostGraph bg = rg_.Boost(std::set<std::string>(v.types.begin(), v.types.end()), v.dir);
    for (int start = 0; start < rg_.nodes; start += 7) {
      const auto want = BoostBfsDepths(bg, start);
      for (auto algorithm : {TraversalAlgorithm::kBfs, TraversalAlgorithm::kDfs}) {
        DOTDO_ASSERT_OK_AND_ASSIGN(auto got, g_->Traverse({.start = RandomGraph::Name(start), .direction = v.dir,
                                                           .types = v.types, .max_depth = kMaxGraphDepth,
                                                           .algorithm = algorithm, .limit = 100000}));
        std::map<std::string, int> got_depth;
        int last_depth = 0;
        for (const auto& n : got) {
          EXPECT_TRUE(got_depth.emplace(n.id, n.depth).second) << "visited twice: " << n.id;
          ASSERT_EQ(n.path.size(), static_cast<size_t>(n.depth) + 1);
          if (algorithm == TraversalAlgorithm::kBfs) {
            EXPECT_GE(n.depth, last_depth) << "BFS out of distance order";
            last_depth = n.depth;
          }
        }
        std::map<std::string, int> want_depth;
        for (int i = 0; i < rg_.nodes; ++i)
          if (i != start && want[static_cast<size_t>(i)] >= 0) want_depth[RandomGraph::Name(i)] = want[static_cast<size_t>(i)];
        if (algorithm == TraversalAlgorithm::kBfs) {
          EXPECT_EQ(got_depth, want_depth) << "start " << start;
        } else {
          std::set<std::string> a, b;
          for (auto& [k, d] : got_depth) a.insert(k);
          for (auto& [k, d] : want_depth) b.insert(k);
          EXPECT_EQ(a, b) << "DFS reachability from " << start;
        }
      }
      // Depth-limited BFS = Boost distances <= 2.
      DOTDO_ASSERT_OK_AND_ASSIGN(auto near, g_->Traverse({.start = RandomGraph::Name(start), .direction = v.dir,
                                                          .types = v.types, .max_depth = 2}));
      size_t want_near = 0;
      for (int i = 0; i < rg_.nodes; ++i)
        want_near += (i != start && want[static_cast<size_t>(i)] >= 1 && want[static_cast<size_t>(i)] <= 2);
      EXPECT_EQ(near.size(), want_near);
    }
  }
}

TEST_P(GraphReferenceTest, ShortestPathsMatchBoostBfsAndDijkstra) {
  std::mt19937 rng(GetParam() * 31 + 1);
  for (EdgeDirection dir : {EdgeDirection::kOut, EdgeDirection::kIn, EdgeDirection::kBoth}) {
    const BoostGraph bg = rg_.Boost({}, dir);
    // Every returned edge must exist and join consecutive path nodes as the direction allows.
    auto check_edges = [&](const GraphPath& p) {
      ASSERT_EQ(p.edges.size() + 1, p.nodes.size());
      for (size_t i = 0; i < p.edges.size(); ++i) {
        const Edge& e = p.edges[i];
        EXPECT_TRUE(rg_.HasEdge(e.from, e.to, e.type)) << e.from << " -> " << e.to;
        const bool fwd = e.from == p.nodes[i] && e.to == p.nodes[i + 1];
        const bool bwd = e.to == p.nodes[i] && e.from == p.nodes[i + 1];
        EXPECT_TRUE(dir == EdgeDirection::kOut ? fwd : dir == EdgeDirection::kIn ? bwd : fwd || bwd)
            << "edge " << i << " of a " << EdgeDirectionName(dir) << " path";
      }
    };
    for (int q = 0; q < 20; ++q) {
      const int from = static_cast<int>(rng() % 120), to = static_cast<int>(rng() % 120);
      const GraphPathOptions options{.from = RandomGraph::Name(from), .to = RandomGraph::Name(to), .direction = dir,
                                .max_depth = kMaxGraphDepth};
      const int want = BoostBfsDepths(bg, from)[static_cast<size_t>(to)];
      DOTDO_ASSERT_OK_AND_ASSIGN(auto path, g_->ShortestPath(options));
      ASSERT_EQ(path.has_value(), want >= 0) << from << " -> " << to << " " << EdgeDirectionName(dir);
      if (path) {
        EXPECT_EQ(static_cast<int>(path->nodes.size()) - 1, want);
        check_edges(*path);
      }
      DOTDO_ASSERT_OK_AND_ASSIGN(auto any, g_->FindPath(options));
      ASSERT_EQ(any.has_value(), want >= 0);
      if (any) check_edges(*any);

      std::vector<double> dist(boost::num_vertices(bg));
      boost::dijkstra_shortest_paths(bg, static_cast<size_t>(from), boost::distance_map(dist.data()));
      DOTDO_ASSERT_OK_AND_ASSIGN(auto wpath, g_->WeightedShortestPath({.from = options.from, .to = options.to,
                                                                       .direction = dir, .weight_field = "w"}));
      const double wd = dist[static_cast<size_t>(to)];
      const bool reachable = wd < std::numeric_limits<double>::max() / 2;
      ASSERT_EQ(wpath.has_value(), reachable) << from << " -> " << to << " " << EdgeDirectionName(dir);
      if (wpath) {
        EXPECT_DOUBLE_EQ(wpath->cost, wd);
        double sum = 0;
        for (const auto& e : wpath->edges) sum += e.data["w"].get<double>();
        EXPECT_DOUBLE_EQ(sum, wd);
        check_edges(*wpath);
      }
    }
  }
}

TEST_P(GraphReferenceTest, CycleDetectionMatchesBoostBackEdges) {
  for (const std::string& type : {std::string("x"), std::string("y"), std::string()}) {
    const BoostGraph bg = type.empty() ? rg_.Boost() : rg_.Boost({type});
    for (int start = 0; start < rg_.nodes; start += 3) {
      bool found = false;
      std::vector<boost::default_color_type> colour(boost::num_vertices(bg), boost::white_color);
      boost::depth_first_visit(bg, static_cast<size_t>(start), BackEdgeFinder(&found), colour.data());
      DOTDO_ASSERT_OK_AND_ASSIGN(auto cycle, g_->DetectCycle(RandomGraph::Name(start), type));
      ASSERT_EQ(cycle.has_value(), found) << "start " << start << " type '" << type << "'";
      if (!cycle) continue;
      ASSERT_GE(cycle->size(), 2u);
      EXPECT_EQ(cycle->front(), cycle->back());
      for (size_t i = 0; i + 1 < cycle->size(); ++i) {
        bool edge = type.empty() ? rg_.HasEdge((*cycle)[i], (*cycle)[i + 1], "x") || rg_.HasEdge((*cycle)[i], (*cycle)[i + 1], "y")
                                 : rg_.HasEdge((*cycle)[i], (*cycle)[i + 1], type);
        EXPECT_TRUE(edge) << (*cycle)[i] << " -> " << (*cycle)[i + 1];
      }
    }
  }
}

// An acyclic relation type against Boost: an edge is refused exactly when Boost finds a path back
// from its target to its source among the accepted edges (or it is a self-loop), the error names a
// cycle made of real edges, and the accepted edges stay a DAG (no DFS back edge).
TEST_P(GraphReferenceTest, AcyclicTypeRefusesExactlyTheEdgesBoostSeesClosingACycle) {
  DOTDO_ASSERT_OK(g_->SetRelationOptions("dep", {.acyclic = true}));
  std::mt19937 rng(GetParam() * 977 + 3);
  constexpr int kNodes = 40;
  BoostGraph accepted(kNodes);
  std::set<std::pair<int, int>> have;
  int refused = 0;
  for (int i = 0; i < 150; ++i) {
    const int f = static_cast<int>(rng() % kNodes), t = static_cast<int>(rng() % kNodes);
    const bool closes = f == t || BoostBfsDepths(accepted, t)[static_cast<size_t>(f)] >= 0;
    auto r = g_->Relate("D/" + std::to_string(f), "D/" + std::to_string(t), "dep", {{"i", i}});
    if (have.count({f, t})) {  // re-relating an existing edge only replaces its data
      EXPECT_THAT(r, IsOk());
      continue;
    }
    ASSERT_EQ(!r.ok(), closes) << f << " -> " << t << ": " << r.status().ToString();
    if (!r.ok()) {
      ++refused;
      EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
      // "... would create the [self-loop ]cycle D/f -> D/t -> ... -> D/f; ...": after the new edge
      // itself, every hop must be an accepted edge.
      const std::string& msg = r.status().message();
      const size_t begin = msg.find("cycle ") + 6, end = msg.find(';', begin);
      std::vector<int> cycle;
      for (size_t at = begin; at < end;) {
        const size_t next = std::min(msg.find(" -> ", at), end);
        EXPECT_EQ(msg.compare(at, 2, "D/"), 0) << msg;
        cycle.push_back(std::stoi(msg.substr(at + 2, next - at - 2)));
        at = next == end ? end : next + 4;
      }
      ASSERT_GE(cycle.size(), 2u) << msg;
      EXPECT_EQ(cycle.front(), f) << msg;
      EXPECT_EQ(cycle[1], t) << msg;
      EXPECT_EQ(cycle.back(), f) << msg;
      for (size_t k = 1; k + 1 < cycle.size(); ++k) EXPECT_TRUE(have.count({cycle[k], cycle[k + 1]})) << msg;
      continue;
    }
    boost::add_edge(static_cast<size_t>(f), static_cast<size_t>(t), 1.0, accepted);
    have.insert({f, t});
  }
  EXPECT_GT(refused, 0);
  bool back_edge = false;
  std::vector<boost::default_color_type> colour(kNodes, boost::white_color);
  for (int v = 0; v < kNodes; ++v)
    if (colour[static_cast<size_t>(v)] == boost::white_color)
      boost::depth_first_visit(accepted, static_cast<size_t>(v), BackEdgeFinder(&back_edge), colour.data());
  EXPECT_FALSE(back_edge);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto rows, db_->QueryReadOnly("SELECT COUNT(*) AS n FROM graph_relationships WHERE type = 'dep'"));
  EXPECT_EQ(rows[0]["n"].get<size_t>(), have.size());
}

INSTANTIATE_TEST_SUITE_P(RandomGraphs, GraphReferenceTest, ::testing::Values(1u, 2u, 3u, 4u, 5u, 6u));

// The writer relates edges in pairs, one transaction per pair; a reader in another process must
// always see an even number of edges, as many CDC events as edges, and consistent traversals.
TEST(GraphConcurrencyTest, SecondProcessNeverSeesHalfATransaction) {
  testing::ScratchDir dir;
  constexpr int kPairs = 150;
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "shared"));
    // The tables a first write would make (reads make none), so the reader can count from the start.
    DOTDO_ASSERT_OK(internal::EnsureGraphSchema(*db));
    DOTDO_ASSERT_OK(ChangeFeed(*db).LastLsn());
  }
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(ready[0]);
    DatabaseOptions o;
    o.read_only = true;
    auto db = Database::Open(dir.path(), "shared", o);
    if (!db.ok()) _exit(10);
    GraphStore g(**db);
    if (write(ready[1], "r", 1) != 1) _exit(11);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::set<int64_t> states;  // distinct edge counts seen
    for (;;) {
      auto counts = (*db)->QueryReadOnly(
          "SELECT (SELECT COUNT(*) FROM graph_relationships) AS e, (SELECT COUNT(*) FROM cdc_events) AS c");
      if (!counts.ok()) {
        std::fprintf(stderr, "reader: %s\n", counts.status().ToString().c_str());
        _exit(12);
      }
      const int64_t edges = (*counts)[0]["e"].get<int64_t>(), events = (*counts)[0]["c"].get<int64_t>();
      if (edges % 2 != 0 || edges != events) _exit(13);
      auto out = g.Traverse({.start = "Hub/0", .max_depth = 2, .limit = 100000});
      if (!out.ok()) _exit(14);
      if (out->size() % 2 != 0) _exit(15);
      auto degree = g.OutDegree("Hub/0");
      if (!degree.ok() || *degree % 2 != 0) _exit(16);
      states.insert(edges);
      // Done; it must have read while the writer was at work, not only before and after.
      if (edges == 2 * kPairs) _exit(states.size() >= 3 ? 0 : 18);
      if (std::chrono::steady_clock::now() > deadline) _exit(17);
    }
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "shared"));
    GraphStore g(*db);
    for (int i = 0; i < kPairs; ++i) {
      DOTDO_ASSERT_OK(db->Transaction([&]() -> Status {
        DOTDO_RETURN_IF_ERROR(g.Relate("Hub/0", "N/" + std::to_string(2 * i), "has").status());
        return g.Relate("Hub/0", "N/" + std::to_string(2 * i + 1), "has").status();
      }));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // leave the reader room to interleave
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "reader failed (see exit codes in the test)";
}

// Threads sharing one GraphStore: two writers relate pairs of edges in one transaction each while a
// reader traverses; every multi-query read sees whole transactions only.
TEST(GraphConcurrencyTest, ThreadsSharingOneStoreSeeWholeTransactions) {
  auto db = testing::OpenMemoryDb();
  GraphStore g(*db);
  constexpr int kPairs = 100;
  std::atomic<int> writers_done{0};
  auto writer = [&](int w) {
    for (int i = 0; i < kPairs; ++i) {
      const std::string base = "N/" + std::to_string(w) + "_" + std::to_string(i);
      Status st = db->Transaction([&]() -> Status {
        DOTDO_RETURN_IF_ERROR(g.Relate("Hub/0", base + "a", "has").status());
        return g.Relate(base + "a", base + "b", "has").status();
      });
      EXPECT_THAT(st, IsOk());
    }
    ++writers_done;
  };
  std::thread w1(writer, 1), w2(writer, 2);
  int reads = 0;
  bool done = false;
  while (!done) {
    done = writers_done.load() == 2;  // one more read after both writers finished
    auto reach = g.Traverse({.start = "Hub/0", .max_depth = 2, .limit = 100000});
    ASSERT_THAT(reach, IsOk());
    ASSERT_EQ(reach->size() % 2, 0u) << "a traversal saw half a transaction";
    int depth1 = 0;
    for (const auto& n : *reach) depth1 += n.depth == 1;
    ASSERT_EQ(static_cast<size_t>(2 * depth1), reach->size());
    ++reads;
  }
  w1.join();
  w2.join();
  EXPECT_THAT(g.OutDegree("Hub/0"), testing::IsOkAndHolds(2 * kPairs));
  EXPECT_GT(reads, 0);
}

}  // namespace
}  // namespace dotdo
