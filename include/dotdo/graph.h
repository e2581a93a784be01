// GraphStore: typed, directed edges between `Type/id` nodes in one namespace, with adjacency
// queries (paged, batched), traversals (BFS/DFS), shortest paths (unweighted bidirectional BFS,
// weighted Dijkstra), cycle detection, and relation types that refuse cycles (dependency graphs).
// Every write emits the seed's CDC events (store "graph", table "relationships", key = edge id) in
// the same transaction as the change.
//
//   dotdo::GraphStore graph(*db);
//   auto e = graph.Relate("User/alice", "User/bob", "follows", {{"since", 2024}});
//   auto page = graph.Outgoing("User/alice", {.types = {"follows"}, .limit = 50});
//   auto reach = graph.Traverse({.start = "User/alice", .max_depth = 2});
//   auto path = graph.ShortestPath({.from = "User/alice", .to = "User/carol"});
//
// Grammar of names (anything else is kInvalidArgument and nothing is written):
//   node id        Type/key    Type := [A-Za-z][A-Za-z0-9_]{0,63}; key := 1..448 bytes, no ASCII
//                              control characters, no space, valid UTF-8 (it may contain '/')
//   relation type  [A-Za-z][A-Za-z0-9_.:-]{0,63}     ("follows", "DEPENDS_ON", "org:memberOf")
//   edge data      a JSON object (null means {}), at most 1 MiB serialized
//
// Nodes exist implicitly through their edges: a query about a node without edges returns an empty
// result, never kNotFound (except GetEdge, which names one edge).
//
// Thread-safety: a GraphStore is a light handle over a Database (held by reference; the Database
// must outlive it) and follows the Database's rules: calls may come from several threads and
// serialize on the Database. Multi-query reads (traversals, paths, cycles) run inside one
// transaction and so see one consistent snapshot.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dotdo/database.h"
#include "dotdo/export.h"
#include "dotdo/page.h"
#include "dotdo/status.h"

namespace dotdo {

// One stored edge. `id` is a ULID assigned on first Relate and kept when the data is updated.
struct Edge {
  std::string id;
  std::string from;
  std::string to;
  std::string type;
  Json data = Json::object();
  int64_t created_at = 0;  // ms since epoch
  int64_t updated_at = 0;  // ms since epoch

  friend bool operator==(const Edge&, const Edge&) = default;
};

// {"id","from","to","type","data","createdAt","updatedAt"} with ISO-8601 times.
DOTDO_EXPORT Json EdgeToJson(const Edge& edge);

enum class EdgeDirection { kOut, kIn, kBoth };
// "out" | "in" | "both"; anything else is kInvalidArgument listing the valid names.
DOTDO_EXPORT Result<EdgeDirection> ParseEdgeDirection(std::string_view name);
DOTDO_EXPORT std::string_view EdgeDirectionName(EdgeDirection direction);

enum class TraversalAlgorithm { kBfs, kDfs };
// "bfs" | "dfs"; anything else is kInvalidArgument listing the valid names.
DOTDO_EXPORT Result<TraversalAlgorithm> ParseTraversalAlgorithm(std::string_view name);
DOTDO_EXPORT std::string_view TraversalAlgorithmName(TraversalAlgorithm algorithm);

// Validates a node id against the grammar above; returns its type part.
DOTDO_EXPORT Result<std::string_view> NodeTypeOf(std::string_view node_id);
DOTDO_EXPORT Status ValidateRelationType(std::string_view type);

// Largest accepted traversal/path depth; a larger max_depth is kInvalidArgument.
inline constexpr int kMaxGraphDepth = 1000;
// Largest page size and batch size.
inline constexpr int64_t kMaxEdgePageSize = 10000;
inline constexpr size_t kMaxBatchIds = 10000;
// Largest traversal result.
inline constexpr int64_t kMaxTraverseLimit = 1'000'000;

struct EdgeQuery {
  // Only edges of these relation types. Default: empty = every type.
  std::vector<std::string> types;
  // Only edges whose other end has this node type ("Post"). Default: unset = any.
  std::optional<std::string> node_type;
  // Page size, 1..kMaxEdgePageSize. For batches: at most this many edges per id. Default 100.
  int64_t limit = 100;
  // Resume after the page that returned this value as next_cursor. Default: empty = first page.
  // Not accepted by the batch calls.
  std::string cursor;
};

// Edges in (type, other end) order — for Both: outgoing first, then incoming (a self-loop once).
using EdgePage = Page<Edge>;

struct GraphRelationOptions {
  // Refuse an edge of this type that would close a cycle (self-loops included). Default false.
  bool acyclic = false;

  friend bool operator==(const GraphRelationOptions&, const GraphRelationOptions&) = default;
};

struct GraphTraverseOptions {
  std::string start;
  EdgeDirection direction = EdgeDirection::kOut;        // default: follow outgoing edges
  std::vector<std::string> types;               // default: empty = every type
  int max_depth = 3;                            // 0..kMaxGraphDepth; default 3
  TraversalAlgorithm algorithm = TraversalAlgorithm::kBfs;  // default BFS
  int64_t limit = 1000;                         // 1..kMaxTraverseLimit nodes; default 1000
};

// A node reached by a traversal (the start itself is not reported). `path` runs from the start to
// this node (path.size() == depth + 1). BFS depth is the distance from the start and results come
// in distance order; DFS reports preorder with the depth along the DFS tree.
struct TraversedNode {
  std::string id;
  int depth = 0;
  std::vector<std::string> path;

  friend bool operator==(const TraversedNode&, const TraversedNode&) = default;
};

struct GraphPathOptions {
  std::string from;
  std::string to;
  EdgeDirection direction = EdgeDirection::kOut;  // default: follow outgoing edges
  std::vector<std::string> types;         // default: empty = every type
  int max_depth = 100;                    // longest accepted path in edges, 0..kMaxGraphDepth; default 100
};

struct GraphWeightedPathOptions {
  std::string from;
  std::string to;
  EdgeDirection direction = EdgeDirection::kOut;  // default: follow outgoing edges
  std::vector<std::string> types;         // default: empty = every type
  // Dotted path of the numeric weight inside edge data ("weight", "cost.usd"). Required.
  std::string weight_field;
  // Weight of an edge whose data lacks the field. Default: unset = such an edge is an error.
  std::optional<double> default_weight;
};

// nodes[0] == from, nodes.back() == to; edges[i] joins nodes[i] and nodes[i+1] (stored direction,
// which for kIn/kBoth may point backwards). cost = number of edges, or the sum of weights.
struct GraphPath {
  std::vector<std::string> nodes;
  std::vector<Edge> edges;
  double cost = 0;
};

DOTDO_EXPORT Json GraphPathToJson(const GraphPath& path);

struct GraphOptions {
  // Most nodes a path search, DFS or cycle check may hold in memory before it stops with
  // kResourceExhausted. Default 2,000,000.
  int64_t max_visited_nodes = 2'000'000;
};

// An edge to create or update in RelateMany.
struct EdgeInput {
  std::string from;
  std::string to;
  std::string type;
  Json data = Json::object();
};

class DOTDO_EXPORT GraphStore {
 public:
  // Opens the store on db: checks the options, creates or migrates the tables (and the outbox),
  // and returns the handle; errors are returned (kInvalidArgument for options, kFailedPrecondition
  // for tables of a newer dotdo, I/O errors). REQUIRES: db outlives the store.
  static Result<GraphStore> Open(Database& db, GraphOptions options = {});

  // A handle without checks: tables are created on the first call, whose error that is. Prefer Open.
  explicit GraphStore(Database& db, GraphOptions options = {});

  // Creates the edge (from, to, type) with `data` (cdc.insert), or replaces the data of the
  // existing one (cdc.update; id and created_at kept). For an acyclic type an edge that would close
  // a cycle is kFailedPrecondition naming the cycle.
  Result<Edge> Relate(std::string_view from, std::string_view to, std::string_view type,
                      Json data = Json::object());
  // Relate for many edges in one transaction: all or nothing. Returns the number of edges written.
  Result<int64_t> RelateMany(const std::vector<EdgeInput>& edges);
  // Removes the edge (cdc.delete). false when there was none (nothing written).
  Result<bool> Unrelate(std::string_view from, std::string_view to, std::string_view type);
  // Removes every edge from or to `node` (one cdc.delete each); returns how many.
  Result<int64_t> UnrelateAll(std::string_view node);

  Result<bool> Exists(std::string_view from, std::string_view to, std::string_view type);
  // kNotFound when the edge does not exist.
  Result<Edge> GetEdge(std::string_view from, std::string_view to, std::string_view type);
  Result<Edge> GetEdgeById(std::string_view id);

  Result<EdgePage> Outgoing(std::string_view node, const EdgeQuery& query = {});
  Result<EdgePage> Incoming(std::string_view node, const EdgeQuery& query = {});
  Result<EdgePage> Both(std::string_view node, const EdgeQuery& query = {});
  Result<int64_t> OutDegree(std::string_view node, const std::vector<std::string>& types = {});
  Result<int64_t> InDegree(std::string_view node, const std::vector<std::string>& types = {});

  // The first page (query.limit edges per id) of Outgoing/Incoming for every id, in one call and
  // one read snapshot (the N+1 prevention of the seed: one call instead of one per id).
  // Every requested id is a key of the result (empty vector when it has no edges). At most
  // kMaxBatchIds distinct ids; duplicates are ignored.
  Result<std::map<std::string, std::vector<Edge>>> OutgoingBatch(const std::vector<std::string>& ids,
                                                                 const EdgeQuery& query = {});
  Result<std::map<std::string, std::vector<Edge>>> IncomingBatch(const std::vector<std::string>& ids,
                                                                 const EdgeQuery& query = {});

  // Nodes reachable from options.start within max_depth, each once, at most `limit` of them. Memory
  // is bounded by `limit` (BFS) or by max_depth times the largest degree (DFS).
  Result<std::vector<TraversedNode>> Traverse(const GraphTraverseOptions& options);
  // Fewest edges from `from` to `to` (bidirectional BFS); nullopt when there is no path within
  // max_depth (including when a node has no edges). from == to is the path of length 0.
  Result<std::optional<GraphPath>> ShortestPath(const GraphPathOptions& options);
  // Least total weight (Dijkstra). A negative, non-finite or non-numeric weight met on the way is
  // kFailedPrecondition naming the edge; so is a missing field without default_weight.
  Result<std::optional<GraphPath>> WeightedShortestPath(const GraphWeightedPathOptions& options);
  // Some path (depth-first, not necessarily shortest) within max_depth; nullopt when none.
  Result<std::optional<GraphPath>> FindPath(const GraphPathOptions& options);

  // A directed cycle reachable from `start` following outgoing edges of `type` (empty: any type),
  // as the closed node list [a, b, ..., a]; nullopt when there is none. A self-loop is [a, a].
  Result<std::optional<std::vector<std::string>>> DetectCycle(std::string_view start, std::string_view type = {});

  // Persists the options of a relation type. Turning `acyclic` on while edges of the type already
  // form a cycle is kFailedPrecondition naming that cycle (nothing changes).
  Status SetRelationOptions(std::string_view type, const GraphRelationOptions& options);
  // Defaults for a type never configured.
  Result<GraphRelationOptions> GetRelationOptions(std::string_view type);

 private:
  Database& db_;
  GraphOptions options_;
};

}  // namespace dotdo
