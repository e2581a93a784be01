// VectorStore durability: writers killed with SIGKILL during inserts, deletes, upserts and index
// saves leave, after reopen, an index that finds every committed vector and never serves a deleted
// one; disk faults (the fault-injecting VFS: EIO/ENOSPC on writes, EIO on syncs) make an insert, a
// batch or a delete all or nothing with exactly its events, in the process and after a restart.
#include <omp.h>

#include <functional>
#include <random>
#include <set>

#include "dotdo/cdc.h"
#include "dotdo/vector.h"
#include "testing/fault_util.h"

namespace dotdo {
namespace {

using ::dotdo::testing::FaultLoopOptions;
using ::dotdo::testing::ForEachFaultPosition;
using ::dotdo::testing::IsOk;

constexpr int kDim = 16;

const int kOmpSingleThread = [] {
  omp_set_num_threads(1);
  return 1;
}();

// The vector of an id is a function of the id, so the checker knows it without reading the store.
std::vector<float> VectorOf(const std::string& id) {
  std::mt19937 rng(static_cast<unsigned>(std::hash<std::string>{}(id)));
  std::normal_distribution<float> n(0, 1);
  std::vector<float> v(kDim);
  for (float& x : v) x = n(rng);
  return v;
}

VectorRecord Rec(const std::string& id) {
  VectorRecord r;
  r.id = id;
  r.content = "record " + id;
  r.embedding = VectorOf(id);
  return r;
}

VectorStore Store(Database& db) { return VectorStore::Open(db, {.dimension = kDim}).value(); }

[[noreturn]] void WriteForever(const std::filesystem::path& dir, int generation) {
  auto db = Database::Open(dir, "crash");
  if (!db.ok()) _exit(3);
  auto vs = VectorStore::Open(**db, {.dimension = kDim, .autosave_changes = 0});
  if (!vs.ok()) _exit(4);
  std::mt19937 rng(static_cast<unsigned>(generation));
  for (int i = 0;; ++i) {
    const std::string id = "g" + std::to_string(generation) + "-" + std::to_string(i);
    if (!vs->Insert(Rec(id)).ok()) _exit(5);
    if (i % 3 == 0) {
      const std::string victim = "g" + std::to_string(generation) + "-" + std::to_string(rng() % (i + 1));
      if (!vs->Delete(victim).ok()) _exit(6);
    }
    if (i % 10 == 0) {
      std::vector<VectorRecord> batch;
      for (int k = 0; k < 5; ++k) batch.push_back(Rec(id + "b" + std::to_string(k)));
      if (!vs->InsertBatch(batch).ok()) _exit(7);
    }
    // Searches catch the index up; saves write the file and prune the log.
    if (i % 7 == 0 && !vs->Search({.embedding = VectorOf(id)}).ok()) _exit(8);
    if (i % 25 == 0 && !vs->SaveIndex().ok()) _exit(9);
  }
}

TEST(VectorCrashTest, KilledWritersNeverLoseACommittedVectorNorServeADeletedOne) {
  testing::ScratchDir dir;
  std::mt19937 rng(5);
  for (int generation = 0; generation < 6; ++generation) {
    ASSERT_TRUE(testing::RunAndKill([&] { WriteForever(dir.path(), generation); },
                                    std::chrono::milliseconds(100 + rng() % 200)));
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(auto db, Database::Open(dir.path(), "crash"));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json stored, db->QueryReadOnly("SELECT id FROM vec_records", {}, {.max_rows = 1000000}));
  DOTDO_ASSERT_OK_AND_ASSIGN(Json keys, db->QueryReadOnly("SELECT DISTINCT key FROM cdc_events WHERE store = 'vector' "
                                                          "AND type = 'cdc.delete'", {}, {.max_rows = 1000000}));
  ASSERT_GT(stored.size(), 20u) << "the writers never got going";
  std::set<std::string> live;
  for (const Json& r : stored) live.insert(r["id"].get<std::string>());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto vs, VectorStore::Open(*db, {}));
  for (const std::string& id : live) {
    DOTDO_ASSERT_OK_AND_ASSIGN(auto r, vs.Search({.embedding = VectorOf(id), .limit = 1, .ef = 400}));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].id, id);
  }
  size_t deleted = 0;
  for (const Json& k : keys) {
    const std::string id = k["key"].get<std::string>();
    if (live.count(id)) continue;
    ++deleted;
    DOTDO_ASSERT_OK_AND_ASSIGN(auto r, vs.Search({.embedding = VectorOf(id), .limit = 3}));
    for (const auto& x : r) {
      EXPECT_NE(x.id, id);
      EXPECT_TRUE(live.count(x.id)) << x.id;
    }
  }
  EXPECT_GT(deleted, 0u);
  DOTDO_ASSERT_OK_AND_ASSIGN(VectorStats st, vs.Stats());
  EXPECT_EQ(st.count, static_cast<int64_t>(live.size()));
  EXPECT_EQ(st.index_elements - st.index_deleted, st.count);
  DOTDO_EXPECT_OK(vs.Insert(Rec("after-crash")));
}

// Power loss after index saves: whatever prefix of the commits survives, the reopened store finds
// exactly the surviving records (a saved file reflecting lost commits is never used).
TEST(VectorPowerLossTest, AnIndexFileFromLostCommitsIsNeverUsed) {
  for (size_t keep : {size_t{0}, size_t{3}, size_t{8}, size_t{20}, size_t{100000}}) {
    testing::FaultyNamespace ns;
    {
      auto vs = Store(ns.Open());
      for (int i = 0; i < 20; ++i) DOTDO_ASSERT_OK(vs.Insert(Rec("p" + std::to_string(i))));
      DOTDO_ASSERT_OK(vs.SaveIndex());
      ASSERT_TRUE(vs.Delete("p3").value());
      DOTDO_ASSERT_OK(vs.Insert(Rec("q")));
      DOTDO_ASSERT_OK(vs.SaveIndex());
      ASSERT_TRUE(vs.Delete("p4").value());
    }
    ns.LosePower(keep);
    Database& db = ns.OpenNormal();
    ns.ExpectConsistent();
    auto vs = Store(db);
    std::set<std::string> stored;
    for (int i = -1; i < 20; ++i) {
      const std::string id = i < 0 ? "q" : "p" + std::to_string(i);
      if (vs.Get(id).ok()) stored.insert(id);
    }
    for (int i = -1; i < 20; ++i) {
      const std::string id = i < 0 ? "q" : "p" + std::to_string(i);
      auto r = vs.Search({.embedding = VectorOf(id), .limit = 1});
      ASSERT_THAT(r, IsOk());
      EXPECT_EQ(!r->empty() && r->at(0).id == id, stored.count(id) == 1) << id << " keep " << keep;
      for (const auto& x : *r) EXPECT_TRUE(stored.count(x.id)) << x.id << " keep " << keep;
    }
    if (keep == 100000) {
      EXPECT_EQ(stored.size(), 19u);
    }
  }
}

class VectorFaultTest : public ::testing::TestWithParam<::dotdo::testing::DiskFaultCase> {};


size_t VectorEvents(Database& db, std::string_view type) {
  size_t n = 0;
  auto events = ChangeFeed(db).Read(0, 10000);
  EXPECT_THAT(events, IsOk());
  if (events.ok())
    for (const auto& e : *events) n += e.store == "vector" && e.type == type;
  return n;
}

// The record is served by search exactly when it is stored.
void ExpectSearchable(Database& db, const std::string& id, bool present) {
  auto vs = Store(db);
  EXPECT_EQ(vs.Get(id).ok(), present) << id;
  auto r = vs.Search({.embedding = VectorOf(id), .limit = 1});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(!r->empty() && r->at(0).id == id, present) << id;
}

void SeedThree(Database& db) {
  auto vs = Store(db);
  for (int i = 0; i < 3; ++i) DOTDO_ASSERT_OK(vs.Insert(Rec("seed" + std::to_string(i))));
  DOTDO_ASSERT_OK(vs.Search({.embedding = VectorOf("seed0")}).status());
}

TEST_P(VectorFaultTest, InsertIsAllOrNothing) {
  const int faulted = ForEachFaultPosition(
      GetParam().options, SeedThree, [](Database& db) { return Store(db).Insert(Rec("new")); },
      [](Database& db, const Status& st, bool) { ExpectSearchable(db, "new", st.ok()); },
      [](Database& db, const Status& st, bool) {
        ExpectSearchable(db, "new", st.ok());
        EXPECT_EQ(VectorEvents(db, "cdc.insert"), st.ok() ? 4u : 3u);
      });
  EXPECT_GE(faulted, 1);
}

TEST_P(VectorFaultTest, BatchIsAllOrNothingWithOneEvent) {
  std::vector<VectorRecord> batch;
  for (int i = 0; i < 20; ++i) batch.push_back(Rec("b" + std::to_string(i)));
  const int faulted = ForEachFaultPosition(
      GetParam().options, SeedThree, [&](Database& db) { return Store(db).InsertBatch(batch).status(); },
      [](Database& db, const Status& st, bool) { ExpectSearchable(db, "b7", st.ok()); },
      [](Database& db, const Status& st, bool) {
        ExpectSearchable(db, "b0", st.ok());
        ExpectSearchable(db, "b19", st.ok());
        EXPECT_EQ(VectorEvents(db, "cdc.batch_insert"), st.ok() ? 1u : 0u);
      });
  EXPECT_GE(faulted, 1);
}

TEST_P(VectorFaultTest, DeleteIsAllOrNothing) {
  const int faulted = ForEachFaultPosition(
      GetParam().options, SeedThree, [](Database& db) { return Store(db).Delete("seed1").status(); },
      [](Database& db, const Status& st, bool) { ExpectSearchable(db, "seed1", !st.ok()); },
      [](Database& db, const Status& st, bool) {
        ExpectSearchable(db, "seed1", !st.ok());
        EXPECT_EQ(VectorEvents(db, "cdc.delete"), st.ok() ? 1u : 0u);
      });
  EXPECT_GE(faulted, 1);
}

INSTANTIATE_TEST_SUITE_P(Faults, VectorFaultTest, ::testing::ValuesIn(::dotdo::testing::kDiskFaultCases),
                         ::dotdo::testing::DiskFaultCaseName);

}  // namespace
}  // namespace dotdo
