// Crash test: a child process writes documents (single writes, updates, multi-document
// transactions) and is killed with SIGKILL at random points; after reopening, every committed
// document has exactly its events and history, nothing uncommitted is visible, and multi-document
// transactions are all-or-nothing.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>

#include "dotdo/document.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;

// Runs in the child: writes until killed. Never returns.
[[noreturn]] void WriteForever(const std::filesystem::path& dir, int generation) {
  auto db = Database::Open(dir, "crash");
  if (!db.ok()) _exit(3);
  DocumentStore store(**db);
  for (int i = 0;; ++i) {
    const std::string id = "g" + std::to_string(generation) + "-" + std::to_string(i);
    if (!store.Create({{"$id", id}, {"$type", "Crash"}, {"i", i}}).ok()) _exit(4);
    if (i % 3 == 0 && !store.Update(id, {{"$inc", {{"i", 1}}}}).ok()) _exit(5);
    if (i % 7 == 0) {
      Status st = (*db)->Transaction([&]() -> Status {
        for (int k = 0; k < 5; ++k) {
          DOTDO_RETURN_IF_ERROR(store.Create({{"$id", id + "-b" + std::to_string(k)}, {"$type", "Batch"}}).status());
        }
        return OkStatus();
      });
      if (!st.ok()) _exit(6);
    }
  }
}

TEST(DocumentCrashTest, KilledWritersLeaveOnlyCommittedDocumentsWithTheirEvents) {
  testing::ScratchDir dir;
  std::mt19937 rng(11);
  for (int generation = 0; generation < 6; ++generation) {
    ASSERT_TRUE(testing::RunAndKill([&] { WriteForever(dir.path(), generation); },
                                    std::chrono::milliseconds(20 + rng() % 80)));
  }

  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "crash"));
  DocumentStore store(*db);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json docs, db->QueryReadOnly("SELECT id, type, version FROM doc_documents"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json events, db->QueryReadOnly(
                                              "SELECT key, type, tbl FROM cdc_events WHERE store = 'document'"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json hist, db->QueryReadOnly("SELECT id, count(*) AS n FROM doc_history GROUP BY id"));
  ASSERT_GT(docs.size(), 6u) << "the writers never got going";

  std::map<std::string, int> inserts, updates, history;
  for (const Json& e : events) {
    if (e["type"] == "cdc.insert") ++inserts[e["key"]];
    else if (e["type"] == "cdc.update") ++updates[e["key"]];
    else ADD_FAILURE() << "unexpected event " << e.dump();
  }
  for (const Json& h : hist) history[h["id"]] = h["n"];
  std::map<std::string, int> batch_members;
  for (const Json& d : docs) {
    const std::string id = d["id"];
    const int version = d["version"];
    EXPECT_EQ(inserts[id], 1) << id;
    EXPECT_EQ(updates[id], version - 1) << id;
    EXPECT_EQ(history[id], version - 1) << id;
    if (d["type"] == "Batch") ++batch_members[id.substr(0, id.rfind("-b"))];
    DOTDO_EXPECT_OK(store.Get(id));
  }
  // Nothing uncommitted: every event belongs to a stored document.
  EXPECT_EQ(inserts.size(), docs.size());
  // Multi-document transactions are all or nothing.
  for (const auto& [owner, n] : batch_members) EXPECT_EQ(n, 5) << owner;
  // The store keeps working after the crashes.
  DOTDO_ASSERT_OK(store.Create({{"$type", "Crash"}, {"after", true}}));
}

}  // namespace
}  // namespace dotdo
