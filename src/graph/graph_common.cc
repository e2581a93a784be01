// GraphStore foundations: the schema and its migrations, the grammar of node ids and relation types,
// parsing of direction/algorithm names, edge rows and their JSON shapes, read snapshots, and the
// adjacency queries (one SQL statement per BFS level) that traversals and path searches run on.
#include <array>
#include <limits>
#include <utility>

#include "core/json.h"
#include "core/names.h"
#include "graph/graph_internal.h"

namespace dotdo {
namespace {

constexpr size_t kMaxNodeKeyBytes = 448;

std::string Quote(std::string_view s) {
  // For messages: bounded and free of control characters.
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  if (s.size() > 80) out += "...";
  return out + "'";
}

}  // namespace

Result<std::string_view> NodeTypeOf(std::string_view node_id) {
  const size_t slash = node_id.find('/');
  if (slash == std::string_view::npos)
    return InvalidArgumentError("node id " + Quote(node_id) + " must look like Type/key (e.g. User/alice)");
  std::string_view type = node_id.substr(0, slash), key = node_id.substr(slash + 1);
  if (Status s = internal::ValidateNodeType(type); !s.ok())
    return InvalidArgumentError("node id " + Quote(node_id) + ": " + s.message());
  if (key.empty() || key.size() > kMaxNodeKeyBytes)
    return InvalidArgumentError("node id " + Quote(node_id) + ": the key after '/' must be 1.." +
                                std::to_string(kMaxNodeKeyBytes) + " bytes");
  bool ascii = true;
  for (char ch : key) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f)
      return InvalidArgumentError("node id " + Quote(node_id) + ": the key may not contain spaces or control characters");
    ascii = ascii && c < 0x80;
  }
  // Ids travel in JSON (CDC images, batched queries), so non-ASCII keys must be well-formed UTF-8
  // (no overlong forms, surrogates or truncated sequences), the rule of the JSON encoder.
  if (!ascii && !internal::ValidateUtf8(key, "node key").ok())
    return InvalidArgumentError("node id of type " + Quote(type) + ": the key is not valid UTF-8");
  return type;
}

Status ValidateRelationType(std::string_view type) { return internal::ValidateRelationType(type); }

Result<EdgeDirection> ParseEdgeDirection(std::string_view name) {
  if (name == "out") return EdgeDirection::kOut;
  if (name == "in") return EdgeDirection::kIn;
  if (name == "both") return EdgeDirection::kBoth;
  return InvalidArgumentError("unknown direction " + Quote(name) + "; valid directions: out, in, both");
}

std::string_view EdgeDirectionName(EdgeDirection direction) {
  switch (direction) {
    case EdgeDirection::kOut: return "out";
    case EdgeDirection::kIn: return "in";
    case EdgeDirection::kBoth: return "both";
  }
  return "out";
}

Result<TraversalAlgorithm> ParseTraversalAlgorithm(std::string_view name) {
  if (name == "bfs") return TraversalAlgorithm::kBfs;
  if (name == "dfs") return TraversalAlgorithm::kDfs;
  return InvalidArgumentError("unknown traversal algorithm " + Quote(name) + "; valid algorithms: bfs, dfs");
}

std::string_view TraversalAlgorithmName(TraversalAlgorithm algorithm) {
  return algorithm == TraversalAlgorithm::kDfs ? "dfs" : "bfs";
}

Json EdgeToJson(const Edge& e) {
  return Json{{"id", e.id},     {"from", e.from}, {"to", e.to},
              {"type", e.type}, {"data", e.data}, {"createdAt", FormatIso8601(e.created_at)},
              {"updatedAt", FormatIso8601(e.updated_at)}};
}

Json GraphPathToJson(const GraphPath& path) {
  Json edges = Json::array();
  for (const Edge& e : path.edges) edges.push_back(EdgeToJson(e));
  return Json{{"nodes", path.nodes}, {"edges", std::move(edges)},
              {"length", path.nodes.empty() ? 0 : path.nodes.size() - 1}, {"cost", path.cost}};
}

namespace internal {

namespace {
constexpr std::string_view kMigrationV1 = R"sql(
CREATE TABLE graph_relationships (
  from_id    TEXT NOT NULL,
  type       TEXT NOT NULL,
  to_id      TEXT NOT NULL,
  id         TEXT NOT NULL UNIQUE,
  from_type  TEXT NOT NULL,
  to_type    TEXT NOT NULL,
  data       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (from_id, type, to_id)
) WITHOUT ROWID;
CREATE INDEX graph_relationships_in ON graph_relationships(to_id, type, from_id);
CREATE INDEX graph_relationships_from_type ON graph_relationships(from_type, type);
CREATE INDEX graph_relationships_to_type ON graph_relationships(to_type, type);
CREATE TABLE graph_relation_options (
  type       TEXT PRIMARY KEY,
  acyclic    INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql";
constexpr std::array<std::string_view, 1> kMigrations = {kMigrationV1};
}  // namespace

const StoreSpec kGraphSpec{.name = "graph", .table_prefix = "graph_", .migrations = kMigrations};

Status EnsureGraphSchema(Database& db) { return EnsureStoreSchema(db, kGraphSpec); }
Result<bool> GraphReadable(Database& db) { return StoreSchemaPresent(db, kGraphSpec); }

Status ValidateNode(std::string_view node, std::string_view what) {
  auto type = NodeTypeOf(node);
  if (!type.ok()) return type.status().WithContext(what);
  return OkStatus();
}

Status ValidateTypes(const std::vector<std::string>& types) {
  for (const auto& t : types) DOTDO_RETURN_IF_ERROR(ValidateRelationType(t));
  return OkStatus();
}

std::string TypesJson(const std::vector<std::string>& types) {
  // Relation types are validated ASCII, so nothing is replaced.
  return types.empty() ? std::string() : DumpJson(Json(types));
}

std::string IdsJson(const std::vector<std::string>& ids) {
  // Ids are validated (well-formed UTF-8), so nothing is replaced.
  return DumpJson(Json(ids));
}

Result<std::string> NormalizeEdgeData(Json& data) {
  if (data.is_null()) data = Json::object();
  if (!data.is_object())
    return InvalidArgumentError(std::string("edge data must be a JSON object, got ") + data.type_name());
  return SerializeStoredJson(data, "edge data", kMaxEdgeDataBytes);
}

RawEdge RawEdgeFromRow(const Statement& st, int f) {
  RawEdge r;
  r.id = st.ColumnString(f);
  r.from = st.ColumnString(f + 1);
  r.to = st.ColumnString(f + 2);
  r.type = st.ColumnString(f + 3);
  r.data = st.ColumnString(f + 4);
  r.created_at = st.ColumnInt64(f + 5);
  r.updated_at = st.ColumnInt64(f + 6);
  return r;
}

Result<Edge> ToEdge(RawEdge raw) {
  Edge e;
  // Stored edge data nests at most kMaxJsonDepth levels (SerializeStoredJson); older rows may nest
  // deeper, and the parser does not recurse, so any stored depth reads.
  auto data = ParseJson(raw.data, "its stored text", {.max_depth = internal::kNoDepthCheck});
  if (!data.ok()) {
    if (data.status().code() != StatusCode::kInvalidArgument) return data.status();
    return DataLossError("edge " + raw.id + " has unreadable data: " + data.status().message());
  }
  e.data = std::move(*data);
  e.id = std::move(raw.id);
  e.from = std::move(raw.from);
  e.to = std::move(raw.to);
  e.type = std::move(raw.type);
  e.created_at = raw.created_at;
  e.updated_at = raw.updated_at;
  return e;
}

Json EdgeImage(const Edge& e) { return Json{{"from", e.from}, {"to", e.to}, {"type", e.type}, {"data", e.data}}; }

std::string CycleToString(const std::vector<std::string>& cycle) {
  std::string out;
  for (const auto& n : cycle) out += (out.empty() ? "" : " -> ") + n;
  return out;
}

Adjacency::Adjacency(Connection& conn, EdgeDirection direction, const std::vector<std::string>& types)
    : conn_(conn), direction_(direction), types_json_(TypesJson(types)) {}

Status Adjacency::ExpandLevel(const std::vector<std::string>& frontier, const HopFn& fn) {
  if (frontier.empty()) return OkStatus();
  const std::string filter = types_json_.empty() ? "" : " AND r.type IN (SELECT value FROM json_each(?2))";
  const std::string out_sel = "SELECT j.key AS k, r.to_id AS nbr, r.type AS t, 1 AS fwd FROM json_each(?1) AS j "
                              "JOIN graph_relationships AS r ON r.from_id = j.value" + filter;
  const std::string in_sel = "SELECT j.key AS k, r.from_id AS nbr, r.type AS t, 0 AS fwd FROM json_each(?1) AS j "
                             "JOIN graph_relationships AS r ON r.to_id = j.value" + filter;
  std::string sql;
  switch (direction_) {
    case EdgeDirection::kOut: sql = out_sel + " ORDER BY k, t, nbr"; break;
    case EdgeDirection::kIn: sql = in_sel + " ORDER BY k, t, nbr"; break;
    case EdgeDirection::kBoth: sql = out_sel + " UNION ALL " + in_sel + " ORDER BY k, fwd DESC, t, nbr"; break;
  }
  DOTDO_ASSIGN_OR_RETURN(auto st, conn_.Prepare(sql));
  st.Bind(1, IdsJson(frontier));
  if (!types_json_.empty()) st.Bind(2, types_json_);
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    Hop hop{static_cast<size_t>(st.ColumnInt64(0)), st.ColumnText(1), st.ColumnText(2), st.ColumnInt64(3) != 0};
    if (hop.src >= frontier.size()) return InternalError("adjacency query returned an unknown frontier index");
    if (!fn(hop)) break;
  }
  return OkStatus();
}

Status Adjacency::Expand(std::string_view node, const HopFn& fn) {
  return ExpandLevel(std::vector<std::string>{std::string(node)}, fn);
}

}  // namespace internal
}  // namespace dotdo
