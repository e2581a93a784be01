// dotdo-bench graph: GraphStore against raw SQLite doing the same work in the same run.
//
// Data: no real graph is available offline, so the graph is synthetic: R-MAT (the Graph500
// generator; a=0.57, b=0.19, c=0.19, d=0.05, power-law in- and out-degrees) with a fixed seed,
// 2^17 nodes and 2^20 distinct directed edges (--quick: 2^13 nodes, 2^16 edges), self-loops and
// duplicates dropped. Node ids are `User/<n>`, every edge has type "follows" and data {"w": 1..100}.
// It is written in primary-key order through GraphStore::RelateMany in batches of 10,000 (each one
// transaction, with CDC events); that build is its own informational case against raw inserts of
// the same rows into an identical table without CDC.
//
// The baseline is a competent hand-written equivalent: its own sqlite3 connection to the same
// database file (same pragmas: WAL, synchronous=NORMAL), the same table and indexes, statements
// prepared once and reused, the same inputs:
//   bfs_depth3           nodes reachable within 3 outgoing hops of 100 random start nodes (--quick
//                        20), each with its BFS depth. Raw: a WITH RECURSIVE CTE (UNION of
//                        (node, depth)) grouped to MIN(depth).
//   shortest_path        fewest outgoing hops between 30 random pairs (--quick 20), max_depth 6.
//                        Ours returns the path with its edges; raw: recursive-CTE BFS to depth 1,
//                        2, ... until the target appears (iterative deepening, so it stops at the
//                        target's level) and returns the distance only.
//   outgoing_batch_1000  the first 100 outgoing edges of each of 1000 random ids, data parsed.
//                        Ours: one OutgoingBatch call. Raw: the N+1 loop, one prepared per-id query.
//   outgoing_loop_1000   informational: the N+1 loop through GraphStore::Outgoing (what the batch
//                        call replaces) against the same raw per-id loop.
// Every case checks that ours and raw return the same result and aborts on a mismatch. Ours and
// raw alternate item by item (and swap which goes first on every other item), so machine noise and
// cache warm-up hit both alike; the best of two rounds is kept.
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "bench.h"
#include "dotdo/database.h"
#include "dotdo/graph.h"

namespace dotdo::bench {
namespace {

void Check(int rc, sqlite3* db, const std::string& what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(what + ": " + sqlite3_errmsg(db));
}

void Fail(const Status& st, const char* what) {
  if (!st.ok()) throw std::runtime_error(std::string(what) + ": " + st.ToString());
}

void Mismatch(const std::string& what) { throw std::runtime_error("result mismatch: " + what); }

std::string Text(sqlite3_stmt* st, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st, col))) : std::string();
}

// R-MAT edge list over 2^scale nodes: `edges` distinct (from, to) pairs without self-loops.
std::vector<std::pair<uint32_t, uint32_t>> RmatEdges(int scale, size_t edges, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  constexpr double a = 0.57, b = 0.19, c = 0.19;
  std::unordered_set<uint64_t> seen;
  std::vector<std::pair<uint32_t, uint32_t>> out;
  out.reserve(edges);
  while (out.size() < edges) {
    uint32_t from = 0, to = 0;
    for (int bit = 0; bit < scale; ++bit) {
      const double r = u(rng);
      const uint32_t f = r >= a + b ? 1 : 0;                         // quadrants c, d: lower half
      const uint32_t t = (r >= a && r < a + b) || r >= a + b + c ? 1 : 0;  // quadrants b, d: right half
      from |= f << bit;
      to |= t << bit;
    }
    if (from == to) continue;
    if (!seen.insert((static_cast<uint64_t>(from) << 32) | to).second) continue;
    out.emplace_back(from, to);
  }
  return out;
}

std::string NodeId(uint32_t n) { return "User/" + std::to_string(n); }

// The raw-SQLite side: its own connection to the namespace file.
class Raw {
 public:
  Raw(const std::string& path, int outgoing_limit) {
    Check(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), db_, "open " + path);
    Check(sqlite3_exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", nullptr, nullptr, nullptr), db_,
          "pragmas");
    Prepare(
        "WITH RECURSIVE bfs(node, depth) AS ("
        "  SELECT ?1, 0"
        "  UNION"
        "  SELECT r.to_id, b.depth + 1 FROM bfs AS b JOIN graph_relationships AS r ON r.from_id = b.node"
        "  WHERE b.depth < ?2)"
        "SELECT node, MIN(depth) FROM bfs WHERE node <> ?1 GROUP BY node",
        &bfs_);
    Prepare(
        "WITH RECURSIVE bfs(node, depth) AS ("
        "  SELECT ?1, 0"
        "  UNION"
        "  SELECT r.to_id, b.depth + 1 FROM bfs AS b JOIN graph_relationships AS r ON r.from_id = b.node"
        "  WHERE b.depth < ?3 AND b.node <> ?2)"
        "SELECT MIN(depth) FROM bfs WHERE node = ?2",
        &distance_);
    // The page size is part of the SQL text: a bound LIMIT makes SQLite re-prepare on every bind.
    const std::string outgoing = "SELECT id, from_id, to_id, type, data, created_at, updated_at FROM "
                                 "graph_relationships WHERE from_id = ?1 ORDER BY type, to_id LIMIT " +
                                 std::to_string(outgoing_limit);
    Prepare(outgoing.c_str(), &outgoing_);
  }
  ~Raw() {
    for (sqlite3_stmt* s : {bfs_, distance_, outgoing_}) sqlite3_finalize(s);
    sqlite3_close(db_);
  }

  // node -> depth of every node within `depth` outgoing hops of start (start excluded).
  std::map<std::string, int> Bfs(const std::string& start, int depth) {
    std::map<std::string, int> out;
    sqlite3_bind_text(bfs_, 1, start.data(), static_cast<int>(start.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int(bfs_, 2, depth);
    int rc;
    while ((rc = sqlite3_step(bfs_)) == SQLITE_ROW) out.emplace_hint(out.end(), Text(bfs_, 0), sqlite3_column_int(bfs_, 1));
    Check(rc, db_, "bfs");
    sqlite3_reset(bfs_);
    return out;
  }

  // Fewest outgoing hops from -> to within max_depth, or -1: the CTE bounded at 1, 2, ... hops.
  int Distance(const std::string& from, const std::string& to, int max_depth) {
    if (from == to) return 0;
    for (int d = 1; d <= max_depth; ++d) {
      sqlite3_bind_text(distance_, 1, from.data(), static_cast<int>(from.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(distance_, 2, to.data(), static_cast<int>(to.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int(distance_, 3, d);
      Check(sqlite3_step(distance_), db_, "distance");
      const bool found = sqlite3_column_type(distance_, 0) != SQLITE_NULL;
      sqlite3_reset(distance_);
      if (found) return d;
    }
    return -1;
  }

  // The first `outgoing_limit` outgoing edges of one node in (type, to) order, data parsed.
  std::vector<Edge> Outgoing(const std::string& node) {
    std::vector<Edge> out;
    sqlite3_bind_text(outgoing_, 1, node.data(), static_cast<int>(node.size()), SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(outgoing_)) == SQLITE_ROW) {
      Edge e;
      e.id = Text(outgoing_, 0);
      e.from = Text(outgoing_, 1);
      e.to = Text(outgoing_, 2);
      e.type = Text(outgoing_, 3);
      e.data = Json::parse(Text(outgoing_, 4));
      e.created_at = sqlite3_column_int64(outgoing_, 5);
      e.updated_at = sqlite3_column_int64(outgoing_, 6);
      out.push_back(std::move(e));
    }
    Check(rc, db_, "outgoing");
    sqlite3_reset(outgoing_);
    return out;
  }

 private:
  void Prepare(const char* sql, sqlite3_stmt** st) { Check(sqlite3_prepare_v2(db_, sql, -1, st, nullptr), db_, sql); }
  sqlite3* db_ = nullptr;
  sqlite3_stmt *bfs_ = nullptr, *distance_ = nullptr, *outgoing_ = nullptr;
};

// The build baseline: the same rows into an identical table in its own file, no CDC.
double RawBuildSeconds(const std::string& path, const std::vector<EdgeInput>& edges, size_t batch) {
  sqlite3* db = nullptr;
  Check(sqlite3_open(path.c_str(), &db), db, "open raw build");
  Check(sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE graph_relationships (from_id TEXT NOT NULL, type TEXT NOT NULL, to_id TEXT NOT "
                     "NULL, id TEXT NOT NULL UNIQUE, from_type TEXT NOT NULL, to_type TEXT NOT NULL, data TEXT NOT "
                     "NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (from_id, type, "
                     "to_id)) WITHOUT ROWID;"
                     "CREATE INDEX graph_relationships_in ON graph_relationships(to_id, type, from_id);"
                     "CREATE INDEX graph_relationships_from_type ON graph_relationships(from_type, type);"
                     "CREATE INDEX graph_relationships_to_type ON graph_relationships(to_type, type);",
                     nullptr, nullptr, nullptr),
        db, "raw build schema");
  sqlite3_stmt* ins = nullptr;
  Check(sqlite3_prepare_v2(db,
                           "INSERT INTO graph_relationships(from_id, type, to_id, id, from_type, to_type, data, "
                           "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'User', 'User', ?5, ?6, ?6) "
                           "ON CONFLICT(from_id, type, to_id) DO UPDATE SET data = excluded.data, "
                           "updated_at = excluded.updated_at",
                           -1, &ins, nullptr),
        db, "raw build insert");
  const double seconds = TimeIt([&] {
    for (size_t begin = 0; begin < edges.size(); begin += batch) {
      Check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
      for (size_t i = begin; i < std::min(edges.size(), begin + batch); ++i) {
        const EdgeInput& e = edges[i];
        const std::string id = std::to_string(i), data = e.data.dump();
        sqlite3_bind_text(ins, 1, e.from.data(), static_cast<int>(e.from.size()), SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, e.type.data(), static_cast<int>(e.type.size()), SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 3, e.to.data(), static_cast<int>(e.to.size()), SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 4, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 5, data.data(), static_cast<int>(data.size()), SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 6, 1700000000000 + static_cast<int64_t>(i));
        Check(sqlite3_step(ins), db, "raw insert");
        sqlite3_reset(ins);
      }
      Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    }
  });
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return seconds;
}

// Times ours and raw item by item, alternating which goes first; returns the best total of
// `rounds` for each. `check(item, ours_result, raw_result)` runs untimed on the first round.
template <typename Item, typename Ours, typename Base, typename CheckFn>
Interleaved PerItem(int rounds, const std::vector<Item>& items, Ours&& ours, Base&& base, CheckFn&& check) {
  Interleaved best;
  for (int round = 0; round < rounds; ++round) {
    double o = 0, b = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      decltype(ours(items[i])) ours_result;
      decltype(base(items[i])) base_result;
      auto run_ours = [&] { o += TimeIt([&] { ours_result = ours(items[i]); }); };
      auto run_base = [&] { b += TimeIt([&] { base_result = base(items[i]); }); };
      if ((i + static_cast<size_t>(round)) % 2 == 0) {
        run_ours();
        run_base();
      } else {
        run_base();
        run_ours();
      }
      if (round == 0) check(items[i], ours_result, base_result);
    }
    best.ours = std::min(best.ours, o);
    best.baseline = std::min(best.baseline, b);
  }
  return best;
}

int RunSuite(const Options& options) {
  std::filesystem::create_directories(options.data_dir);
  const bool quick = options.quick;
  const int scale = quick ? 13 : 17;
  const size_t edge_count = quick ? (size_t{1} << 16) : (size_t{1} << 20);
  const size_t build_batch = 10000;
  const int bfs_starts = quick ? 20 : 100;
  const int path_pairs = quick ? 20 : 30;  // the raw side takes seconds per pair at full size
  const int batches = quick ? 5 : 20;
  const int rounds = 2;
  constexpr int kBatchIds = 1000, kEdgesPerId = 100, kPathDepth = 6;
  const std::string graph_note = "R-MAT scale " + std::to_string(scale) + " (" + std::to_string(1 << scale) +
                                 " node ids), " + std::to_string(edge_count) + " edges, seed " +
                                 std::to_string(options.seed);
  std::mt19937_64 rng(options.seed);

  // Generate and build.
  const auto pairs = RmatEdges(scale, edge_count, options.seed);
  std::vector<EdgeInput> edges;
  edges.reserve(pairs.size());
  std::vector<uint32_t> with_out, with_in;
  {
    std::set<uint32_t> outs, ins;
    for (const auto& [f, t] : pairs) {
      edges.push_back(EdgeInput{NodeId(f), NodeId(t), "follows", Json{{"w", 1 + rng() % 100}}});
      outs.insert(f);
      ins.insert(t);
    }
    with_out.assign(outs.begin(), outs.end());
    with_in.assign(ins.begin(), ins.end());
  }
  // Bulk load in primary-key order, as one would: sequential inserts into (from_id, type, to_id).
  std::sort(edges.begin(), edges.end(),
            [](const EdgeInput& a, const EdgeInput& b) { return a.from != b.from ? a.from < b.from : a.to < b.to; });
  auto db_result = Database::Open(options.data_dir, "bench_graph");
  Fail(db_result.status(), "open");
  std::unique_ptr<Database> db = std::move(db_result).value();
  GraphStore graph(*db);
  const double build_s = TimeIt([&] {
    for (size_t begin = 0; begin < edges.size(); begin += build_batch) {
      std::vector<EdgeInput> chunk(edges.begin() + static_cast<std::ptrdiff_t>(begin),
                                   edges.begin() + static_cast<std::ptrdiff_t>(std::min(edges.size(), begin + build_batch)));
      auto n = graph.RelateMany(chunk);
      Fail(n.status(), "relate many");
    }
  });
  const double raw_build_s =
      RawBuildSeconds((std::filesystem::path(options.data_dir) / "raw_build.sqlite").string(), edges, build_batch);
  std::filesystem::remove(std::filesystem::path(options.data_dir) / "raw_build.sqlite");
  Report({"graph", "build_relate_many", "edges_per_s", "sqlite_raw_no_cdc", static_cast<double>(edges.size()) / build_s,
          static_cast<double>(edges.size()) / raw_build_s, true,
          "informational; " + graph_note + "; RelateMany batches of " + std::to_string(build_batch) +
              " (one transaction each, CDC events included) vs raw upserts without CDC"});
  Raw raw(db->path().string(), kEdgesPerId);

  // bfs_depth3.
  std::vector<std::string> starts;
  for (int i = 0; i < bfs_starts; ++i) starts.push_back(NodeId(with_out[rng() % with_out.size()]));
  size_t reached = 0;
  Interleaved bfs = PerItem(
      rounds, starts,
      [&](const std::string& start) {
        GraphTraverseOptions t;
        t.start = start;
        t.max_depth = 3;
        t.limit = kMaxTraverseLimit;
        auto r = graph.Traverse(t);
        Fail(r.status(), "traverse");
        return std::move(r).value();
      },
      [&](const std::string& start) { return raw.Bfs(start, 3); },
      [&](const std::string& start, const std::vector<TraversedNode>& nodes, const std::map<std::string, int>& base) {
        std::map<std::string, int> ours;
        for (const auto& n : nodes) ours.emplace(n.id, n.depth);
        if (ours.size() != nodes.size()) Mismatch("traverse reported a node twice from " + start);
        if (ours != base)
          Mismatch("bfs from " + start + ": ours " + std::to_string(ours.size()) + " nodes, raw " +
                   std::to_string(base.size()));
        reached += ours.size();
      });
  Report({"graph", "bfs_depth3", "traversals_per_s", "sqlite_recursive_cte", bfs_starts / bfs.ours,
          bfs_starts / bfs.baseline, true,
          graph_note + "; " + std::to_string(bfs_starts) + " random start nodes, outgoing, depth <= 3, avg " +
              std::to_string(reached / static_cast<size_t>(bfs_starts)) + " nodes reached; target ratio >= 2"});

  // shortest_path.
  std::vector<std::pair<std::string, std::string>> path_items;
  for (int i = 0; i < path_pairs; ++i)
    path_items.emplace_back(NodeId(with_out[rng() % with_out.size()]), NodeId(with_in[rng() % with_in.size()]));
  int found = 0;
  double total_len = 0;
  Interleaved sp = PerItem(
      rounds, path_items,
      [&](const std::pair<std::string, std::string>& p) {
        GraphPathOptions o;
        o.from = p.first;
        o.to = p.second;
        o.max_depth = kPathDepth;
        auto r = graph.ShortestPath(o);
        Fail(r.status(), "shortest path");
        return std::move(r).value();
      },
      [&](const std::pair<std::string, std::string>& p) { return raw.Distance(p.first, p.second, kPathDepth); },
      [&](const std::pair<std::string, std::string>& p, const std::optional<GraphPath>& path, int base) {
        const int ours = path ? static_cast<int>(path->edges.size()) : -1;
        if (ours != base)
          Mismatch("shortest path " + p.first + " -> " + p.second + ": ours " + std::to_string(ours) + " hops, raw " +
                   std::to_string(base));
        if (!path) return;
        if (path->nodes.size() != path->edges.size() + 1 || path->nodes.front() != p.first ||
            path->nodes.back() != p.second)
          Mismatch("shortest path " + p.first + " -> " + p.second + " has wrong end points");
        for (size_t i = 0; i < path->edges.size(); ++i)
          if (path->edges[i].from != path->nodes[i] || path->edges[i].to != path->nodes[i + 1])
            Mismatch("shortest path " + p.first + " -> " + p.second + " is not a chain of its edges");
        ++found;
        total_len += ours;
      });
  char avg_len[32];
  std::snprintf(avg_len, sizeof avg_len, "%.2f", found ? total_len / found : 0.0);
  Report({"graph", "shortest_path", "paths_per_s", "sqlite_recursive_cte", path_pairs / sp.ours,
          path_pairs / sp.baseline, true,
          graph_note + "; " + std::to_string(path_pairs) + " random pairs, outgoing, max_depth " +
              std::to_string(kPathDepth) + ", " + std::to_string(found) + " connected (avg " + avg_len +
              " hops); raw = iterative-deepening recursive CTE returning the distance; target ratio >= 2"});

  // outgoing_batch_1000 and the informational per-id loop through GraphStore.
  std::vector<std::vector<std::string>> id_batches(static_cast<size_t>(batches));
  for (auto& b : id_batches) {
    std::set<std::string> unique;
    while (unique.size() < kBatchIds) unique.insert(NodeId(with_out[rng() % with_out.size()]));
    b.assign(unique.begin(), unique.end());
    std::shuffle(b.begin(), b.end(), rng);
  }
  EdgeQuery q;
  q.limit = kEdgesPerId;
  using EdgeMap = std::map<std::string, std::vector<Edge>>;
  auto raw_loop = [&](const std::vector<std::string>& ids) {
    EdgeMap out;
    for (const auto& id : ids) out.emplace(id, raw.Outgoing(id));
    return out;
  };
  size_t batch_edges = 0;
  auto same = [&](const std::vector<std::string>& ids, const EdgeMap& ours, const EdgeMap& base) {
    if (ours != base) Mismatch("outgoing edges of a batch starting with " + ids.front());
    for (const auto& [id, e] : base) batch_edges += e.size();
  };
  Interleaved ob = PerItem(
      rounds, id_batches,
      [&](const std::vector<std::string>& ids) {
        auto r = graph.OutgoingBatch(ids, q);
        Fail(r.status(), "outgoing batch");
        return std::move(r).value();
      },
      raw_loop, same);
  const size_t edges_per_batch = batch_edges / id_batches.size();
  Report({"graph", "outgoing_batch_1000", "batches_per_s", "sqlite_n_plus_1", batches / ob.ours, batches / ob.baseline,
          true,
          graph_note + "; " + std::to_string(kBatchIds) + " random ids with out-edges, <= " +
              std::to_string(kEdgesPerId) + " edges each (avg " + std::to_string(edges_per_batch) +
              " edges per batch), data parsed; raw = one prepared per-id query in a loop; target ratio >= 5"});
  Interleaved ol = PerItem(
      rounds, id_batches,
      [&](const std::vector<std::string>& ids) {
        EdgeMap out;
        for (const auto& id : ids) {
          auto r = graph.Outgoing(id, q);
          Fail(r.status(), "outgoing");
          out.emplace(id, std::move(r->items));
        }
        return out;
      },
      raw_loop, [&](const std::vector<std::string>& ids, const EdgeMap& ours, const EdgeMap& base) {
        if (ours != base) Mismatch("per-id outgoing edges of a batch starting with " + ids.front());
      });
  Report({"graph", "outgoing_loop_1000", "batches_per_s", "sqlite_n_plus_1", batches / ol.ours, batches / ol.baseline,
          true, "informational; the N+1 loop through GraphStore::Outgoing, same ids as outgoing_batch_1000"});
  return 0;
}

}  // namespace

DOTDO_BENCH_SUITE(graph) {
  try {
    return RunSuite(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: graph bench: %s\n", e.what());
    return 1;
  }
}

}  // namespace dotdo::bench
