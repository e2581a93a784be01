// Graph routes: relate / unrelate / get edges, many edges in one transaction, adjacency pages,
// degrees, traversals, paths, cycles, and the batch adjacency read (one request for up to
// kMaxBatchIds nodes instead of one per node). Node ids ("User/alice") go in query parameters or
// bodies, never in the path. Results are the CLI's `dotdo graph` JSON.
#include "core/json.h"
#include "dotdo/clock.h"
#include "dotdo/graph.h"
#include "server/server_internal.h"

namespace dotdo::internal {
namespace {

const std::string kGraph = std::string(kNsPrefix) + "/graph";

Result<GraphStore> Graph(ApiRequest& r) { return r.ns->Graph(); }

Result<std::string> Required(const ApiRequest& r, const std::string& name) {
  std::string v = r.Param(name);
  if (v.empty()) return InvalidArgumentError("query parameter '" + name + "' is required");
  return v;
}

Result<EdgeInput> EdgeFromJson(const Json& j) {
  if (!j.is_object()) return InvalidArgumentError("an edge is {\"from\", \"to\", \"type\", \"data\"}");
  EdgeInput e;
  for (auto [field, out] : {std::pair{"from", &e.from}, {"to", &e.to}, {"type", &e.type}}) {
    if (!j.contains(field) || !j[field].is_string()) return InvalidArgumentError(std::string("edge field '") + field + "' must be a string");
    *out = j[field].get<std::string>();
  }
  if (j.contains("data")) e.data = j["data"];
  return e;
}

Result<Json> Relate(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(EdgeInput e, EdgeFromJson(r.body));
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Graph(r));
  DOTDO_ASSIGN_OR_RETURN(Edge edge, g.Relate(e.from, e.to, e.type, std::move(e.data)));
  return EdgeToJson(edge);
}

Result<Json> RelateMany(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(Json b, r.BodyObject());
  if (!b.contains("edges") || !b["edges"].is_array()) return InvalidArgumentError("the body must be {\"edges\": [...]}");
  std::vector<EdgeInput> edges;
  for (const auto& j : b["edges"]) {
    DOTDO_ASSIGN_OR_RETURN(EdgeInput e, EdgeFromJson(j));
    edges.push_back(std::move(e));
  }
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Graph(r));
  DOTDO_ASSIGN_OR_RETURN(int64_t n, g.RelateMany(edges));
  return Json{{"related", n}};
}

Result<Json> GetEdge(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Graph(r));
  if (r.http.has_param("id")) {
    DOTDO_ASSIGN_OR_RETURN(Edge e, g.GetEdgeById(r.Param("id")));
    return EdgeToJson(e);
  }
  DOTDO_ASSIGN_OR_RETURN(auto from, Required(r, "from"));
  DOTDO_ASSIGN_OR_RETURN(auto to, Required(r, "to"));
  DOTDO_ASSIGN_OR_RETURN(auto type, Required(r, "type"));
  DOTDO_ASSIGN_OR_RETURN(Edge e, g.GetEdge(from, to, type));
  return EdgeToJson(e);
}

Result<Json> Unrelate(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(auto from, Required(r, "from"));
  DOTDO_ASSIGN_OR_RETURN(auto to, Required(r, "to"));
  DOTDO_ASSIGN_OR_RETURN(auto type, Required(r, "type"));
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Graph(r));
  DOTDO_ASSIGN_OR_RETURN(bool removed, g.Unrelate(from, to, type));
  return Json{{"from", from}, {"to", to}, {"type", type}, {"removed", removed}};
}

Result<EdgeQuery> QueryParams(const ApiRequest& r) {
  EdgeQuery q{.types = r.ListParam("types"), .cursor = r.Param("cursor")};
  if (r.http.has_param("node_type")) q.node_type = r.Param("node_type");
  DOTDO_ASSIGN_OR_RETURN(q.limit, r.IntParam("limit", 100));
  return q;
}

Result<Json> Adjacency(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(auto node, Required(r, "node"));
  DOTDO_ASSIGN_OR_RETURN(EdgeQuery q, QueryParams(r));
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Graph(r));
  const std::string dir = r.Capture(2);
  Result<EdgePage> page = dir == "out" ? g.Outgoing(node, q) : dir == "in" ? g.Incoming(node, q) : g.Both(node, q);
  if (!page.ok()) return page.status();
  Json out = PageToJson(*page, EdgeToJson);
  out["node"] = node;
  return out;
}

Result<Json> Degree(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(auto node, Required(r, "node"));
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Graph(r));
  const auto types = r.ListParam("types");
  DOTDO_ASSIGN_OR_RETURN(int64_t out, g.OutDegree(node, types));
  DOTDO_ASSIGN_OR_RETURN(int64_t in, g.InDegree(node, types));
  return Json{{"node", node}, {"out", out}, {"in", in}};
}

Result<int> Depth(const ApiRequest& r, int fallback) {
  DOTDO_ASSIGN_OR_RETURN(int64_t d, r.IntParam("max_depth", fallback));
  if (d < 0 || d > kMaxGraphDepth) return InvalidArgumentError("max_depth must be 0.." + std::to_string(kMaxGraphDepth));
  return static_cast<int>(d);
}

Result<Json> Traverse(ApiRequest& r) {
  GraphTraverseOptions o;
  DOTDO_ASSIGN_OR_RETURN(o.start, Required(r, "start"));
  o.types = r.ListParam("types");
  DOTDO_ASSIGN_OR_RETURN(o.direction, ParseEdgeDirection(r.Param("direction", "out")));
  DOTDO_ASSIGN_OR_RETURN(o.algorithm, ParseTraversalAlgorithm(r.Param("algorithm", "bfs")));
  DOTDO_ASSIGN_OR_RETURN(o.max_depth, Depth(r, 3));
  DOTDO_ASSIGN_OR_RETURN(o.limit, r.IntParam("limit", 1000));
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Graph(r));
  DOTDO_ASSIGN_OR_RETURN(auto nodes, g.Traverse(o));
  Json items = Json::array();
  for (const auto& n : nodes) items.push_back({{"id", n.id}, {"depth", n.depth}, {"path", n.path}});
  return Json{{"start", o.start}, {"nodes", std::move(items)}};
}

Result<Json> Path(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(auto from, Required(r, "from"));
  DOTDO_ASSIGN_OR_RETURN(auto to, Required(r, "to"));
  DOTDO_ASSIGN_OR_RETURN(EdgeDirection direction, ParseEdgeDirection(r.Param("direction", "out")));
  DOTDO_ASSIGN_OR_RETURN(bool any, r.BoolParam("any", false));
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Graph(r));
  std::optional<GraphPath> path;
  if (r.http.has_param("weighted")) {
    if (any) return InvalidArgumentError("weighted and any are exclusive");
    GraphWeightedPathOptions o{.from = from, .to = to, .direction = direction, .types = r.ListParam("types"),
                               .weight_field = r.Param("weighted")};
    if (r.http.has_param("default_weight")) {
      char* end = nullptr;
      const std::string v = r.Param("default_weight");
      o.default_weight = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0') return InvalidArgumentError("default_weight must be a number, got '" + v + "'");
    }
    DOTDO_ASSIGN_OR_RETURN(path, g.WeightedShortestPath(o));
  } else {
    GraphPathOptions o{.from = from, .to = to, .direction = direction, .types = r.ListParam("types")};
    DOTDO_ASSIGN_OR_RETURN(o.max_depth, Depth(r, 100));
    DOTDO_ASSIGN_OR_RETURN(path, any ? g.FindPath(o) : g.ShortestPath(o));
  }
  return Json{{"from", from}, {"to", to}, {"path", path ? GraphPathToJson(*path) : Json(nullptr)}};
}

Result<Json> Cycle(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(auto node, Required(r, "node"));
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Graph(r));
  DOTDO_ASSIGN_OR_RETURN(auto found, g.DetectCycle(node, r.Param("type")));
  return Json{{"start", node}, {"cycle", found ? Json(*found) : Json(nullptr)}};
}

// EdgeToJson(e) as text, keys in nlohmann's (sorted) order. Edges written in one call mostly share
// their timestamps, so the last formatted time is kept.
class EdgeTextWriter {
 public:
  void Append(std::string& out, const Edge& e) {
    out += "{\"createdAt\":";
    AppendJsonString(out, Time(e.created_at));
    out += ",\"data\":";
    if (e.data.is_object() && e.data.empty()) out += "{}";
    else out += DumpJson(e.data);
    for (auto [key, value] : {std::pair{",\"from\":", &e.from}, {",\"id\":", &e.id}, {",\"to\":", &e.to},
                              {",\"type\":", &e.type}}) {
      out += key;
      AppendJsonString(out, *value);
    }
    out += ",\"updatedAt\":";
    AppendJsonString(out, Time(e.updated_at));
    out += '}';
  }

 private:
  const std::string& Time(int64_t millis) {
    if (millis != time_ms_ || time_text_.empty()) {
      time_ms_ = millis;
      time_text_ = FormatIso8601(millis);
    }
    return time_text_;
  }
  int64_t time_ms_ = 0;
  std::string time_text_;
};

// {"ids": [...], "direction": "out"|"in", "types": [...], "limit": n} -> {"edges": {id: [edge...]}}.
Result<Json> Batch(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(Json b, r.BodyObject());
  if (!b.contains("ids") || !b["ids"].is_array()) return InvalidArgumentError("the body must be {\"ids\": [...]}");
  std::vector<std::string> ids;
  EdgeQuery q;
  std::string direction;
  try {
    ids = b["ids"].get<std::vector<std::string>>();
    q.types = b.value("types", std::vector<std::string>{});
    q.limit = b.value("limit", int64_t{100});
    direction = b.value("direction", "out");
  } catch (const Json::exception& e) {
    return InvalidArgumentError(std::string("batch body: ") + e.what());
  }
  if (direction != "out" && direction != "in") return InvalidArgumentError("batch direction must be out or in");
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Graph(r));
  DOTDO_ASSIGN_OR_RETURN(auto edges, direction == "out" ? g.OutgoingBatch(ids, q) : g.IncomingBatch(ids, q));
  // Written straight to text: a JSON tree of thousands of edges, its copies and its dump were most
  // of the request's time (a 1000-id batch of 3000 edges: ~60 % in EdgeToJson, tree copies and
  // DumpJson). The bytes are DumpJson's of {"direction", "edges": {id: [EdgeToJson...]}}.
  std::string text = "{\"direction\":";
  AppendJsonString(text, direction);
  text += ",\"edges\":{";
  EdgeTextWriter writer;
  bool first_id = true;
  for (const auto& [id, list] : edges) {
    if (!first_id) text += ',';
    first_id = false;
    AppendJsonString(text, id);
    text += ":[";
    for (size_t i = 0; i < list.size(); ++i) {
      if (i > 0) text += ',';
      writer.Append(text, list[i]);
    }
    text += ']';
  }
  text += "}}";
  r.res.status = 200;
  r.res.set_content(std::move(text), "application/json");
  r.responded = true;
  return Json();
}

Result<Json> UnrelateAll(ApiRequest& r) {
  DOTDO_ASSIGN_OR_RETURN(auto node, Required(r, "node"));
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Graph(r));
  DOTDO_ASSIGN_OR_RETURN(int64_t removed, g.UnrelateAll(node));
  return Json{{"node", node}, {"removed", removed}};
}

}  // namespace

void InstallGraphRoutes(RouteTable& t) {
  t.Add({.method = "POST", .pattern = kGraph + "/edges", .role = TokenRole::kWrite, .body = BodyKind::kJson,
         .create_ns = true, .success_status = 201, .handler = Relate});
  t.Add({.method = "POST", .pattern = kGraph + "/edges/batch", .role = TokenRole::kWrite, .body = BodyKind::kJson,
         .create_ns = true, .success_status = 201, .handler = RelateMany});
  t.Add({.method = "GET", .pattern = kGraph + "/edges", .handler = GetEdge});
  t.Add({.method = "DELETE", .pattern = kGraph + "/edges", .role = TokenRole::kWrite, .handler = Unrelate});
  t.Add({.method = "DELETE", .pattern = kGraph + "/nodes", .role = TokenRole::kWrite, .handler = UnrelateAll});
  t.Add({.method = "GET", .pattern = kGraph + "/(out|in|both)", .handler = Adjacency});
  t.Add({.method = "GET", .pattern = kGraph + "/degree", .handler = Degree});
  t.Add({.method = "GET", .pattern = kGraph + "/traverse", .handler = Traverse});
  t.Add({.method = "GET", .pattern = kGraph + "/path", .handler = Path});
  t.Add({.method = "GET", .pattern = kGraph + "/cycle", .handler = Cycle});
  t.Add({.method = "POST", .pattern = kGraph + "/batch", .body = BodyKind::kJson, .handler = Batch});
}

}  // namespace dotdo::internal
