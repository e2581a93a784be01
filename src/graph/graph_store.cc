// GraphStore writes and direct reads: relate/unrelate (with CDC events in the same transaction and
// the acyclic-type check), edge lookups, paged adjacency lists, degrees, batched adjacency in one
// query, and relation-type options.
#include <algorithm>
#include <climits>
#include <unordered_map>

#include "cdc/outbox.h"
#include "core/cursor.h"
#include "dotdo/ulid.h"
#include "graph/graph_internal.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;
using internal::Outbox;
using internal::RawEdge;
using internal::Statement;

namespace {

const std::string kSelectEdgeByKey = "SELECT " + std::string(internal::kEdgeColumns) +
                                     " FROM graph_relationships WHERE from_id = ?1 AND type = ?2 AND to_id = ?3";

// Cursor position (core/cursor.h, kind "graph.edges"): ["o" or "i", type, other end], the phase
// (outgoing or incoming edges) and the key of the last edge returned in that phase.
constexpr std::string_view kCursorKind = "graph.edges";

struct Cursor {
  char phase = 'o';
  std::string type, other;
};

Result<std::string> EncodeCursor(char phase, const std::string& type, const std::string& other) {
  return internal::EncodeCursor(kCursorKind, Json::array({std::string(1, phase), type, other}));
}

Result<Cursor> DecodeCursor(std::string_view text) {
  DOTDO_ASSIGN_OR_RETURN(Json j, internal::DecodeCursor(text, kCursorKind));
  auto bad = [] {
    return InvalidArgumentError("invalid cursor: not a graph edge position; pass back next_cursor exactly as returned");
  };
  if (!j.is_array() || j.size() != 3 || !j[0].is_string() || !j[1].is_string() || !j[2].is_string()) return bad();
  Cursor c;
  const std::string& phase = j[0].get_ref<const std::string&>();
  if (phase != "o" && phase != "i") return bad();
  c.phase = phase[0];
  c.type = j[1].get<std::string>();
  c.other = j[2].get<std::string>();
  if (!ValidateRelationType(c.type).ok() || !NodeTypeOf(c.other).ok()) return bad();
  return c;
}

Status ValidateQuery(const EdgeQuery& q, bool batch) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateTypes(q.types));
  if (q.limit < 1 || q.limit > kMaxEdgePageSize)
    return InvalidArgumentError("limit must be between 1 and " + std::to_string(kMaxEdgePageSize) + ", got " +
                                std::to_string(q.limit));
  if (q.node_type) {
    const std::string probe = *q.node_type + "/x";  // NodeTypeOf returns a view into its argument
    auto t = NodeTypeOf(probe);
    if (!t.ok() || *t != *q.node_type)
      return InvalidArgumentError("node_type '" + *q.node_type + "' must match [A-Za-z][A-Za-z0-9_]{0,63}");
  }
  if (batch && !q.cursor.empty())
    return InvalidArgumentError("the batch calls return the first page per id; page further with Outgoing/Incoming");
  return OkStatus();
}

// The statement for one page of one direction: SQL text and the type filter, built once and run
// for any number of nodes (a batch runs it per id). `incoming_skip_self` drops self-loops (Both
// lists them once, as outgoing).
struct PageQuery {
  std::string sql;
  std::string types_json;  // empty: every type
};

PageQuery MakePageQuery(bool outgoing, const EdgeQuery& q, bool has_after, int64_t want, bool incoming_skip_self) {
  const char* self = outgoing ? "from_id" : "to_id";
  const char* other = outgoing ? "to_id" : "from_id";
  const char* other_type = outgoing ? "to_type" : "from_type";
  PageQuery p;
  p.sql = "SELECT " + std::string(internal::kEdgeColumns) + " FROM graph_relationships WHERE " + self + " = ?1";
  if (!q.types.empty()) {
    p.sql += " AND type IN (SELECT value FROM json_each(?2))";
    p.types_json = internal::TypesJson(q.types);
  }
  if (q.node_type) p.sql += std::string(" AND ") + other_type + " = ?3";
  if (has_after) p.sql += std::string(" AND (type, ") + other + ") > (?4, ?5)";
  if (incoming_skip_self) p.sql += " AND from_id <> to_id";
  p.sql += std::string(" ORDER BY type, ") + other + internal::LimitClause(want);
  return p;
}

// Appends the edges of `node` that `page` selects to `out`.
Status RunPageQuery(Connection& conn, const PageQuery& page, std::string_view node, const EdgeQuery& q,
                    const Cursor* after, std::vector<RawEdge>& out) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(page.sql));
  st.Bind(1, node);
  if (!page.types_json.empty()) st.Bind(2, page.types_json);
  if (q.node_type) st.Bind(3, *q.node_type);
  if (after) st.Bind(4, after->type).Bind(5, after->other);
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(internal::RawEdgeFromRow(st, 0));
  }
  return OkStatus();
}

// One page of one direction for one node.
Status QueryPhase(Connection& conn, std::string_view node, bool outgoing, const EdgeQuery& q, const Cursor* after,
                  int64_t want, bool incoming_skip_self, std::vector<RawEdge>& out) {
  return RunPageQuery(conn, MakePageQuery(outgoing, q, after != nullptr, want, incoming_skip_self), node, q, after, out);
}

Result<EdgePage> FinishPage(std::vector<RawEdge> raws) {
  EdgePage page;
  page.items.reserve(raws.size());
  for (auto& r : raws) {
    DOTDO_ASSIGN_OR_RETURN(auto e, internal::ToEdge(std::move(r)));
    page.items.push_back(std::move(e));
  }
  return page;
}

// One page of Outgoing (outgoing = true) or Incoming, continuing after q.cursor.
Result<EdgePage> OneWayPage(Database& db, std::string_view node, const EdgeQuery& q, bool outgoing) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(node, "node"));
  DOTDO_RETURN_IF_ERROR(ValidateQuery(q, false));
  const char phase = outgoing ? 'o' : 'i';
  std::optional<Cursor> after;
  if (!q.cursor.empty()) {
    DOTDO_ASSIGN_OR_RETURN(after, DecodeCursor(q.cursor));
    if (after->phase != phase)
      return InvalidArgumentError(outgoing ? "this cursor belongs to an incoming page"
                                           : "this cursor belongs to an outgoing page");
  }
  DOTDO_ASSIGN_OR_RETURN(bool readable, internal::GraphReadable(db));
  if (!readable) return EdgePage{};
  std::vector<RawEdge> raws;
  DOTDO_RETURN_IF_ERROR(QueryPhase(DatabaseInternals::Conn(db), node, outgoing, q, after ? &*after : nullptr,
                                   q.limit + 1, false, raws));
  std::string next;
  if (static_cast<int64_t>(raws.size()) > q.limit) {
    raws.pop_back();
    DOTDO_ASSIGN_OR_RETURN(next, EncodeCursor(phase, raws.back().type, outgoing ? raws.back().to : raws.back().from));
  }
  DOTDO_ASSIGN_OR_RETURN(auto page, FinishPage(std::move(raws)));
  page.next_cursor = std::move(next);
  return page;
}

Result<std::optional<RawEdge>> FindEdge(Connection& conn, std::string_view from, std::string_view to,
                                        std::string_view type) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(kSelectEdgeByKey));
  st.BindAll(from, type, to);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<RawEdge>();
  return std::optional<RawEdge>(internal::RawEdgeFromRow(st, 0));
}

Result<bool> IsAcyclicType(Connection& conn, std::string_view type) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT acyclic FROM graph_relation_options WHERE type = ?1"));
  st.Bind(1, type);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  return row && st.ColumnInt64(0) != 0;
}

struct ValidEdge {
  std::string from, to, type, data_text;
  Json data;
};

Result<ValidEdge> ValidateEdge(std::string_view from, std::string_view to, std::string_view type, Json data) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(from, "from"));
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(to, "to"));
  DOTDO_RETURN_IF_ERROR(ValidateRelationType(type));
  ValidEdge v{std::string(from), std::string(to), std::string(type), {}, std::move(data)};
  DOTDO_ASSIGN_OR_RETURN(v.data_text, internal::NormalizeEdgeData(v.data));
  return v;
}

// REQUIRES: inside db.Transaction; `e` validated.
Result<Edge> RelateInTransaction(Database& db, const ValidEdge& e, bool acyclic, int64_t max_visited) {
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db));
  const int64_t now = db.NowMillis();
  DOTDO_ASSIGN_OR_RETURN(auto existing, FindEdge(conn, e.from, e.to, e.type));
  if (existing) {
    DOTDO_ASSIGN_OR_RETURN(Edge before, internal::ToEdge(std::move(*existing)));
    DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare("UPDATE graph_relationships SET data = ?4, updated_at = ?5 "
                                                 "WHERE from_id = ?1 AND type = ?2 AND to_id = ?3"));
    up.BindAll(e.from, e.type, e.to, e.data_text, now);
    DOTDO_RETURN_IF_ERROR(up.Run());
    Edge after = before;
    after.data = e.data;
    after.updated_at = now;
    DOTDO_RETURN_IF_ERROR(outbox->AppendChange(ChangeOp::kUpdate, internal::kGraphSpec.name, internal::kRelationshipsTable, after.id,
                                               internal::EdgeImage(before), internal::EdgeImage(after)));
    return after;
  }
  if (acyclic) {
    if (e.from == e.to)
      return FailedPreconditionError("relating " + e.from + " -[" + e.type + "]-> " + e.to +
                                     " would create the self-loop cycle " + e.from + " -> " + e.from +
                                     "; relation type '" + e.type + "' is acyclic");
    DOTDO_ASSIGN_OR_RETURN(auto back, internal::BidirectionalShortestPath(conn, e.to, e.from, EdgeDirection::kOut,
                                                                          {e.type}, INT_MAX, max_visited, false));
    if (back) {
      std::vector<std::string> cycle{e.from};
      cycle.insert(cycle.end(), back->nodes.begin(), back->nodes.end());
      return FailedPreconditionError("relating " + e.from + " -[" + e.type + "]-> " + e.to +
                                     " would create the cycle " + internal::CycleToString(cycle) +
                                     "; relation type '" + e.type + "' is acyclic");
    }
  }
  Edge edge{db.NewId(), e.from, e.to, e.type, e.data, now, now};
  DOTDO_ASSIGN_OR_RETURN(auto ins, conn.Prepare(
                                       "INSERT INTO graph_relationships(from_id, type, to_id, id, from_type, to_type, "
                                       "data, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"));
  ins.BindAll(e.from, e.type, e.to, edge.id, *NodeTypeOf(e.from), *NodeTypeOf(e.to), e.data_text, now);
  DOTDO_RETURN_IF_ERROR(ins.Run());
  DOTDO_RETURN_IF_ERROR(outbox->AppendChange(ChangeOp::kInsert, internal::kGraphSpec.name, internal::kRelationshipsTable, edge.id,
                                             std::nullopt, internal::EdgeImage(edge)));
  return edge;
}

Result<std::map<std::string, std::vector<Edge>>> Batch(Database& db, const std::vector<std::string>& ids,
                                                       const EdgeQuery& q, bool outgoing) {
  DOTDO_RETURN_IF_ERROR(ValidateQuery(q, /*batch=*/true));
  std::vector<std::string> unique = ids;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  if (unique.size() > kMaxBatchIds)
    return InvalidArgumentError("a batch takes at most " + std::to_string(kMaxBatchIds) + " distinct ids, got " +
                                std::to_string(unique.size()));
  for (const auto& id : unique) DOTDO_RETURN_IF_ERROR(internal::ValidateNode(id, "batch id"));
  DOTDO_ASSIGN_OR_RETURN(bool readable, internal::GraphReadable(db));
  std::map<std::string, std::vector<Edge>> result;
  if (unique.empty()) return result;
  if (!readable) {  // an empty graph: every id has no edges
    for (const auto& id : unique) result.emplace(id, std::vector<Edge>());
    return result;
  }

  // One read snapshot, and per id the same cached statement that Outgoing/Incoming use: it walks the
  // primary key (or the incoming index) in page order and stops at `limit`, so a node with millions
  // of edges costs no more than one with `limit`. (A single join against the id list cannot stop per
  // id, and in an embedded engine a statement execution costs microseconds, not a round trip.)
  Connection& conn = DatabaseInternals::Conn(db);
  internal::ReadSnapshot snapshot(conn);
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  const PageQuery page = MakePageQuery(outgoing, q, /*has_after=*/false, q.limit, /*incoming_skip_self=*/false);
  std::vector<RawEdge> raws;
  for (const std::string& id : unique) {
    raws.clear();
    DOTDO_RETURN_IF_ERROR(RunPageQuery(conn, page, id, q, nullptr, raws));
    DOTDO_ASSIGN_OR_RETURN(EdgePage edges, FinishPage(std::move(raws)));
    result.emplace_hint(result.end(), id, std::move(edges.items));
  }
  return result;
}

Result<int64_t> Degree(Database& db, std::string_view node, const std::vector<std::string>& types, bool outgoing) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(node, "node"));
  DOTDO_RETURN_IF_ERROR(internal::ValidateTypes(types));
  DOTDO_ASSIGN_OR_RETURN(bool readable, internal::GraphReadable(db));
  if (!readable) return int64_t{0};
  std::string sql = std::string("SELECT COUNT(*) FROM graph_relationships WHERE ") + (outgoing ? "from_id" : "to_id") +
                    " = ?1";
  if (!types.empty()) sql += " AND type IN (SELECT value FROM json_each(?2))";
  DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db).Prepare(sql));
  st.Bind(1, node);
  if (!types.empty()) st.Bind(2, internal::TypesJson(types));
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt64(0) : 0;
}

}  // namespace

GraphStore::GraphStore(Database& db, GraphOptions options) : db_(db), options_(options) {}

Result<GraphStore> GraphStore::Open(Database& db, GraphOptions options) {
  if (options.max_visited_nodes < 1) return InvalidArgumentError("max_visited_nodes must be >= 1");
  DOTDO_ASSIGN_OR_RETURN(bool readable, internal::GraphReadable(db));
  if (!readable) return GraphStore(db, options);
  return GraphStore(db, options);
}

Result<Edge> GraphStore::Relate(std::string_view from, std::string_view to, std::string_view type, Json data) {
  DOTDO_ASSIGN_OR_RETURN(ValidEdge e, ValidateEdge(from, to, type, std::move(data)));
  DOTDO_RETURN_IF_ERROR(internal::EnsureGraphSchema(db_));
  Edge out;
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(bool acyclic, IsAcyclicType(DatabaseInternals::Conn(db_), e.type));
    DOTDO_ASSIGN_OR_RETURN(out, RelateInTransaction(db_, e, acyclic, options_.max_visited_nodes));
    return OkStatus();
  }));
  return out;
}

Result<int64_t> GraphStore::RelateMany(const std::vector<EdgeInput>& edges) {
  std::vector<ValidEdge> valid;
  valid.reserve(edges.size());
  for (size_t i = 0; i < edges.size(); ++i) {
    auto v = ValidateEdge(edges[i].from, edges[i].to, edges[i].type, edges[i].data);
    if (!v.ok()) return v.status().WithContext("edge #" + std::to_string(i));
    valid.push_back(std::move(v).value());
  }
  DOTDO_RETURN_IF_ERROR(internal::EnsureGraphSchema(db_));
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    std::unordered_map<std::string, bool> acyclic;
    for (size_t i = 0; i < valid.size(); ++i) {
      auto it = acyclic.find(valid[i].type);
      if (it == acyclic.end()) {
        DOTDO_ASSIGN_OR_RETURN(bool a, IsAcyclicType(DatabaseInternals::Conn(db_), valid[i].type));
        it = acyclic.emplace(valid[i].type, a).first;
      }
      auto r = RelateInTransaction(db_, valid[i], it->second, options_.max_visited_nodes);
      if (!r.ok()) return r.status().WithContext("edge #" + std::to_string(i));
    }
    return OkStatus();
  }));
  return static_cast<int64_t>(valid.size());
}

Result<bool> GraphStore::Unrelate(std::string_view from, std::string_view to, std::string_view type) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(from, "from"));
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(to, "to"));
  DOTDO_RETURN_IF_ERROR(ValidateRelationType(type));
  DOTDO_RETURN_IF_ERROR(internal::EnsureGraphSchema(db_));
  bool removed = false;
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    Connection& conn = DatabaseInternals::Conn(db_);
    DOTDO_ASSIGN_OR_RETURN(auto existing, FindEdge(conn, from, to, type));
    if (!existing) return OkStatus();
    DOTDO_ASSIGN_OR_RETURN(Edge before, internal::ToEdge(std::move(*existing)));
    DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM graph_relationships "
                                                  "WHERE from_id = ?1 AND type = ?2 AND to_id = ?3"));
    del.BindAll(from, type, to);
    DOTDO_RETURN_IF_ERROR(del.Run());
    DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db_));
    DOTDO_RETURN_IF_ERROR(outbox->AppendChange(ChangeOp::kDelete, internal::kGraphSpec.name, internal::kRelationshipsTable, before.id,
                                               internal::EdgeImage(before), std::nullopt));
    removed = true;
    return OkStatus();
  }));
  return removed;
}

Result<int64_t> GraphStore::UnrelateAll(std::string_view node) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(node, "node"));
  DOTDO_RETURN_IF_ERROR(internal::EnsureGraphSchema(db_));
  int64_t count = 0;
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    Connection& conn = DatabaseInternals::Conn(db_);
    std::vector<RawEdge> raws;
    {
      DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT " + std::string(internal::kEdgeColumns) +
                                                   " FROM graph_relationships WHERE from_id = ?1 UNION SELECT " +
                                                   std::string(internal::kEdgeColumns) +
                                                   " FROM graph_relationships WHERE to_id = ?1 ORDER BY 1"));
      st.Bind(1, node);
      for (;;) {
        DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        raws.push_back(internal::RawEdgeFromRow(st, 0));
      }
    }
    DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db_));
    for (auto& r : raws) {
      DOTDO_ASSIGN_OR_RETURN(Edge before, internal::ToEdge(std::move(r)));
      DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM graph_relationships "
                                                    "WHERE from_id = ?1 AND type = ?2 AND to_id = ?3"));
      del.BindAll(before.from, before.type, before.to);
      DOTDO_RETURN_IF_ERROR(del.Run());
      DOTDO_RETURN_IF_ERROR(outbox->AppendChange(ChangeOp::kDelete, internal::kGraphSpec.name, internal::kRelationshipsTable,
                                                 before.id, internal::EdgeImage(before), std::nullopt));
    }
    count = static_cast<int64_t>(raws.size());
    return OkStatus();
  }));
  return count;
}

Result<bool> GraphStore::Exists(std::string_view from, std::string_view to, std::string_view type) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(from, "from"));
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(to, "to"));
  DOTDO_RETURN_IF_ERROR(ValidateRelationType(type));
  DOTDO_ASSIGN_OR_RETURN(bool readable, internal::GraphReadable(db_));
  if (!readable) return false;
  DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db_).Prepare(
                                      "SELECT 1 FROM graph_relationships WHERE from_id = ?1 AND type = ?2 AND to_id = ?3"));
  st.BindAll(from, type, to);
  return st.Step();
}

Result<Edge> GraphStore::GetEdge(std::string_view from, std::string_view to, std::string_view type) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(from, "from"));
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(to, "to"));
  DOTDO_RETURN_IF_ERROR(ValidateRelationType(type));
  DOTDO_ASSIGN_OR_RETURN(bool readable, internal::GraphReadable(db_));
  if (!readable) return NotFoundError("no edge " + std::string(from) + " -[" + std::string(type) + "]-> " + std::string(to));
  DOTDO_ASSIGN_OR_RETURN(auto raw, FindEdge(DatabaseInternals::Conn(db_), from, to, type));
  if (!raw)
    return NotFoundError("no edge " + std::string(from) + " -[" + std::string(type) + "]-> " + std::string(to));
  return internal::ToEdge(std::move(*raw));
}

Result<Edge> GraphStore::GetEdgeById(std::string_view id) {
  if (!UlidGenerator::IsValid(id)) return InvalidArgumentError("edge id must be a 26-character ULID");
  DOTDO_ASSIGN_OR_RETURN(bool readable, internal::GraphReadable(db_));
  if (!readable) return NotFoundError("no edge with id " + std::string(id));
  DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db_).Prepare(
                                      "SELECT " + std::string(internal::kEdgeColumns) +
                                      " FROM graph_relationships WHERE id = ?1"));
  st.Bind(1, id);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFoundError("no edge with id " + std::string(id));
  return internal::ToEdge(internal::RawEdgeFromRow(st, 0));
}

Result<EdgePage> GraphStore::Outgoing(std::string_view node, const EdgeQuery& q) { return OneWayPage(db_, node, q, true); }

Result<EdgePage> GraphStore::Incoming(std::string_view node, const EdgeQuery& q) { return OneWayPage(db_, node, q, false); }

Result<EdgePage> GraphStore::Both(std::string_view node, const EdgeQuery& q) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(node, "node"));
  DOTDO_RETURN_IF_ERROR(ValidateQuery(q, false));
  std::optional<Cursor> after;
  if (!q.cursor.empty()) {
    DOTDO_ASSIGN_OR_RETURN(after, DecodeCursor(q.cursor));
  }
  DOTDO_ASSIGN_OR_RETURN(bool readable, internal::GraphReadable(db_));
  if (!readable) return EdgePage{};
  Connection& conn = DatabaseInternals::Conn(db_);
  internal::ReadSnapshot snapshot(conn);
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  std::vector<RawEdge> raws;
  size_t outgoing_count = 0;
  if (!after || after->phase == 'o') {
    DOTDO_RETURN_IF_ERROR(QueryPhase(conn, node, true, q, after ? &*after : nullptr, q.limit + 1, false, raws));
    outgoing_count = raws.size();
  }
  if (static_cast<int64_t>(raws.size()) <= q.limit) {
    const Cursor* in_after = after && after->phase == 'i' ? &*after : nullptr;
    DOTDO_RETURN_IF_ERROR(QueryPhase(conn, node, false, q, in_after,
                                     q.limit + 1 - static_cast<int64_t>(raws.size()), true, raws));
  }
  std::string next;
  if (static_cast<int64_t>(raws.size()) > q.limit) {
    raws.pop_back();
    const bool last_is_out = raws.size() <= outgoing_count;
    DOTDO_ASSIGN_OR_RETURN(next, last_is_out ? EncodeCursor('o', raws.back().type, raws.back().to)
                                             : EncodeCursor('i', raws.back().type, raws.back().from));
  }
  DOTDO_ASSIGN_OR_RETURN(auto page, FinishPage(std::move(raws)));
  page.next_cursor = std::move(next);
  return page;
}

Result<int64_t> GraphStore::OutDegree(std::string_view node, const std::vector<std::string>& types) {
  return Degree(db_, node, types, true);
}

Result<int64_t> GraphStore::InDegree(std::string_view node, const std::vector<std::string>& types) {
  return Degree(db_, node, types, false);
}

Result<std::map<std::string, std::vector<Edge>>> GraphStore::OutgoingBatch(const std::vector<std::string>& ids,
                                                                           const EdgeQuery& query) {
  return Batch(db_, ids, query, true);
}

Result<std::map<std::string, std::vector<Edge>>> GraphStore::IncomingBatch(const std::vector<std::string>& ids,
                                                                           const EdgeQuery& query) {
  return Batch(db_, ids, query, false);
}

Status GraphStore::SetRelationOptions(std::string_view type, const GraphRelationOptions& options) {
  DOTDO_RETURN_IF_ERROR(ValidateRelationType(type));
  DOTDO_RETURN_IF_ERROR(internal::EnsureGraphSchema(db_));
  return db_.Transaction([&]() -> Status {
    Connection& conn = DatabaseInternals::Conn(db_);
    DOTDO_ASSIGN_OR_RETURN(auto prev_st, conn.Prepare("SELECT acyclic FROM graph_relation_options WHERE type = ?1"));
    prev_st.Bind(1, type);
    DOTDO_ASSIGN_OR_RETURN(bool had, prev_st.Step());
    std::optional<GraphRelationOptions> before;
    if (had) before = GraphRelationOptions{prev_st.ColumnInt64(0) != 0};
    prev_st = Statement();
    if (before && *before == options) return OkStatus();
    if (options.acyclic && !(before && before->acyclic)) {
      std::vector<std::pair<std::string, std::string>> edges;
      DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT from_id, to_id FROM graph_relationships WHERE type = ?1"));
      st.Bind(1, type);
      for (;;) {
        DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        edges.emplace_back(st.ColumnString(0), st.ColumnString(1));
      }
      DOTDO_ASSIGN_OR_RETURN(auto cycle, internal::FindCycleInEdges(edges, options_.max_visited_nodes));
      if (cycle)
        return FailedPreconditionError("relation type '" + std::string(type) +
                                       "' cannot become acyclic: its edges already form the cycle " +
                                       internal::CycleToString(*cycle) + "; unrelate one of them first");
    }
    DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare("INSERT INTO graph_relation_options(type, acyclic, updated_at) "
                                                 "VALUES (?1, ?2, ?3) ON CONFLICT(type) DO UPDATE SET "
                                                 "acyclic = excluded.acyclic, updated_at = excluded.updated_at"));
    up.BindAll(type, options.acyclic ? 1 : 0, db_.NowMillis());
    DOTDO_RETURN_IF_ERROR(up.Run());
    auto image = [&](const GraphRelationOptions& o) { return Json{{"type", std::string(type)}, {"acyclic", o.acyclic}}; };
    DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db_));
    return outbox->AppendChange(before ? ChangeOp::kUpdate : ChangeOp::kInsert, internal::kGraphSpec.name, internal::kRelationOptionsTable, type,
                                before ? std::optional<Json>(image(*before)) : std::nullopt, image(options));
  });
}

Result<GraphRelationOptions> GraphStore::GetRelationOptions(std::string_view type) {
  DOTDO_RETURN_IF_ERROR(ValidateRelationType(type));
  DOTDO_ASSIGN_OR_RETURN(bool readable, internal::GraphReadable(db_));
  if (!readable) return GraphRelationOptions{};
  DOTDO_ASSIGN_OR_RETURN(bool acyclic, IsAcyclicType(DatabaseInternals::Conn(db_), type));
  return GraphRelationOptions{acyclic};
}

}  // namespace dotdo
