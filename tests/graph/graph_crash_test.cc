// Crash test: a child process relates, re-relates (data updates), unrelates and writes multi-edge
// transactions, and is killed with SIGKILL at random points; after reopening, every stored edge's
// event history ends in its current state, deleted edges end in a delete, nothing uncommitted is
// visible, and multi-edge transactions are all-or-nothing with one txid.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>

#include "dotdo/graph.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

// Runs in the child: writes until killed. Never returns.
[[noreturn]] void WriteForever(const std::filesystem::path& dir, int generation) {
  auto db = Database::Open(dir, "crash");
  if (!db.ok()) _exit(3);
  GraphStore graph(**db);
  std::mt19937 rng(static_cast<unsigned>(generation));
  for (int i = 0;; ++i) {
    const std::string from = "N/" + std::to_string(rng() % 40), to = "N/" + std::to_string(rng() % 40);
    // Relate (insert, or an update of data when the edge exists), sometimes unrelate.
    if (!graph.Relate(from, to, "links", {{"i", i}, {"g", generation}}).ok()) _exit(4);
    if (i % 5 == 0 && !graph.Unrelate(to, from, "links").ok()) _exit(5);
    if (i % 7 == 0) {
      // A batch: four edges out of one fresh node, all or nothing.
      const std::string hub = "Batch/g" + std::to_string(generation) + "-" + std::to_string(i);
      Status st = (*db)->Transaction([&]() -> Status {
        for (int k = 0; k < 4; ++k) DOTDO_RETURN_IF_ERROR(graph.Relate(hub, "N/" + std::to_string(k), "member").status());
        return OkStatus();
      });
      if (!st.ok()) _exit(6);
    }
  }
}

TEST(GraphCrashTest, KilledWritersLeaveOnlyCommittedEdgesWithTheirEvents) {
  testing::ScratchDir dir;
  std::mt19937 rng(17);
  for (int generation = 0; generation < 6; ++generation) {
    ASSERT_TRUE(testing::RunAndKill([&] { WriteForever(dir.path(), generation); },
                                    std::chrono::milliseconds(20 + rng() % 80)));
  }

  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "crash"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json edges, db->QueryReadOnly(
                                             "SELECT id, from_id, to_id, type, json(data) AS data FROM graph_relationships"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json events, db->QueryReadOnly("SELECT key, type, tbl, COALESCE(txid, lsn) AS txid, after FROM cdc_events "
                                                            "WHERE store = 'graph' ORDER BY lsn"));
  ASSERT_GT(edges.size(), 10u) << "the writers never got going";

  // Per edge id: its events in lsn order.
  std::map<std::string, std::vector<Json>> history;
  for (const Json& e : events) {
    EXPECT_EQ(e["tbl"], "relationships");
    history[e["key"]].push_back(e);
  }
  std::set<std::string> stored;
  for (const Json& edge : edges) {
    const std::string id = edge["id"];
    stored.insert(id);
    const auto& h = history[id];
    ASSERT_FALSE(h.empty()) << "edge " << id << " has no events";
    EXPECT_EQ(h.front()["type"], "cdc.insert") << id;
    for (size_t k = 1; k < h.size(); ++k) EXPECT_EQ(h[k]["type"], "cdc.update") << id;
    // The last event's after image is the stored edge.
    const Json after = Json::parse(h.back()["after"].get<std::string>());
    EXPECT_EQ(after["from"], edge["from_id"]) << id;
    EXPECT_EQ(after["to"], edge["to_id"]) << id;
    EXPECT_EQ(after["type"], edge["type"]) << id;
    EXPECT_EQ(after["data"], Json::parse(edge["data"].get<std::string>())) << id;
  }
  // An edge id that is not stored any more ended with its delete; nothing else has events.
  for (const auto& [id, h] : history) {
    if (stored.count(id)) continue;
    EXPECT_EQ(h.back()["type"], "cdc.delete") << id;
    EXPECT_EQ(h.front()["type"], "cdc.insert") << id;
  }
  // Batches: four edges or none, and their events share one txid.
  std::map<std::string, int> members;
  for (const Json& edge : edges)
    if (edge["type"] == "member") ++members[edge["from_id"]];
  ASSERT_FALSE(members.empty()) << "no batch committed";
  for (const auto& [hub, n] : members) EXPECT_EQ(n, 4) << hub;
  std::map<std::string, std::set<int64_t>> batch_txids;
  for (const Json& edge : edges) {
    if (edge["type"] != "member") continue;
    for (const Json& e : history[edge["id"]]) batch_txids[edge["from_id"]].insert(e["txid"].get<int64_t>());
  }
  for (const auto& [hub, txids] : batch_txids) EXPECT_EQ(txids.size(), 1u) << hub;

  // The store is usable after the crashes.
  GraphStore graph(*db);
  DOTDO_EXPECT_OK(graph.Relate("N/0", "N/1", "after_crash"));
}

}  // namespace
}  // namespace dotdo
