// Two writers of one namespace at once, each with its own connection (as two processes have): for
// every store, no write is lost or doubled, and the change feed holds exactly one event per write
// with gap-free lsns — SQLite's write lock serializes them (BEGIN IMMEDIATE waits up to
// busy_timeout_ms).
#include <filesystem>
#include <map>
#include <thread>

#include "dotdo/blob.h"
#include "dotdo/cdc.h"
#include "dotdo/document.h"
#include "dotdo/graph.h"
#include "testing/test_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::IsOk;

constexpr int kWritesPerWriter = 150;

std::unique_ptr<Database> Open(const std::filesystem::path& dir) {
  auto db = Database::Open(dir, "acme", {.busy_timeout_ms = 30000});
  EXPECT_THAT(db, IsOk());
  return db.ok() ? std::move(db).value() : nullptr;
}

// Runs `write(db, writer, i)` for i in [0, kWritesPerWriter) on two connections at once.
void TwoWriters(const std::filesystem::path& dir, const std::function<Status(Database&, int, int)>& write) {
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      auto db = Open(dir);
      ASSERT_NE(db, nullptr);
      for (int i = 0; i < kWritesPerWriter; ++i) ASSERT_THAT(write(*db, w, i), IsOk()) << "writer " << w << " #" << i;
    });
  }
  for (auto& t : threads) t.join();
}

// Events of `store`, checking that every lsn of the feed is there exactly once, in order.
std::vector<UnifiedEvent> EventsOf(Database& db, const std::string& store) {
  auto all = ChangeFeed(db).Read(0, 10000);
  EXPECT_THAT(all, IsOk());
  std::vector<UnifiedEvent> out;
  if (!all.ok()) return out;
  for (size_t i = 0; i < all->size(); ++i) {
    EXPECT_EQ(*(*all)[i].lsn, static_cast<int64_t>(i + 1));
    if ((*all)[i].store == store) out.push_back((*all)[i]);
  }
  return out;
}

TEST(TwoWriterTest, DocumentStore) {
  testing::ScratchDir dir;
  std::string counter_id;
  {
    auto db = Open(dir.path());
    DOTDO_ASSERT_OK_AND_ASSIGN(Json c, DocumentStore(*db).Create({{"$type", "Counter"}, {"n", 0}}));
    counter_id = c["$id"];
  }
  TwoWriters(dir.path(), [&](Database& db, int w, int i) -> Status {
    DocumentStore docs(db);
    DOTDO_RETURN_IF_ERROR(docs.Create({{"$type", "T"}, {"w", w}, {"i", i}}).status());
    return docs.Update(counter_id, {{"$inc", {{"n", 1}}}}).status();  // read-modify-write of one doc
  });
  auto db = Open(dir.path());
  DocumentStore docs(*db);
  DOTDO_ASSERT_OK_AND_ASSIGN(int64_t n, docs.Count("T", Json::object()));
  EXPECT_EQ(n, 2 * kWritesPerWriter);
  DOTDO_ASSERT_OK_AND_ASSIGN(Json counter, docs.Get(counter_id));
  EXPECT_EQ(counter["n"], 2 * kWritesPerWriter);
  EXPECT_EQ(counter["$version"], 2 * kWritesPerWriter + 1);
  auto events = EventsOf(*db, "document");
  EXPECT_EQ(events.size(), 1u + 4u * kWritesPerWriter);  // the counter, then a create and an update per write
}

TEST(TwoWriterTest, GraphStore) {
  testing::ScratchDir dir;
  TwoWriters(dir.path(), [&](Database& db, int w, int i) -> Status {
    GraphStore graph(db);
    DOTDO_RETURN_IF_ERROR(graph.Relate("N/w" + std::to_string(w), "N/" + std::to_string(i), "link").status());
    return graph.Relate("N/shared", "N/hub", "link", {{"last", w * 1000 + i}}).status();  // both update one edge
  });
  auto db = Open(dir.path());
  GraphStore graph(*db);
  for (int w = 0; w < 2; ++w) {
    DOTDO_ASSERT_OK_AND_ASSIGN(int64_t degree, graph.OutDegree("N/w" + std::to_string(w)));
    EXPECT_EQ(degree, kWritesPerWriter);
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(Edge shared, graph.GetEdge("N/shared", "N/hub", "link"));
  auto events = EventsOf(*db, "graph");
  ASSERT_EQ(events.size(), 4u * kWritesPerWriter);
  int shared_inserts = 0;
  for (const auto& e : events) shared_inserts += e.type == "cdc.insert" && e.after && (*e.after)["from"] == "N/shared";
  EXPECT_EQ(shared_inserts, 1) << "one writer created the shared edge, every other write updated it";
  EXPECT_EQ((*events.back().after)["data"], shared.data);
}

TEST(TwoWriterTest, BlobStore) {
  testing::ScratchDir dir;
  TwoWriters(dir.path(), [&](Database& db, int w, int i) -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto objects, LocalObjectStore::Open(dir.path() / "objects", {.sync = false}));
    DOTDO_ASSIGN_OR_RETURN(auto blobs, BlobStore::Open(db, *objects));
    BlobPutRequest req;
    req.key = "w" + std::to_string(w) + "/" + std::to_string(i);
    DOTDO_RETURN_IF_ERROR(blobs->Put(req, "same bytes for everyone").status());
    req.key = "shared";
    return blobs->Put(req, "writer " + std::to_string(w)).status();  // both overwrite one key
  });
  auto db = Open(dir.path());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto objects, LocalObjectStore::Open(dir.path() / "objects"));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto blobs, BlobStore::Open(*db, *objects));
  DOTDO_ASSERT_OK_AND_ASSIGN(BlobStats stats, blobs->Stats());
  EXPECT_EQ(stats.blobs, 2 * kWritesPerWriter + 1);
  EXPECT_EQ(stats.objects, 2) << "the shared bytes once, and the last 'shared' content";
  DOTDO_ASSERT_OK_AND_ASSIGN(Blob shared, blobs->Get("shared"));
  EXPECT_TRUE(shared.data == "writer 0" || shared.data == "writer 1") << shared.data;
  auto events = EventsOf(*db, "blob");
  EXPECT_EQ(events.size(), 4u * kWritesPerWriter);
}

}  // namespace
}  // namespace dotdo
