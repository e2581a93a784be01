// `dotdo graph ...`: the GraphStore from the shell — typed edges between Type/id nodes, adjacency
// pages, degrees, traversals, paths and cycles. Edge data is a JSON object argument (literal text,
// `@file`, or `-` for stdin); every result is JSON on stdout. Node ids, relation types, directions,
// algorithms, depths and limits are validated by the GraphStore itself, so the CLI accepts exactly
// what the C++ API accepts and reports the same errors.
#include <memory>
#include <optional>

#include "cli.h"
#include "dotdo/graph.h"

namespace dotdo::cli {
namespace {

struct GraphArgs {
  std::string from, to, type, node, id;
  std::string data;  // JSON object, @file or -; empty = {}
  std::vector<std::string> types;
  std::string node_type;
  int64_t limit = 100;
  std::string cursor;
  std::string direction = "out";
  std::string degree_direction = "both";
  std::string algorithm = "bfs";
  int max_depth = 0;
  int64_t traverse_limit = 1000;
  std::string weighted;
  double default_weight = 0;
  bool any = false;
  std::string acyclic;
  // Set by the callbacks from the options' counts (CLI11 fills values only when given).
  bool has_max_depth = false, has_default_weight = false, has_weighted = false, has_node_type = false;
};

Json PathOrNull(const std::optional<GraphPath>& path) { return path ? GraphPathToJson(*path) : Json(nullptr); }

// Opens the namespace; reads never create it (a missing namespace is NOT_FOUND).
Result<GraphStore> Open(Context& ctx, bool create) {
  return ctx.Graph(create);
}

Result<Json> RunRelate(Context& ctx, const GraphArgs& a) {
  Json data = Json::object();
  if (!a.data.empty()) {
    DOTDO_ASSIGN_OR_RETURN(std::string text, ReadArgText(a.data));
    DOTDO_ASSIGN_OR_RETURN(data, ParseJsonArg("data", text));
  }
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Open(ctx, /*create=*/true));
  DOTDO_ASSIGN_OR_RETURN(Edge e, g.Relate(a.from, a.to, a.type, std::move(data)));
  return EdgeToJson(e);
}

// Unrelate or Exists on FROM TO TYPE: {"from", "to", "type", <field>: bool}.
using EdgeCall = Result<bool> (GraphStore::*)(std::string_view, std::string_view, std::string_view);
Result<Json> RunEdgeCheck(Context& ctx, const GraphArgs& a, EdgeCall call, const char* field) {
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Open(ctx, /*create=*/false));
  DOTDO_ASSIGN_OR_RETURN(bool value, (g.*call)(a.from, a.to, a.type));
  return Json{{"from", a.from}, {"to", a.to}, {"type", a.type}, {field, value}};
}

Result<Json> RunGet(Context& ctx, const GraphArgs& a) {
  const bool by_key = !a.from.empty() || !a.to.empty() || !a.type.empty();
  if (by_key == !a.id.empty())
    return InvalidArgumentError("give either FROM TO TYPE or --id <edge id>, not both and not neither");
  if (by_key && (a.to.empty() || a.type.empty())) return InvalidArgumentError("get needs FROM, TO and TYPE");
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Open(ctx, /*create=*/false));
  DOTDO_ASSIGN_OR_RETURN(Edge e, by_key ? g.GetEdge(a.from, a.to, a.type) : g.GetEdgeById(a.id));
  return EdgeToJson(e);
}

Result<Json> RunAdjacency(Context& ctx, const GraphArgs& a, EdgeDirection direction) {
  EdgeQuery q{.types = a.types, .limit = a.limit, .cursor = a.cursor};
  if (a.has_node_type) q.node_type = a.node_type;  // an empty one is refused by the store
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Open(ctx, /*create=*/false));
  Result<EdgePage> page = direction == EdgeDirection::kOut  ? g.Outgoing(a.node, q)
                          : direction == EdgeDirection::kIn ? g.Incoming(a.node, q)
                                                        : g.Both(a.node, q);
  if (!page.ok()) return page.status();
  Json out = PageToJson(*page, EdgeToJson);
  out["node"] = a.node;
  return out;
}

Result<Json> RunDegree(Context& ctx, const GraphArgs& a) {
  DOTDO_ASSIGN_OR_RETURN(EdgeDirection direction, ParseEdgeDirection(a.degree_direction));
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Open(ctx, /*create=*/false));
  Json out = {{"node", a.node}};
  if (direction != EdgeDirection::kIn) {
    DOTDO_ASSIGN_OR_RETURN(int64_t n, g.OutDegree(a.node, a.types));
    out["out"] = n;
  }
  if (direction != EdgeDirection::kOut) {
    DOTDO_ASSIGN_OR_RETURN(int64_t n, g.InDegree(a.node, a.types));
    out["in"] = n;
  }
  return out;
}

Result<Json> RunTraverse(Context& ctx, const GraphArgs& a) {
  GraphTraverseOptions o{.start = a.node, .types = a.types, .limit = a.traverse_limit};
  DOTDO_ASSIGN_OR_RETURN(o.direction, ParseEdgeDirection(a.direction));
  DOTDO_ASSIGN_OR_RETURN(o.algorithm, ParseTraversalAlgorithm(a.algorithm));
  if (a.has_max_depth) o.max_depth = a.max_depth;
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Open(ctx, /*create=*/false));
  DOTDO_ASSIGN_OR_RETURN(auto nodes, g.Traverse(o));
  Json items = Json::array();
  for (const auto& n : nodes) items.push_back({{"id", n.id}, {"depth", n.depth}, {"path", n.path}});
  return Json{{"start", a.node}, {"nodes", std::move(items)}};
}

Result<Json> RunPath(Context& ctx, const GraphArgs& a) {
  DOTDO_ASSIGN_OR_RETURN(EdgeDirection direction, ParseEdgeDirection(a.direction));
  if (a.has_weighted && a.any) return InvalidArgumentError("--weighted and --any are exclusive");
  if (!a.has_weighted && a.has_default_weight)
    return InvalidArgumentError("--default-weight only applies with --weighted <field>");
  if (a.has_weighted && a.has_max_depth)
    return InvalidArgumentError("--max-depth does not apply to --weighted paths (they minimise weight, not length)");
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Open(ctx, /*create=*/false));
  std::optional<GraphPath> path;
  if (a.has_weighted) {  // an empty field is the API's "weight_field is required" error
    GraphWeightedPathOptions o{.from = a.from, .to = a.to, .direction = direction, .types = a.types, .weight_field = a.weighted};
    if (a.has_default_weight) o.default_weight = a.default_weight;
    DOTDO_ASSIGN_OR_RETURN(path, g.WeightedShortestPath(o));
  } else {
    GraphPathOptions o{.from = a.from, .to = a.to, .direction = direction, .types = a.types};
    if (a.has_max_depth) o.max_depth = a.max_depth;
    DOTDO_ASSIGN_OR_RETURN(path, a.any ? g.FindPath(o) : g.ShortestPath(o));
  }
  return Json{{"from", a.from}, {"to", a.to}, {"path", PathOrNull(path)}};
}

Result<Json> RunRelationType(Context& ctx, const GraphArgs& a) {
  std::optional<bool> acyclic;
  if (a.acyclic == "true" || a.acyclic == "on") acyclic = true;
  else if (a.acyclic == "false" || a.acyclic == "off") acyclic = false;
  else if (!a.acyclic.empty())
    return InvalidArgumentError("--acyclic must be true|false (or on|off), got '" + a.acyclic + "'");
  DOTDO_ASSIGN_OR_RETURN(GraphStore g, Open(ctx, /*create=*/acyclic.has_value()));
  if (acyclic) DOTDO_RETURN_IF_ERROR(g.SetRelationOptions(a.type, {.acyclic = *acyclic}));
  DOTDO_ASSIGN_OR_RETURN(GraphRelationOptions o, g.GetRelationOptions(a.type));
  return Json{{"type", a.type}, {"acyclic", o.acyclic}};
}

const CommandGroup kGraphCommands(20, [](CLI::App& app, Context& ctx) {
  auto a = std::make_shared<GraphArgs>();
  auto* graph = app.add_subcommand(
      "graph", "GraphStore: typed, directed edges between Type/id nodes (User/alice -[follows]-> User/bob)");
  graph->require_subcommand(1);

  auto edge_args = [a](CLI::App* cmd) {
    cmd->add_option("from", a->from, "Source node id, Type/key (e.g. User/alice)")->required();
    cmd->add_option("to", a->to, "Target node id, Type/key")->required();
    cmd->add_option("type", a->type, "Relation type, [A-Za-z][A-Za-z0-9_.:-]{0,63}")->required();
  };
  auto node_arg = [a](CLI::App* cmd, const char* what) {
    cmd->add_option("node", a->node, what)->required();
  };
  auto types_arg = [a](CLI::App* cmd) {
    cmd->add_option("--types", a->types, "Only these relation types, comma separated (default: every type)")
        ->delimiter(',');
  };
  auto direction_arg = [a](CLI::App* cmd) {
    cmd->add_option("--direction", a->direction, "Follow edges: out, in or both (default out)");
  };
  auto max_depth_arg = [a](CLI::App* cmd, const char* what) { return cmd->add_option("--max-depth", a->max_depth, what); };

  auto* relate = graph->add_subcommand(
      "relate", "Create the edge FROM -[TYPE]-> TO, or replace its data when it exists (one edge per from/to/type)");
  edge_args(relate);
  relate->add_option("data", a->data, "Edge data: a JSON object, @file or - for stdin (default {})");
  relate->callback([&ctx, a] { ctx.Finish(RunRelate(ctx, *a)); });

  auto* unrelate = graph->add_subcommand("unrelate", "Remove the edge FROM -[TYPE]-> TO (removed: false when absent)");
  edge_args(unrelate);
  unrelate->callback([&ctx, a] { ctx.Finish(RunEdgeCheck(ctx, *a, &GraphStore::Unrelate, "removed")); });

  auto* get = graph->add_subcommand("get", "Show one edge, by FROM TO TYPE or by --id (NOT_FOUND, exit 3, when absent)");
  get->add_option("from", a->from, "Source node id");
  get->add_option("to", a->to, "Target node id");
  get->add_option("type", a->type, "Relation type");
  get->add_option("--id", a->id, "Edge id (the ULID printed by relate)");
  get->callback([&ctx, a] { ctx.Finish(RunGet(ctx, *a)); });

  auto* exists = graph->add_subcommand("exists", "Whether the edge FROM -[TYPE]-> TO exists");
  edge_args(exists);
  exists->callback([&ctx, a] { ctx.Finish(RunEdgeCheck(ctx, *a, &GraphStore::Exists, "exists")); });

  const std::pair<const char*, EdgeDirection> adjacency[] = {{"out", EdgeDirection::kOut}, {"in", EdgeDirection::kIn},
                                                         {"both", EdgeDirection::kBoth}};
  const char* adjacency_help[] = {"Outgoing edges of a node, ordered by (type, target); paged",
                                  "Incoming edges of a node, ordered by (type, source); paged",
                                  "Outgoing then incoming edges of a node (a self-loop once); paged"};
  for (size_t i = 0; i < 3; ++i) {
    const EdgeDirection direction = adjacency[i].second;
    auto* cmd = graph->add_subcommand(adjacency[i].first, adjacency_help[i]);
    node_arg(cmd, "Node id, Type/key");
    types_arg(cmd);
    auto* node_type = cmd->add_option("--node-type", a->node_type,
                                      "Only edges whose other end has this node type (default: any)");
    cmd->add_option("--limit", a->limit, "Page size, 1..10000 (default 100)");
    cmd->add_option("--cursor", a->cursor, "next_cursor of the previous page");
    cmd->callback([&ctx, a, direction, node_type] {
      a->has_node_type = node_type->count() > 0;
      ctx.Finish(RunAdjacency(ctx, *a, direction));
    });
  }

  auto* degree = graph->add_subcommand("degree", "Number of outgoing and/or incoming edges of a node");
  node_arg(degree, "Node id, Type/key");
  types_arg(degree);
  degree->add_option("--direction", a->degree_direction, "out, in or both (default both: print out and in)");
  degree->callback([&ctx, a] { ctx.Finish(RunDegree(ctx, *a)); });

  auto* traverse = graph->add_subcommand(
      "traverse", "Nodes reachable from a start node, each once, with depth and the path that reached it");
  node_arg(traverse, "Start node id, Type/key");
  direction_arg(traverse);
  types_arg(traverse);
  traverse->add_option("--algorithm", a->algorithm, "bfs (distance order) or dfs (preorder) (default bfs)");
  auto* traverse_depth = max_depth_arg(traverse, "Deepest level, 0..1000 (default 3)");
  traverse->add_option("--limit", a->traverse_limit, "At most this many nodes, 1..1000000 (default 1000)");
  traverse->callback([&ctx, a, traverse_depth] {
    a->has_max_depth = traverse_depth->count() > 0;
    ctx.Finish(RunTraverse(ctx, *a));
  });

  auto* path = graph->add_subcommand(
      "path", "Shortest path FROM -> TO (fewest edges; --weighted: least total weight; --any: any path); "
              "path is null when there is none");
  path->add_option("from", a->from, "Start node id")->required();
  path->add_option("to", a->to, "End node id")->required();
  direction_arg(path);
  types_arg(path);
  auto* path_depth = max_depth_arg(path, "Longest accepted path in edges, 0..1000 (default 100; not with --weighted)");
  auto* weighted = path->add_option("--weighted", a->weighted, "Minimise the sum of this numeric edge-data field (dotted path, e.g. cost.usd)");
  auto* default_weight = path->add_option(
      "--default-weight", a->default_weight, "With --weighted: weight of edges lacking the field (default: such an edge is an error)");
  path->add_flag("--any", a->any, "Return any path (depth-first), not necessarily the shortest");
  path->callback([&ctx, a, path_depth, default_weight, weighted] {
    a->has_max_depth = path_depth->count() > 0;
    a->has_weighted = weighted->count() > 0;
    a->has_default_weight = default_weight->count() > 0;
    ctx.Finish(RunPath(ctx, *a));
  });

  auto* cycle = graph->add_subcommand(
      "cycle", "A directed cycle reachable from a node along outgoing edges, as [a, b, ..., a]; null when none");
  node_arg(cycle, "Start node id, Type/key");
  cycle->add_option("--types,--type", a->type,
                    "Only edges of this relation type (default: any type); --type is the old spelling, kept for one release");
  cycle->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(GraphStore g, Open(ctx, /*create=*/false));
      DOTDO_ASSIGN_OR_RETURN(auto found, g.DetectCycle(a->node, a->type));
      return Json{{"start", a->node}, {"cycle", found ? Json(*found) : Json(nullptr)}};
    }());
  });

  auto* unrelate_all = graph->add_subcommand("unrelate-all", "Remove every edge from or to a node (a deleted entity)");
  node_arg(unrelate_all, "Node id, Type/key");
  unrelate_all->callback([&ctx, a] {
    ctx.Finish([&]() -> Result<Json> {
      DOTDO_ASSIGN_OR_RETURN(GraphStore g, Open(ctx, /*create=*/false));
      DOTDO_ASSIGN_OR_RETURN(int64_t removed, g.UnrelateAll(a->node));
      return Json{{"node", a->node}, {"removed", removed}};
    }());
  });

  auto* relation_type = graph->add_subcommand(
      "relation-type", "Show a relation type's options; --acyclic true makes it refuse edges that close a cycle");
  relation_type->add_option("type", a->type, "Relation type")->required();
  relation_type->add_option("--acyclic", a->acyclic, "true|false: refuse cycles of this type (default: show only)");
  relation_type->callback([&ctx, a] { ctx.Finish(RunRelationType(ctx, *a)); });
});

}  // namespace
}  // namespace dotdo::cli
