// Internals shared by the GraphStore files: the schema, name validation, row decoding, read
// snapshots, and the adjacency queries every traversal is built on.
//
// Invariants of `graph_relationships` (see docs/formats/graph.md):
//   1. At most one edge per (from_id, type, to_id): it is the primary key (WITHOUT ROWID, so
//      outgoing edges of a node are clustered in (type, to_id) order).
//   2. from_type / to_type are the type parts of from_id / to_id; id is a ULID, unique, and stable
//      across data updates.
//   3. data is the compact JSON text of an object.
//   4. For a type with acyclic = 1 in graph_relation_options, its edges form a DAG (self-loops
//      included): Relate refuses an edge that would close a cycle, and acyclic is only turned on
//      when no cycle exists.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/store_scaffold.h"
#include "core/read_snapshot.h"
#include "core/database_internals.h"
#include "dotdo/graph.h"
#include "sqlite/connection.h"

namespace dotdo::internal {

// The graph store's name, table prefix and migrations.
extern const StoreSpec kGraphSpec;
inline constexpr std::string_view kRelationshipsTable = "relationships";
inline constexpr std::string_view kRelationOptionsTable = "relation_options";
inline constexpr size_t kMaxEdgeDataBytes = 1 << 20;

// Columns read by EdgeFromRow, in order.
inline constexpr std::string_view kEdgeColumns = "id, from_id, to_id, type, data, created_at, updated_at";

// The outbox and graph tables (the graph store keeps no per-Database state).
Status EnsureGraphSchema(Database& db);
// For reads, which never create tables: false when the namespace has no graph tables (the read
// then answers as for an empty graph).
Result<bool> GraphReadable(Database& db);

// Node id and relation type validation with messages naming `what` ("from", "start", ...).
Status ValidateNode(std::string_view node, std::string_view what);
Status ValidateTypes(const std::vector<std::string>& types);
// JSON array text of the types, for `type IN (SELECT value FROM json_each(?))`; empty when none.
std::string TypesJson(const std::vector<std::string>& types);
std::string IdsJson(const std::vector<std::string>& ids);

// null -> {}; non-object, invalid UTF-8 or > 1 MiB -> kInvalidArgument. Returns the compact text.
Result<std::string> NormalizeEdgeData(Json& data);

// An edge as read from SQL, data still as text (parsed only when returned to the caller).
struct RawEdge {
  std::string id, from, to, type, data;
  int64_t created_at = 0, updated_at = 0;
};
RawEdge RawEdgeFromRow(const Statement& st, int first);
Result<Edge> ToEdge(RawEdge raw);
// {from, to, type, data}: the CDC before/after image of an edge.
Json EdgeImage(const Edge& e);


// One edge met while expanding: `neighbor` of frontier[src] through an edge of `type`;
// forward == true when the stored edge is frontier[src] -> neighbor.
struct Hop {
  size_t src;
  std::string_view neighbor;
  std::string_view type;
  bool forward;
};
// Return false to stop the expansion early.
using HopFn = std::function<bool(const Hop&)>;

// Adjacency queries over the (from_id, type, to_id) primary key and the (to_id, type, from_id)
// index, with an optional relation-type filter.
class Adjacency {
 public:
  Adjacency(Connection& conn, EdgeDirection direction, const std::vector<std::string>& types);

  // Every edge of every frontier node in ONE query (the frontier is bound as a JSON array), in
  // (src, outgoing before incoming, type, neighbor) order.
  Status ExpandLevel(const std::vector<std::string>& frontier, const HopFn& fn);
  // The edges of one node, same order (src is 0).
  Status Expand(std::string_view node, const HopFn& fn);

 private:
  Connection& conn_;
  EdgeDirection direction_;
  std::string types_json_;
};

// Fewest-edge path from `from` to `to` by bidirectional BFS (no validation; callers validate).
// nullopt when none within max_depth. Fills path->edges by looking each hop's edge up.
Result<std::optional<GraphPath>> BidirectionalShortestPath(Connection& conn, const std::string& from, const std::string& to,
                                                      EdgeDirection direction, const std::vector<std::string>& types,
                                                      int max_depth, int64_t max_visited, bool with_edges);

// A directed cycle in the edges (from, to) given in memory, as [a, ..., a]; nullopt when acyclic.
Result<std::optional<std::vector<std::string>>> FindCycleInEdges(
    const std::vector<std::pair<std::string, std::string>>& edges, int64_t max_visited);

std::string CycleToString(const std::vector<std::string>& cycle);

}  // namespace dotdo::internal
