// GraphStore traversals and path searches, computed in C++ over indexed adjacency queries:
// level-batched BFS (one SQL statement per level, the frontier bound as a JSON array), depth-first
// search with depth labels, bidirectional BFS for fewest-edge paths, Dijkstra for weighted paths,
// and three-colour DFS for cycles. Every search holds a read snapshot so it sees one state.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/json_path.h"
#include "graph/graph_internal.h"

namespace dotdo {

using internal::Adjacency;
using internal::Connection;
using internal::DatabaseInternals;
using internal::Hop;

namespace internal {
namespace {

// How a search reached `child` from `parent`; forward == the stored edge is parent -> child.
struct Step {
  std::string parent;
  std::string type;
  bool forward = true;
  int depth = 0;
};

Status TooManyNodes(int64_t max_visited) {
  return ResourceExhaustedError("the search holds more than " + std::to_string(max_visited) +
                                " nodes (GraphOptions::max_visited_nodes); narrow it with types or max_depth");
}

EdgeDirection Reverse(EdgeDirection d) {
  return d == EdgeDirection::kOut ? EdgeDirection::kIn : d == EdgeDirection::kIn ? EdgeDirection::kOut : EdgeDirection::kBoth;
}

Result<Edge> StoredEdge(Connection& conn, const std::string& parent, const std::string& child, const std::string& type,
                        bool forward) {
  const std::string& from = forward ? parent : child;
  const std::string& to = forward ? child : parent;
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT " + std::string(kEdgeColumns) +
                                               " FROM graph_relationships WHERE from_id = ?1 AND type = ?2 AND to_id = ?3"));
  st.BindAll(from, type, to);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return InternalError("edge " + from + " -[" + type + "]-> " + to + " vanished inside a read snapshot");
  return ToEdge(RawEdgeFromRow(st, 0));
}

// One DFS stack frame: a node and its neighbours (fetched when the frame is pushed).
struct Frame {
  std::string node;
  int depth = 0;
  std::vector<Step> next;  // Step.parent holds the neighbour here
  size_t pos = 0;
};

Result<std::vector<Step>> Neighbours(Adjacency& adj, const std::string& node) {
  std::vector<Step> out;
  DOTDO_RETURN_IF_ERROR(adj.Expand(node, [&](const Hop& h) {
    out.push_back(Step{std::string(h.neighbor), std::string(h.type), h.forward, 0});
    return true;
  }));
  return out;
}

// Depth-first search from `start` with depth labels: a node is entered again only when reached by a
// shorter route, so every node within max_depth is reached (each is *first* reached once). `visit`
// gets the stack and the step into a node; it returns false to stop.
using DfsVisit = std::function<bool(const std::vector<Frame>& stack, const Step& step, int depth, bool first)>;
Status LabelledDfs(Adjacency& adj, const std::string& start, int max_depth, int64_t max_visited, const DfsVisit& visit) {
  std::unordered_map<std::string, int> best{{start, 0}};
  std::vector<Frame> stack;
  if (max_depth <= 0) return OkStatus();
  DOTDO_ASSIGN_OR_RETURN(auto first_next, Neighbours(adj, start));
  stack.push_back(Frame{start, 0, std::move(first_next), 0});
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.pos == top.next.size()) {
      stack.pop_back();
      continue;
    }
    const Step step = top.next[top.pos++];
    const int depth = top.depth + 1;
    auto it = best.find(step.parent);
    if (it != best.end() && it->second <= depth) continue;
    const bool first = it == best.end();
    if (first && static_cast<int64_t>(best.size()) >= max_visited) return TooManyNodes(max_visited);
    best[step.parent] = depth;
    if (!visit(stack, step, depth, first)) return OkStatus();
    if (depth < max_depth) {
      DOTDO_ASSIGN_OR_RETURN(auto next, Neighbours(adj, step.parent));
      stack.push_back(Frame{step.parent, depth, std::move(next), 0});
    }
  }
  return OkStatus();
}

// Three-colour DFS over nodes given by `roots`, neighbours from `next_of`; returns the first cycle.
using NextOf = std::function<Status(const std::string& node, std::vector<std::string>& out)>;
Result<std::optional<std::vector<std::string>>> CycleDfs(const std::vector<std::string>& roots, const NextOf& next_of,
                                                         int64_t max_visited) {
  enum Colour : char { kOnStack, kDone };
  std::unordered_map<std::string, Colour> colour;
  std::unordered_map<std::string, size_t> stack_pos;
  struct CFrame {
    std::string node;
    std::vector<std::string> next;
    size_t pos = 0;
  };
  for (const auto& root : roots) {
    if (colour.count(root)) continue;
    std::vector<CFrame> stack;
    auto push = [&](const std::string& node) -> Status {
      if (static_cast<int64_t>(colour.size()) >= max_visited) return TooManyNodes(max_visited);
      CFrame f{node, {}, 0};
      DOTDO_RETURN_IF_ERROR(next_of(node, f.next));
      colour[node] = kOnStack;
      stack_pos[node] = stack.size();
      stack.push_back(std::move(f));
      return OkStatus();
    };
    DOTDO_RETURN_IF_ERROR(push(root));
    while (!stack.empty()) {
      CFrame& top = stack.back();
      if (top.pos == top.next.size()) {
        colour[top.node] = kDone;
        stack_pos.erase(top.node);
        stack.pop_back();
        continue;
      }
      std::string n = top.next[top.pos++];
      auto c = colour.find(n);
      if (c == colour.end()) {
        DOTDO_RETURN_IF_ERROR(push(n));
      } else if (c->second == kOnStack) {
        std::vector<std::string> cycle;
        for (size_t i = stack_pos[n]; i < stack.size(); ++i) cycle.push_back(stack[i].node);
        cycle.push_back(n);
        return std::optional<std::vector<std::string>>(std::move(cycle));
      }
    }
  }
  return std::optional<std::vector<std::string>>();
}

// Expands a whole BFS level with one statement, like Adjacency::ExpandLevel, and reports the hops in
// the same order — (frontier position, outgoing before incoming, type, neighbour) — but reads the
// index in key order: the frontier is bound sorted, so consecutive seeks land on neighbouring
// B-tree pages (a merge-like scan instead of one random probe per node), and no SQL sorter runs.
// The hops of a level are buffered and handed out in frontier order afterwards.
class LevelExpander {
 public:
  LevelExpander(Connection& conn, EdgeDirection direction, const std::vector<std::string>& types)
      : conn_(conn), direction_(direction), types_json_(TypesJson(types)) {}

  // Ids: a vector of std::string or std::string_view.
  template <typename Ids>
  Status Expand(const Ids& frontier, const HopFn& fn) {
    if (frontier.empty()) return OkStatus();
    // order[p] = frontier index of the p-th smallest id.
    std::vector<uint32_t> order(frontier.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return frontier[a] < frontier[b]; });
    std::string ids = "[";
    for (uint32_t i : order) {
      if (ids.size() > 1) ids += ',';
      AppendJsonString(ids, frontier[i]);
    }
    ids += ']';

    hops_.clear();
    arena_.clear();
    grouped_ = true;
    if (direction_ != EdgeDirection::kIn) DOTDO_RETURN_IF_ERROR(Collect(ids, order, /*forward=*/true));
    if (direction_ != EdgeDirection::kOut) DOTDO_RETURN_IF_ERROR(Collect(ids, order, /*forward=*/false));
    auto key_less = [&](const Buffered& a, const Buffered& b) {
      if (a.src != b.src) return a.src < b.src;
      if (a.forward != b.forward) return a.forward > b.forward;
      const std::string& ta = types_[a.type];
      const std::string& tb = types_[b.type];
      return ta != tb ? ta < tb : Neighbor(a) < Neighbor(b);
    };
    auto emit = [&](const Buffered& b) { return fn(Hop{b.src, Neighbor(b), types_[b.type], b.forward}); };
    if (!grouped_) {
      // The plan did not deliver each node's edges together: order everything in memory.
      std::sort(hops_.begin(), hops_.end(), key_less);
      for (const Buffered& b : hops_)
        if (!emit(b)) return OkStatus();
      return OkStatus();
    }
    // Each node's edges form one run per direction, in index order, i.e. (type, neighbour) order;
    // hand the runs out in frontier order (checking, rather than assuming, the order inside a run).
    std::vector<uint32_t> position(frontier.size());
    for (size_t p = 0; p < order.size(); ++p) position[order[p]] = static_cast<uint32_t>(p);
    for (size_t i = 0; i < frontier.size(); ++i) {
      for (int dir = 0; dir < 2; ++dir) {
        const Run run = runs_[dir].empty() ? Run{} : runs_[dir][position[i]];
        auto first = hops_.begin() + run.begin, last = hops_.begin() + run.end;
        if (!std::is_sorted(first, last, key_less)) std::sort(first, last, key_less);
        for (auto it = first; it != last; ++it)
          if (!emit(*it)) return OkStatus();
      }
    }
    return OkStatus();
  }

 private:
  // One hop; the neighbour's id is arena_[offset, offset + size).
  struct Buffered {
    uint32_t src;
    uint32_t type;
    size_t offset;
    uint32_t size;
    bool forward;
  };
  std::string_view Neighbor(const Buffered& b) const { return std::string_view(arena_).substr(b.offset, b.size); }
  // hops_[begin, end): the edges of one frontier node in one direction.
  struct Run {
    uint32_t begin = 0, end = 0;
  };

  static void AppendJsonString(std::string& out, std::string_view s) {
    // Ids are stored bytes; only '"', '\' and control characters need escaping (never ill-formed
    // UTF-8 replacement: the id must match the stored bytes exactly).
    out += '"';
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += ch;
      } else if (c < 0x20) {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
      } else {
        out += ch;
      }
    }
    out += '"';
  }

  uint32_t TypeIndex(std::string_view type) {
    for (size_t i = 0; i < types_.size(); ++i)
      if (types_[i] == type) return static_cast<uint32_t>(i);
    types_.emplace_back(type);
    return static_cast<uint32_t>(types_.size() - 1);
  }

  Status Collect(const std::string& ids, const std::vector<uint32_t>& order, bool forward) {
    // CROSS JOIN keeps json_each (the sorted ids) as the outer loop; the inner lookup walks the
    // primary key (from_id, type, to_id) or the index (to_id, type, from_id).
    const std::string filter = types_json_.empty() ? "" : " AND r.type IN (SELECT value FROM json_each(?2))";
    const std::string sql =
        forward ? "SELECT j.key, r.to_id, r.type FROM json_each(?1) AS j CROSS JOIN graph_relationships AS r "
                  "ON r.from_id = j.value" + filter
                : "SELECT j.key, r.from_id, r.type FROM json_each(?1) AS j CROSS JOIN graph_relationships AS r "
                  "ON r.to_id = j.value" + filter;
    DOTDO_ASSIGN_OR_RETURN(auto st, conn_.Prepare(sql));
    st.Bind(1, ids);
    if (!types_json_.empty()) st.Bind(2, types_json_);
    std::vector<Run>& runs = runs_[forward ? 0 : 1];
    runs.assign(order.size(), Run{});
    int64_t last = -1;
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      const int64_t pos = st.ColumnInt64(0);
      if (pos < 0 || static_cast<size_t>(pos) >= order.size())
        return InternalError("adjacency query returned an unknown frontier position");
      Run& run = runs[static_cast<size_t>(pos)];
      if (pos != last) {
        if (run.end != run.begin) grouped_ = false;  // this node's edges came in two pieces
        run.begin = static_cast<uint32_t>(hops_.size());
        last = pos;
      }
      const std::string_view neighbor = st.ColumnText(1);
      hops_.push_back(Buffered{order[static_cast<size_t>(pos)], TypeIndex(st.ColumnText(2)), arena_.size(),
                               static_cast<uint32_t>(neighbor.size()), forward});
      arena_.append(neighbor);
      run.end = static_cast<uint32_t>(hops_.size());
    }
    return OkStatus();
  }

  Connection& conn_;
  EdgeDirection direction_;
  std::string types_json_;
  std::vector<std::string> types_;  // relation types met so far; Buffered::type indexes it
  std::vector<Buffered> hops_;
  std::string arena_;         // the neighbour ids of hops_, back to back
  std::vector<Run> runs_[2];  // per frontier position (sorted order); [0] outgoing, [1] incoming
  bool grouped_ = true;       // every position's edges arrived as one run per direction
};

// The node ids a BFS has reached, as an open-addressing hash set of indexes into the caller's id
// store (no per-node allocation, no string copies; a 32-bit hash per slot spares most compares).
class VisitedSet {
 public:
  VisitedSet() : slots_(1024, 0) {}

  // Adds `id` under `index` unless present; true when added. id_of(i) returns the id stored under i.
  template <typename IdOf>
  bool Insert(std::string_view id, uint32_t index, const IdOf& id_of) {
    if ((count_ + 1) * 2 > slots_.size()) Grow();
    const uint32_t h = Hash(id);
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const uint64_t slot = slots_[i];
      if (slot == 0) {
        slots_[i] = (uint64_t{h} << 32) | (uint64_t{index} + 1);
        ++count_;
        return true;
      }
      if (static_cast<uint32_t>(slot >> 32) == h && id_of(static_cast<uint32_t>(slot) - 1) == id) return false;
    }
  }

 private:
  static uint32_t Hash(std::string_view s) {
    const uint64_t h = std::hash<std::string_view>{}(s);
    return static_cast<uint32_t>(h ^ (h >> 32));
  }
  void Grow() {
    std::vector<uint64_t> old(slots_.size() * 2, 0);
    old.swap(slots_);
    const size_t mask = slots_.size() - 1;
    for (uint64_t slot : old) {
      if (slot == 0) continue;
      size_t i = static_cast<uint32_t>(slot >> 32) & mask;
      while (slots_[i] != 0) i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }

  std::vector<uint64_t> slots_;  // 0 = empty, else (hash << 32) | (index + 1)
  size_t count_ = 0;
};

Status ValidateDepth(int depth) {
  if (depth < 0) return InvalidArgumentError("max_depth must be >= 0, got " + std::to_string(depth));
  if (depth > kMaxGraphDepth)
    return InvalidArgumentError("max_depth " + std::to_string(depth) + " exceeds the cap of " +
                                std::to_string(kMaxGraphDepth));
  return OkStatus();
}

Result<GraphPath> AssembleEdges(Connection& conn, GraphPath path, const std::vector<Step>& hops) {
  // hops[i] leads from nodes[i] to nodes[i+1] (parent = nodes[i]).
  for (size_t i = 0; i < hops.size(); ++i) {
    DOTDO_ASSIGN_OR_RETURN(auto e, StoredEdge(conn, path.nodes[i], path.nodes[i + 1], hops[i].type, hops[i].forward));
    path.edges.push_back(std::move(e));
  }
  return path;
}

}  // namespace

Result<std::optional<GraphPath>> BidirectionalShortestPath(Connection& conn, const std::string& from, const std::string& to,
                                                      EdgeDirection direction, const std::vector<std::string>& types,
                                                      int max_depth, int64_t max_visited, bool with_edges) {
  if (from == to) return std::optional<GraphPath>(GraphPath{{from}, {}, 0});
  LevelExpander forward_adj(conn, direction, types), backward_adj(conn, Reverse(direction), types);
  // node -> how it was reached; roots have an empty parent.
  std::unordered_map<std::string, Step> fwd{{from, Step{}}}, bwd{{to, Step{}}};
  std::vector<std::string> fwd_front{from}, bwd_front{to};
  int fwd_depth = 0, bwd_depth = 0;
  std::string meet;
  while (meet.empty() && !fwd_front.empty() && !bwd_front.empty() &&
         static_cast<int64_t>(fwd_depth) + bwd_depth < max_depth) {
    const bool forward = fwd_front.size() <= bwd_front.size();
    auto& front = forward ? fwd_front : bwd_front;
    auto& mine = forward ? fwd : bwd;
    auto& theirs = forward ? bwd : fwd;
    const int depth = (forward ? fwd_depth : bwd_depth) + 1;
    std::vector<std::string> next;
    int best = INT32_MAX;
    Status limit = OkStatus();
    DOTDO_RETURN_IF_ERROR((forward ? forward_adj : backward_adj).Expand(front, [&](const Hop& h) {
      std::string n(h.neighbor);
      if (mine.count(n)) return true;
      if (static_cast<int64_t>(mine.size() + theirs.size()) >= max_visited) {
        limit = TooManyNodes(max_visited);
        return false;
      }
      mine.emplace(n, Step{front[h.src], std::string(h.type), h.forward, depth});
      auto t = theirs.find(n);
      if (t != theirs.end() && t->second.depth < best) {
        best = t->second.depth;
        meet = n;
      }
      next.push_back(std::move(n));
      return true;
    }));
    DOTDO_RETURN_IF_ERROR(limit);
    front = std::move(next);
    (forward ? fwd_depth : bwd_depth) = depth;
  }
  if (meet.empty()) return std::optional<GraphPath>();

  // from ... meet (walking fwd parents backwards), then meet ... to (walking bwd parents).
  GraphPath path;
  std::vector<Step> hops;
  for (std::string n = meet; n != from;) {
    const Step& s = fwd.at(n);
    path.nodes.push_back(n);
    hops.push_back(s);
    n = s.parent;
  }
  path.nodes.push_back(from);
  std::reverse(path.nodes.begin(), path.nodes.end());
  std::reverse(hops.begin(), hops.end());
  for (std::string n = meet; n != to;) {
    const Step& s = bwd.at(n);
    // Stored edge is s.parent -> n when forward; seen from n towards s.parent that flips.
    hops.push_back(Step{n, s.type, !s.forward, 0});
    path.nodes.push_back(s.parent);
    n = s.parent;
  }
  path.cost = static_cast<double>(hops.size());
  if (!with_edges) return std::optional<GraphPath>(std::move(path));
  DOTDO_ASSIGN_OR_RETURN(auto full, AssembleEdges(conn, std::move(path), hops));
  return std::optional<GraphPath>(std::move(full));
}

Result<std::optional<std::vector<std::string>>> FindCycleInEdges(
    const std::vector<std::pair<std::string, std::string>>& edges, int64_t max_visited) {
  std::map<std::string, std::vector<std::string>> adj;
  for (const auto& [a, b] : edges) {
    adj[a].push_back(b);
    adj.try_emplace(b);
  }
  std::vector<std::string> roots;
  for (auto& [node, next] : adj) {
    std::sort(next.begin(), next.end());
    roots.push_back(node);
  }
  return CycleDfs(
      roots,
      [&](const std::string& node, std::vector<std::string>& out) {
        out = adj[node];
        return OkStatus();
      },
      max_visited);
}

}  // namespace internal

Result<std::vector<TraversedNode>> GraphStore::Traverse(const GraphTraverseOptions& o) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(o.start, "start"));
  DOTDO_RETURN_IF_ERROR(internal::ValidateTypes(o.types));
  DOTDO_RETURN_IF_ERROR(internal::ValidateDepth(o.max_depth));
  if (o.limit < 1 || o.limit > kMaxTraverseLimit)
    return InvalidArgumentError("limit must be between 1 and " + std::to_string(kMaxTraverseLimit) + ", got " +
                                std::to_string(o.limit));
  DOTDO_ASSIGN_OR_RETURN(bool readable, internal::GraphReadable(db_));
  if (!readable) return std::vector<TraversedNode>();
  Connection& conn = DatabaseInternals::Conn(db_);
  internal::ReadSnapshot snapshot(conn);
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  Adjacency adj(conn, o.direction, o.types);
  std::vector<TraversedNode> out;

  if (o.algorithm == TraversalAlgorithm::kDfs) {
    DOTDO_RETURN_IF_ERROR(internal::LabelledDfs(
        adj, o.start, o.max_depth, o.limit + 2,
        [&](const std::vector<internal::Frame>& stack, const internal::Step& step, int depth, bool first) {
          if (!first) return true;
          TraversedNode n{step.parent, depth, {}};
          for (const auto& f : stack) n.path.push_back(f.node);
          n.path.push_back(step.parent);
          out.push_back(std::move(n));
          return static_cast<int64_t>(out.size()) < o.limit;
        }));
    return out;
  }

  // BFS by levels. Each reported node remembers its parent's index (-1 = the start), so memory is
  // O(limit) and paths are rebuilt at the end. Ids live once, in `ids` (a deque: stable addresses);
  // the visited set indexes them and the frontiers view them.
  struct Reached {
    int depth;
    int64_t parent;
  };
  std::vector<Reached> reached;
  std::deque<std::string> ids;
  internal::LevelExpander level(conn, o.direction, o.types);
  internal::VisitedSet visited;  // every reached node but the start
  auto id_of = [&](uint32_t i) -> std::string_view { return ids[i]; };
  std::vector<std::string_view> frontier{std::string_view(o.start)};
  std::vector<int64_t> frontier_index{-1};
  bool full = false;
  for (int depth = 1; depth <= o.max_depth && !frontier.empty() && !full; ++depth) {
    std::vector<std::string_view> next;
    std::vector<int64_t> next_index;
    DOTDO_RETURN_IF_ERROR(level.Expand(frontier, [&](const Hop& h) {
      if (h.neighbor == o.start || !visited.Insert(h.neighbor, static_cast<uint32_t>(ids.size()), id_of)) return true;
      const std::string_view n = ids.emplace_back(h.neighbor);
      next_index.push_back(static_cast<int64_t>(reached.size()));
      reached.push_back(Reached{depth, frontier_index[h.src]});
      next.push_back(n);
      full = static_cast<int64_t>(reached.size()) >= o.limit;
      return !full;
    }));
    frontier = std::move(next);
    frontier_index = std::move(next_index);
  }
  out.reserve(reached.size());
  for (size_t k = 0; k < reached.size(); ++k) {
    const int depth = reached[k].depth;
    TraversedNode n{ids[k], depth, std::vector<std::string>(static_cast<size_t>(depth) + 1)};
    size_t i = static_cast<size_t>(depth);
    for (int64_t at = static_cast<int64_t>(k); at >= 0; at = reached[static_cast<size_t>(at)].parent)
      n.path[i--] = ids[static_cast<size_t>(at)];
    n.path[0] = o.start;
    out.push_back(std::move(n));
  }
  return out;
}

Result<std::optional<GraphPath>> GraphStore::ShortestPath(const GraphPathOptions& o) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(o.from, "from"));
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(o.to, "to"));
  DOTDO_RETURN_IF_ERROR(internal::ValidateTypes(o.types));
  DOTDO_RETURN_IF_ERROR(internal::ValidateDepth(o.max_depth));
  DOTDO_ASSIGN_OR_RETURN(bool readable, internal::GraphReadable(db_));
  if (!readable) return o.from == o.to ? std::optional<GraphPath>(GraphPath{{o.from}, {}, 0}) : std::nullopt;
  Connection& conn = DatabaseInternals::Conn(db_);
  internal::ReadSnapshot snapshot(conn);
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  return internal::BidirectionalShortestPath(conn, o.from, o.to, o.direction, o.types, o.max_depth,
                                             options_.max_visited_nodes, true);
}

Result<std::optional<GraphPath>> GraphStore::FindPath(const GraphPathOptions& o) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(o.from, "from"));
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(o.to, "to"));
  DOTDO_RETURN_IF_ERROR(internal::ValidateTypes(o.types));
  DOTDO_RETURN_IF_ERROR(internal::ValidateDepth(o.max_depth));
  DOTDO_ASSIGN_OR_RETURN(bool readable, internal::GraphReadable(db_));
  if (!readable) return o.from == o.to ? std::optional<GraphPath>(GraphPath{{o.from}, {}, 0}) : std::nullopt;
  if (o.from == o.to) return std::optional<GraphPath>(GraphPath{{o.from}, {}, 0});
  Connection& conn = DatabaseInternals::Conn(db_);
  internal::ReadSnapshot snapshot(conn);
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  Adjacency adj(conn, o.direction, o.types);
  std::optional<GraphPath> found;
  std::vector<internal::Step> hops;
  DOTDO_RETURN_IF_ERROR(internal::LabelledDfs(
      adj, o.from, o.max_depth, options_.max_visited_nodes,
      [&](const std::vector<internal::Frame>& stack, const internal::Step& step, int, bool) {
        if (step.parent != o.to) return true;
        GraphPath p;
        for (const auto& f : stack) {
          p.nodes.push_back(f.node);
          if (p.nodes.size() > 1) hops.push_back(stack[p.nodes.size() - 2].next[stack[p.nodes.size() - 2].pos - 1]);
        }
        hops.push_back(step);
        p.nodes.push_back(o.to);
        p.cost = static_cast<double>(hops.size());
        found = std::move(p);
        return false;
      }));
  if (!found) return found;
  DOTDO_ASSIGN_OR_RETURN(auto full, internal::AssembleEdges(conn, std::move(*found), hops));
  return std::optional<GraphPath>(std::move(full));
}

Result<std::optional<GraphPath>> GraphStore::WeightedShortestPath(const GraphWeightedPathOptions& o) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(o.from, "from"));
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(o.to, "to"));
  DOTDO_RETURN_IF_ERROR(internal::ValidateTypes(o.types));
  if (o.weight_field.empty()) return InvalidArgumentError("weight_field is required (e.g. \"weight\")");
  auto path = internal::JsonPath::Parse(o.weight_field);
  if (!path.ok()) return path.status().WithContext("weight_field");
  if (o.default_weight && (!std::isfinite(*o.default_weight) || *o.default_weight < 0))
    return InvalidArgumentError("default_weight must be a finite number >= 0");
  DOTDO_ASSIGN_OR_RETURN(bool readable, internal::GraphReadable(db_));
  if (!readable) return o.from == o.to ? std::optional<GraphPath>(GraphPath{{o.from}, {}, 0}) : std::nullopt;
  if (o.from == o.to) return std::optional<GraphPath>(GraphPath{{o.from}, {}, 0});
  Connection& conn = DatabaseInternals::Conn(db_);
  internal::ReadSnapshot snapshot(conn);
  DOTDO_RETURN_IF_ERROR(snapshot.status());

  const std::string filter = o.types.empty() ? "" : " AND type IN (SELECT value FROM json_each(?3))";
  const std::string cols = ", type, json_type(data, ?2), json_extract(data, ?2)";
  const std::string out_sel = "SELECT to_id" + cols + ", 1 FROM graph_relationships WHERE from_id = ?1" + filter;
  const std::string in_sel = "SELECT from_id" + cols + ", 0 FROM graph_relationships WHERE to_id = ?1" + filter;
  const std::string sql = o.direction == EdgeDirection::kOut ? out_sel
                          : o.direction == EdgeDirection::kIn ? in_sel
                                                          : out_sel + " UNION ALL " + in_sel;
  const std::string sqlite_path = path->ToSqlite(), types_json = internal::TypesJson(o.types);

  std::unordered_map<std::string, double> dist{{o.from, 0.0}};
  std::unordered_map<std::string, internal::Step> parent;
  std::unordered_set<std::string> settled;
  using Item = std::pair<double, std::string>;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue;
  queue.emplace(0.0, o.from);
  while (!queue.empty()) {
    auto [d, node] = queue.top();
    queue.pop();
    if (!settled.insert(node).second) continue;
    if (node == o.to) break;
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(sql));
    st.Bind(1, node).Bind(2, sqlite_path);
    if (!types_json.empty()) st.Bind(3, types_json);
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      std::string n = st.ColumnString(0), type = st.ColumnString(1);
      const bool forward = st.ColumnInt64(4) != 0;
      const auto jtype = st.ColumnOptionalText(2);
      // (An init-capture: clang before 16 cannot capture the structured binding itself.)
      auto describe = [&, &at = node] {
        return "edge " + (forward ? at : n) + " -[" + type + "]-> " + (forward ? n : at);
      };
      double w;
      if (!jtype) {
        if (!o.default_weight)
          return FailedPreconditionError(describe() + " has no weight field '" + path->ToDotted() +
                                         "'; add it or set default_weight");
        w = *o.default_weight;
      } else if (*jtype == "integer" || *jtype == "real") {
        w = st.ColumnDouble(3);
        if (!std::isfinite(w) || w < 0)
          return FailedPreconditionError(describe() + " has weight " + std::to_string(w) + " in '" +
                                         path->ToDotted() + "'; weights must be finite and >= 0 (Dijkstra)");
      } else {
        return FailedPreconditionError(describe() + " has a non-numeric weight (" + *jtype + ") in '" +
                                       path->ToDotted() + "'; weights must be numbers >= 0");
      }
      if (settled.count(n)) continue;
      const double nd = d + w;
      auto it = dist.find(n);
      if (it != dist.end() && it->second <= nd) continue;
      if (it == dist.end() && static_cast<int64_t>(dist.size()) >= options_.max_visited_nodes)
        return internal::TooManyNodes(options_.max_visited_nodes);
      dist[n] = nd;
      parent[n] = internal::Step{node, type, forward, 0};
      queue.emplace(nd, std::move(n));
    }
  }
  if (!settled.count(o.to)) return std::optional<GraphPath>();
  GraphPath p;
  std::vector<internal::Step> hops;
  for (std::string n = o.to; n != o.from;) {
    const auto& s = parent.at(n);
    p.nodes.push_back(n);
    hops.push_back(s);
    n = s.parent;
  }
  p.nodes.push_back(o.from);
  std::reverse(p.nodes.begin(), p.nodes.end());
  std::reverse(hops.begin(), hops.end());
  DOTDO_ASSIGN_OR_RETURN(auto full, internal::AssembleEdges(conn, std::move(p), hops));
  full.cost = dist.at(o.to);
  return std::optional<GraphPath>(std::move(full));
}

Result<std::optional<std::vector<std::string>>> GraphStore::DetectCycle(std::string_view start, std::string_view type) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateNode(start, "start"));
  std::vector<std::string> types;
  if (!type.empty()) {
    DOTDO_RETURN_IF_ERROR(ValidateRelationType(type));
    types.emplace_back(type);
  }
  DOTDO_ASSIGN_OR_RETURN(bool readable, internal::GraphReadable(db_));
  if (!readable) return std::optional<std::vector<std::string>>();
  Connection& conn = DatabaseInternals::Conn(db_);
  internal::ReadSnapshot snapshot(conn);
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  Adjacency adj(conn, EdgeDirection::kOut, types);
  return internal::CycleDfs(
      {std::string(start)},
      [&](const std::string& node, std::vector<std::string>& out) {
        return adj.Expand(node, [&](const Hop& h) {
          out.emplace_back(h.neighbor);
          return true;
        });
      },
      options_.max_visited_nodes);
}

}  // namespace dotdo
