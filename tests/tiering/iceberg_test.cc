// IcebergTable: create/load, append, rewrite, time travel, pruning, expiry, concurrent commits,
// object-store faults, a SIGKILL during commits, bad input, a randomized run against a model, and
// three independent readers: DuckDB's read_parquet over Files(), an Avro reader in node (avsc) and icebird.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "dotdo/clock.h"
#include "dotdo/object_store.h"
#include "objectstore/faulty_object_store.h"
#include "testing/test_util.h"
#include "tiering/iceberg_table.h"
#ifdef DOTDO_HAVE_DUCKDB
#include "duckdb.h"
#endif

namespace dotdo::tiering {
namespace {

using ::dotdo::internal::FaultyObjectStore;
using ::dotdo::internal::ObjectFault;
using ::dotdo::internal::ObjectOp;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;
using json = nlohmann::json;

constexpr int64_t kDayMicros = 86400LL * 1000000;
const std::string kPrefix = "cold/documents";

IcebergSchema TestSchema() {
  return {0, {{1, "$id", "string", true}, {2, "$type", "string", true}, {3, "ts", "timestamptz", true},
              {4, "n", "long", false}, {5, "x", "double", false}, {6, "ok", "boolean", false}}};
}
std::vector<IcebergPartitionField> TestSpec() { return {{2, 1000, "type", "identity"}, {3, 1001, "dt", "day"}}; }

IcebergDataFile MakeFile(const std::string& name, const std::string& type, int64_t day, int64_t records, int64_t lo = 0) {
  IcebergDataFile f;
  f.key = "warm/documents/type=" + type + "/dt=" + std::to_string(day) + "/" + name + ".parquet";
  f.file_size_bytes = 100 + records;
  f.record_count = records;
  f.partition = {type, day};
  f.lower_bounds = {{1, std::string("a")}, {3, day * kDayMicros}, {4, lo}, {5, -1.5}, {6, false}};
  f.upper_bounds = {{1, std::string("z")}, {3, day * kDayMicros + 5}, {4, lo + records}, {5, 2.5}, {6, true}};
  f.value_counts = {{1, records}, {4, records}};
  f.null_value_counts = {{4, 0}};
  return f;
}

std::set<std::string> Keys(const std::vector<IcebergDataFile>& files) {
  std::set<std::string> out;
  for (const auto& f : files) out.insert(f.key);
  return out;
}

class IcebergTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = LocalObjectStore::Open(dir_.path() / "objects", {.sync = false});
    ASSERT_THAT(s, IsOk());
    store_ = std::move(*s);
    clock_.Set(1'000'000);
  }
  std::string Location() const { return "file://" + (dir_.path() / "objects" / "data").string() + "/" + kPrefix; }
  IcebergTable CreateTable(ObjectStore* store = nullptr) {
    auto t = IcebergTable::Create(store ? *store : *store_, kPrefix, Location(), TestSchema(), TestSpec());
    EXPECT_THAT(t, IsOk());
    t->SetClock(&clock_);
    return std::move(*t);
  }
  std::vector<IcebergDataFile> FilesOf(const IcebergTable& t, std::optional<int64_t> snap = {}) {
    auto f = t.Files(snap);
    EXPECT_THAT(f, IsOk());
    return f.ok() ? *f : std::vector<IcebergDataFile>{};
  }

  dotdo::testing::ScratchDir dir_;
  std::unique_ptr<LocalObjectStore> store_;
  ManualClock clock_{0};
};

TEST_F(IcebergTest, CreateWritesSpecMetadataAndLoads) {
  IcebergTable t = CreateTable();
  EXPECT_THAT(IcebergTable::Create(*store_, kPrefix, Location(), TestSchema(), TestSpec()),
              StatusIs(StatusCode::kAlreadyExists));
  EXPECT_THAT(IcebergTable::Load(*store_, "cold/none"), StatusIs(StatusCode::kNotFound));
  auto text = store_->Get(kPrefix + "/metadata/v1.metadata.json");
  ASSERT_THAT(text, IsOk());
  json md = json::parse(*text);
  EXPECT_EQ(md["format-version"], 2);
  EXPECT_EQ(md["table-uuid"], t.table_uuid());
  EXPECT_EQ(md["location"], Location());
  EXPECT_EQ(md["last-column-id"], 6);
  EXPECT_EQ(md["last-partition-id"], 1001);
  EXPECT_EQ(md["partition-specs"][0]["fields"][1]["transform"], "day");
  EXPECT_EQ(md["schemas"][0]["fields"][2]["type"], "timestamptz");
  EXPECT_EQ(md["current-snapshot-id"], -1);
  for (const char* k : {"sort-orders", "snapshots", "snapshot-log", "metadata-log", "last-sequence-number", "refs"})
    EXPECT_TRUE(md.contains(k)) << k;
  EXPECT_EQ(*store_->Get(kPrefix + "/metadata/version-hint.text"), "1");
  auto loaded = IcebergTable::Load(*store_, kPrefix);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->table_uuid(), t.table_uuid());
  EXPECT_EQ(loaded->schema().fields.size(), 6u);
  EXPECT_EQ(loaded->spec().size(), 2u);
  EXPECT_FALSE(loaded->CurrentSnapshotId());
  EXPECT_TRUE(FilesOf(*loaded).empty());
}

TEST_F(IcebergTest, AppendRoundTripsFilesAndTimeTravels) {
  IcebergTable t = CreateTable();
  std::vector<IcebergDataFile> first = {MakeFile("a", "Customer", 20000, 10), MakeFile("b", "Order", 20001, 5, -7)};
  first[1].partition[0] = std::monostate{};  // a null partition value
  auto s1 = t.Append(first, {{"dotdo.batch", "1"}});
  ASSERT_THAT(s1, IsOk());
  EXPECT_EQ(s1->operation, "append");
  EXPECT_EQ(s1->parent_snapshot_id, -1);
  EXPECT_EQ(s1->summary.at("total-records"), "15");
  EXPECT_EQ(s1->summary.at("dotdo.batch"), "1");
  clock_.Set(2'000'000);
  auto s2 = t.Append({MakeFile("c", "Customer", 20002, 3)});
  ASSERT_THAT(s2, IsOk());
  EXPECT_EQ(s2->parent_snapshot_id, s1->snapshot_id);
  EXPECT_EQ(s2->sequence_number, 2);
  EXPECT_EQ(s2->summary.at("total-data-files"), "3");
  EXPECT_THAT(t.Append({MakeFile("a", "Customer", 20000, 10)}), StatusIs(StatusCode::kAlreadyExists));

  auto files = FilesOf(t, s1->snapshot_id);
  ASSERT_EQ(files.size(), 2u);
  std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.key < b.key; });
  EXPECT_EQ(files[0], first[0]);  // partition values, bounds and counts survive the Avro round trip
  EXPECT_EQ(files[1], first[1]);
  EXPECT_EQ(FilesOf(t).size(), 3u);
  EXPECT_EQ(*t.SnapshotAsOf(1'500'000), s1->snapshot_id);
  EXPECT_EQ(*t.SnapshotAsOf(2'000'000), s2->snapshot_id);
  EXPECT_THAT(t.SnapshotAsOf(999), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(t.Files(12345), StatusIs(StatusCode::kNotFound));

  auto loaded = IcebergTable::Load(*store_, kPrefix);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->metadata_version(), 3);
  EXPECT_EQ(loaded->CurrentSnapshotId(), s2->snapshot_id);
  ASSERT_EQ(loaded->Snapshots().size(), 2u);
  EXPECT_EQ(loaded->Snapshots()[0].summary, s1->summary);
  EXPECT_EQ(Keys(FilesOf(*loaded)), Keys(FilesOf(t)));
  json md = json::parse(*store_->Get(kPrefix + "/metadata/v3.metadata.json"));
  EXPECT_EQ(md["metadata-log"].size(), 2u);
  EXPECT_EQ(md["refs"]["main"]["snapshot-id"], s2->snapshot_id);
  EXPECT_EQ(md["last-sequence-number"], 2);
}

TEST_F(IcebergTest, UnpartitionedTableRoundTrips) {
  auto t = IcebergTable::Create(*store_, kPrefix, Location(), TestSchema(), {});
  ASSERT_THAT(t, IsOk());
  IcebergDataFile f = MakeFile("u", "T", 1, 4);
  f.partition.clear();
  ASSERT_THAT(t->Append({f}), IsOk());
  auto loaded = IcebergTable::Load(*store_, kPrefix);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(FilesOf(*loaded), std::vector<IcebergDataFile>{f});
}

TEST_F(IcebergTest, DamagedMetadataIsDataLoss) {
  IcebergTable t = CreateTable();
  auto s = t.Append({MakeFile("a", "T", 1, 1), MakeFile("b", "T", 1, 2)});
  ASSERT_THAT(s, IsOk());
  auto list = store_->Get(s->manifest_list);
  ASSERT_THAT(list, IsOk());
  for (size_t cut : {size_t{0}, size_t{3}, list->size() / 2, list->size() - 20}) {
    ASSERT_THAT(store_->Put(s->manifest_list, list->substr(0, cut)), IsOk());
    EXPECT_THAT(t.Files(), StatusIs(StatusCode::kDataLoss)) << cut;
  }
  ASSERT_THAT(store_->Put(s->manifest_list, *list), IsOk());
  EXPECT_EQ(FilesOf(t).size(), 2u);
  ASSERT_THAT(store_->Put(kPrefix + "/metadata/v3.metadata.json", "{\"format-version\": 2}"), IsOk());
  EXPECT_THAT(IcebergTable::Load(*store_, kPrefix), StatusIs(StatusCode::kDataLoss));
  ASSERT_THAT(store_->Put(kPrefix + "/metadata/v4.metadata.json", "{\"format-version\": 1}"), IsOk());
  EXPECT_THAT(IcebergTable::Load(*store_, kPrefix), StatusIs(StatusCode::kFailedPrecondition));
}

TEST_F(IcebergTest, RewriteReplacesDeletesAndChecksKeys) {
  IcebergTable t = CreateTable();
  ASSERT_THAT(t.Append({MakeFile("a", "T", 1, 10), MakeFile("b", "T", 1, 20)}), IsOk());
  auto s2 = t.Append({MakeFile("c", "U", 2, 5)});
  ASSERT_THAT(s2, IsOk());
  auto compact = t.Rewrite({MakeFile("a", "T", 1, 0).key, MakeFile("b", "T", 1, 0).key}, {MakeFile("ab", "T", 1, 30)});
  ASSERT_THAT(compact, IsOk());
  EXPECT_EQ(compact->operation, "replace");
  EXPECT_EQ(compact->summary.at("deleted-data-files"), "2");
  EXPECT_EQ(Keys(FilesOf(t)), (std::set<std::string>{MakeFile("ab", "T", 1, 0).key, MakeFile("c", "U", 2, 0).key}));
  auto del = t.Rewrite({MakeFile("c", "U", 2, 0).key}, {});
  ASSERT_THAT(del, IsOk());
  EXPECT_EQ(del->operation, "delete");
  EXPECT_EQ(del->summary.at("total-records"), "30");
  auto over = t.Rewrite({MakeFile("ab", "T", 1, 0).key}, {MakeFile("ab2", "T", 1, 29)});
  ASSERT_THAT(over, IsOk());
  EXPECT_EQ(over->operation, "overwrite");
  EXPECT_THAT(t.Rewrite({MakeFile("c", "U", 2, 0).key}, {}), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(t.Rewrite({"warm/none.parquet"}, {}), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_EQ(FilesOf(t, s2->snapshot_id).size(), 3u);  // the older snapshot still sees the old files
  EXPECT_EQ(FilesOf(t).size(), 1u);
}

TEST_F(IcebergTest, PrunerSkipsManifestsAndFiles) {
  IcebergTable t = CreateTable();
  ASSERT_THAT(t.Append({MakeFile("a", "Alpha", 10, 10), MakeFile("b", "Alpha", 11, 10, 100)}), IsOk());
  ASSERT_THAT(t.Append({MakeFile("c", "Beta", 12, 10)}), IsOk());
  ASSERT_THAT(t.Append({MakeFile("d", "Gamma", 13, 10)}), IsOk());
  IcebergPruner p;
  p.keep_manifest = [](const std::vector<IcebergPartitionSummary>& s) {
    return std::get<std::string>(s[0].lower) <= "Alpha" && "Alpha" <= std::get<std::string>(s[0].upper) &&
           std::get<int64_t>(s[1].lower) <= 11 && 11 <= std::get<int64_t>(s[1].upper);
  };
  p.keep_file = [](const IcebergDataFile& f) { return std::get<int64_t>(f.upper_bounds.at(4)) >= 50; };
  IcebergScanStats st;
  auto files = t.Files({}, &p, &st);
  ASSERT_THAT(files, IsOk());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].key, MakeFile("b", "Alpha", 11, 0).key);
  EXPECT_EQ(st.manifests_read, 1);
  EXPECT_EQ(st.manifests_skipped, 2);
  EXPECT_EQ(st.files_kept, 1);
  EXPECT_EQ(st.files_skipped, 1);
}

TEST_F(IcebergTest, AppendsMergeManifestsPastTheThreshold) {
  EXPECT_THAT(IcebergTable::Create(*store_, kPrefix, Location(), TestSchema(), TestSpec(),
                                   {{std::string(IcebergTable::kMergeProperty), "1"}}),
              StatusIs(StatusCode::kInvalidArgument));
  auto t = IcebergTable::Create(*store_, kPrefix, Location(), TestSchema(), TestSpec(),
                                {{std::string(IcebergTable::kMergeProperty), "3"}});
  ASSERT_THAT(t, IsOk());
  std::vector<int64_t> snaps;
  for (int i = 0; i < 8; ++i) {
    auto s = t->Append({MakeFile("m" + std::to_string(i), i % 2 ? "A" : "B", i, 1 + i)});
    ASSERT_THAT(s, IsOk());
    snaps.push_back(s->snapshot_id);
    IcebergScanStats st;
    auto files = t->Files({}, nullptr, &st);
    ASSERT_THAT(files, IsOk());
    EXPECT_EQ(files->size(), static_cast<size_t>(i + 1));
    EXPECT_LE(st.manifests_read, 3);
  }
  ASSERT_THAT(t->Rewrite({MakeFile("m0", "B", 0, 1).key}, {}), IsOk());
  EXPECT_EQ(FilesOf(*t).size(), 7u);
  for (size_t i = 0; i < snaps.size(); ++i) EXPECT_EQ(FilesOf(*t, snaps[i]).size(), i + 1);
  EXPECT_EQ(t->Snapshots().back().summary.at("total-records"), std::to_string(2 + 3 + 4 + 5 + 6 + 7 + 8));
}

TEST_F(IcebergTest, ExpiryDeletesWhatNoSnapshotReferences) {
  IcebergTable t = CreateTable();
  for (const char* name : {"a", "b", "c"}) {
    IcebergDataFile f = MakeFile(name, "T", 1, 1);
    ASSERT_THAT(store_->Put(f.key, "parquet bytes"), IsOk());
    ASSERT_THAT(t.Append({f}), IsOk());
    clock_.Advance(1000);
  }
  const std::string a = MakeFile("a", "T", 1, 1).key, b = MakeFile("b", "T", 1, 1).key;
  ASSERT_THAT(t.Rewrite({a}, {}), IsOk());
  const int64_t cutoff = clock_.NowMillis();
  clock_.Advance(1000);
  ASSERT_THAT(t.Append({MakeFile("d", "T", 1, 1)}), IsOk());
  EXPECT_THAT(t.ExpireSnapshots(cutoff, 0), StatusIs(StatusCode::kInvalidArgument));
  auto r = t.ExpireSnapshots(cutoff, 1);  // keeps the rewrite (at cutoff) and the last append
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->expired_snapshot_ids.size(), 3u);
  EXPECT_EQ(r->deleted_data_files, std::vector<std::string>{a});
  EXPECT_EQ(r->deleted_manifest_lists.size(), 3u);
  EXPECT_FALSE(r->deleted_manifests.empty());
  EXPECT_THAT(store_->Head(a), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store_->Head(b), IsOk());
  for (const auto& k : r->deleted_manifests) EXPECT_THAT(store_->Head(k), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(t.Snapshots().size(), 2u);
  EXPECT_EQ(FilesOf(t).size(), 3u);
  EXPECT_EQ(FilesOf(t, t.Snapshots()[0].snapshot_id).size(), 2u);
  auto loaded = IcebergTable::Load(*store_, kPrefix);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->Snapshots().size(), 2u);
  EXPECT_EQ(FilesOf(*loaded).size(), 3u);
  auto again = t.ExpireSnapshots(cutoff, 1);
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->expired_snapshot_ids.empty());
}

TEST_F(IcebergTest, ConcurrentHandlesBothLand) {
  CreateTable();
  constexpr int kPerWriter = 12;
  auto writer = [&](const std::string& who) {
    auto t = IcebergTable::Load(*store_, kPrefix);
    ASSERT_THAT(t, IsOk());
    for (int i = 0; i < kPerWriter; ++i)
      ASSERT_THAT(t->Append({MakeFile(who + std::to_string(i), "T", 1, 1)}), IsOk());
  };
  // A third handle compacts its own files in pairs while the others append.
  auto compactor = [&] {
    auto t = IcebergTable::Load(*store_, kPrefix);
    ASSERT_THAT(t, IsOk());
    for (int i = 0; i < kPerWriter; i += 2) {
      IcebergDataFile a = MakeFile("z" + std::to_string(i), "T", 1, 1), b = MakeFile("z" + std::to_string(i + 1), "T", 1, 1);
      ASSERT_THAT(t->Append({a, b}), IsOk());
      ASSERT_THAT(t->Rewrite({a.key, b.key}, {MakeFile("zz" + std::to_string(i), "T", 1, 2)}), IsOk());
    }
  };
  std::thread w1(writer, "x"), w2(writer, "y"), w3(compactor);
  w1.join();
  w2.join();
  w3.join();
  auto t = IcebergTable::Load(*store_, kPrefix);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(FilesOf(*t).size(), 2u * kPerWriter + kPerWriter / 2);
  EXPECT_EQ(t->Snapshots().size(), 3u * kPerWriter);
  EXPECT_EQ(t->Snapshots().back().summary.at("total-records"), std::to_string(3 * kPerWriter));
  std::set<int64_t> seqs;
  for (const auto& s : t->Snapshots()) seqs.insert(s.sequence_number);
  EXPECT_EQ(seqs.size(), 3u * kPerWriter);
  EXPECT_EQ(t->metadata_version(), 1 + 3 * kPerWriter);
}

TEST_F(IcebergTest, FaultAtAnyCommitStepKeepsThePreviousSnapshot) {
  FaultyObjectStore faulty(*store_);
  IcebergTable t = CreateTable(&faulty);
  ASSERT_THAT(t.Append({MakeFile("base", "T", 1, 1)}), IsOk());
  auto before = *t.CurrentSnapshotId();
  int failures = 0, name = 0;
  // Each operation, with the nth call of one kind failing, for every n until a run sees no fault.
  const std::vector<std::function<Status(IcebergTable&)>> operations = {
      [&](IcebergTable& h) { return h.Append({MakeFile("f" + std::to_string(++name), "T", 1, 1)}).status(); },
      [&](IcebergTable& h) {
        auto live = h.Files();
        if (!live.ok()) return live.status();
        return h.Rewrite({live->front().key}, {MakeFile("g" + std::to_string(++name), "T", 1, 1)}).status();
      },
      [&](IcebergTable& h) {
        clock_.Advance(10);
        if (Status st = h.Append({MakeFile("e" + std::to_string(++name), "T", 1, 1)}).status(); !st.ok()) return st;
        return h.ExpireSnapshots(clock_.NowMillis(), 2).status();
      }};
  for (size_t which = 0; which < operations.size(); ++which) {
    for (ObjectOp op : {ObjectOp::kPut, ObjectOp::kGet, ObjectOp::kHead}) {
      for (int nth = 1;; ++nth) {
        auto handle = IcebergTable::Load(faulty, kPrefix);
        ASSERT_THAT(handle, IsOk());
        handle->SetClock(&clock_);
        const auto files_before = Keys(FilesOf(*handle));
        faulty.Arm(ObjectFault{.op = op, .nth = nth});
        Status st = operations[which](*handle);
        const bool injected = faulty.injected() > 0;
        faulty.Disarm();
        faulty.Reset();
        auto fresh = IcebergTable::Load(*store_, kPrefix);
        ASSERT_THAT(fresh, IsOk());
        const std::string where = "operation " + std::to_string(which) + " op " + std::to_string(static_cast<int>(op)) +
                                  " nth " + std::to_string(nth);
        if (!st.ok()) {
          ++failures;
          EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st << " " << where;
          // Either nothing was committed, or (expiry's delete phase) only unreferenced files are gone.
          if (fresh->CurrentSnapshotId() == before) {
            EXPECT_EQ(Keys(FilesOf(*fresh)), files_before) << where;
          }
          for (const auto& s : fresh->Snapshots()) EXPECT_THAT(fresh->Files(s.snapshot_id), IsOk()) << where;
          before = *fresh->CurrentSnapshotId();
          continue;
        }
        EXPECT_NE(fresh->CurrentSnapshotId(), before) << where;
        before = *fresh->CurrentSnapshotId();
        if (!injected) break;  // the fault came after every call of the operation (or hit the hint only)
      }
    }
  }
  EXPECT_GE(failures, 10);
  auto fresh = IcebergTable::Load(*store_, kPrefix);
  ASSERT_THAT(fresh, IsOk());
  const auto live = FilesOf(*fresh);
  auto orphans = fresh->RemoveOrphanMetadata(INT64_MAX);
  ASSERT_THAT(orphans, IsOk());
  EXPECT_FALSE(orphans->empty());  // manifests written by the failed commits
  EXPECT_EQ(Keys(FilesOf(*fresh)), Keys(live));
  for (const auto& s : fresh->Snapshots()) EXPECT_THAT(fresh->Files(s.snapshot_id), IsOk());
}

TEST_F(IcebergTest, SigkillDuringCommitsLeavesALoadableTable) {
  CreateTable();
  ASSERT_TRUE(dotdo::testing::RunAndKill(
      [&] {
        auto t = IcebergTable::Load(*store_, kPrefix);
        for (int i = 0;; ++i) (void)t->Append({MakeFile("k" + std::to_string(i), "T", 1, 1)});
      },
      std::chrono::milliseconds(300)));
  auto reopened = LocalObjectStore::Open(dir_.path() / "objects");
  ASSERT_THAT(reopened, IsOk());
  auto t = IcebergTable::Load(**reopened, kPrefix);
  ASSERT_THAT(t, IsOk());
  const auto files = FilesOf(*t);
  EXPECT_EQ(files.size(), t->Snapshots().size());
  EXPECT_EQ(Keys(files).size(), files.size());
  EXPECT_THAT(t->Append({MakeFile("after", "T", 1, 1)}), IsOk());
}

TEST_F(IcebergTest, BadInputIsRejectedAndWritesNothing) {
  auto create = [&](IcebergSchema schema, std::vector<IcebergPartitionField> spec, std::string prefix = kPrefix,
                    std::string location = "") {
    return IcebergTable::Create(*store_, prefix, location.empty() ? "file:///x/" + prefix : location, schema, spec)
        .status();
  };
  const auto kInvalid = StatusIs(StatusCode::kInvalidArgument);
  EXPECT_THAT(create(TestSchema(), TestSpec(), "/abs"), kInvalid);
  EXPECT_THAT(create(TestSchema(), TestSpec(), kPrefix, "file:///x/other"), kInvalid);
  EXPECT_THAT(create(TestSchema(), TestSpec(), kPrefix, "/x/" + kPrefix), kInvalid);
  EXPECT_THAT(create({0, {}}, {}), kInvalid);
  EXPECT_THAT(create({0, {{1, "bad name", "long", true}}}, {}), kInvalid);
  EXPECT_THAT(create({0, {{1, "9x", "long", true}}}, {}), kInvalid);
  EXPECT_THAT(create({0, {{1, "a", "long", true}, {1, "b", "long", true}}}, {}), kInvalid);
  EXPECT_THAT(create({0, {{1, "a", "long", true}, {2, "a", "long", true}}}, {}), kInvalid);
  EXPECT_THAT(create({0, {{0, "a", "long", true}}}, {}), kInvalid);
  EXPECT_THAT(create({0, {{1, "a", "decimal(9,2)", true}}}, {}), kInvalid);
  EXPECT_THAT(create(TestSchema(), {{99, 1000, "p", "identity"}}), kInvalid);
  EXPECT_THAT(create(TestSchema(), {{1, 1000, "p", "day"}}), kInvalid);
  EXPECT_THAT(create(TestSchema(), {{3, 1000, "p", "bucket[16]"}}), kInvalid);
  EXPECT_THAT(create(TestSchema(), {{3, 999, "p", "day"}}), kInvalid);
  EXPECT_THAT(create(TestSchema(), {{3, 1000, "$p", "day"}}), kInvalid);
  EXPECT_THAT(create(TestSchema(), {{3, 1000, "p", "day"}, {2, 1000, "q", "identity"}}), kInvalid);
  auto listed = store_->List({});
  ASSERT_THAT(listed, IsOk());
  EXPECT_TRUE(listed->objects.empty());

  IcebergTable t = CreateTable();
  auto append = [&](auto edit) {
    IcebergDataFile f = MakeFile("a", "T", 1, 1);
    edit(f);
    return t.Append({f}).status();
  };
  EXPECT_THAT(append([](IcebergDataFile& f) { f.key = "../x"; }), kInvalid);
  EXPECT_THAT(append([](IcebergDataFile& f) { f.record_count = -1; }), kInvalid);
  EXPECT_THAT(append([](IcebergDataFile& f) { f.partition.pop_back(); }), kInvalid);
  EXPECT_THAT(append([](IcebergDataFile& f) { f.partition[1] = std::string("2024-01-01"); }), kInvalid);
  EXPECT_THAT(append([](IcebergDataFile& f) { f.partition[1] = int64_t{1} << 40; }), kInvalid);
  EXPECT_THAT(append([](IcebergDataFile& f) { f.partition[0] = 1.5; }), kInvalid);
  EXPECT_THAT(append([](IcebergDataFile& f) { f.lower_bounds[77] = int64_t{1}; }), kInvalid);
  EXPECT_THAT(append([](IcebergDataFile& f) { f.upper_bounds[4] = std::string("x"); }), kInvalid);
  EXPECT_THAT(append([](IcebergDataFile& f) { f.upper_bounds[6] = std::monostate{}; }), kInvalid);
  EXPECT_THAT(append([](IcebergDataFile& f) { f.value_counts[77] = 1; }), kInvalid);
  EXPECT_THAT(append([](IcebergDataFile& f) { f.lower_bounds[4] = int64_t{1000}; }), kInvalid);  // above upper
  EXPECT_THAT(append([](IcebergDataFile& f) { f.lower_bounds[5] = std::nan(""); }), kInvalid);
  EXPECT_THAT(append([](IcebergDataFile& f) { f.key = kPrefix + "/metadata/x.parquet"; }), kInvalid);
  EXPECT_THAT(append([](IcebergDataFile& f) { f.null_value_counts[4] = -1; }), kInvalid);
  EXPECT_THAT(t.Append({}), kInvalid);
  EXPECT_THAT(t.Append({MakeFile("a", "T", 1, 1), MakeFile("a", "T", 1, 1)}), kInvalid);
  EXPECT_THAT(t.Append({MakeFile("a", "T", 1, 1)}, {{"operation", "x"}}), kInvalid);
  EXPECT_THAT(t.Append({MakeFile("a", "T", 1, 1)}, {{"", "x"}}), kInvalid);
  EXPECT_THAT(t.Rewrite({}, {}), kInvalid);
  EXPECT_THAT(t.Rewrite({"a//b"}, {}), kInvalid);
  EXPECT_THAT(t.Rewrite({"k", "k"}, {}), kInvalid);
  EXPECT_FALSE(t.CurrentSnapshotId());
  EXPECT_EQ(t.metadata_version(), 1);
  EXPECT_THAT(IcebergTable::Load(*store_, "bad//prefix"), kInvalid);
}

// Random appends, rewrites and expiries against a model: snapshot id → live keys.
TEST_F(IcebergTest, RandomOperationsMatchAModel) {
  IcebergTable t = CreateTable();
  std::mt19937 rng(17);
  std::map<int64_t, std::set<std::string>> model;
  std::set<std::string> live;
  int next_name = 0;
  for (int step = 0; step < 60; ++step) {
    clock_.Advance(10);
    int op = rng() % 10;
    if (op < 6 || live.empty()) {
      std::vector<IcebergDataFile> add;
      for (int i = 0, n = 1 + rng() % 3; i < n; ++i)
        add.push_back(MakeFile("r" + std::to_string(next_name++), rng() % 2 ? "A" : "B", rng() % 3, 1 + rng() % 9));
      auto s = t.Append(add);
      ASSERT_THAT(s, IsOk());
      for (const auto& f : add) live.insert(f.key);
      model[s->snapshot_id] = live;
    } else if (op < 9) {
      std::vector<std::string> remove;
      for (const auto& k : live) if (rng() % 3 == 0) remove.push_back(k);
      if (remove.empty()) remove.push_back(*live.begin());
      std::vector<IcebergDataFile> add;
      if (rng() % 2) add.push_back(MakeFile("r" + std::to_string(next_name++), "A", 1, 5));
      auto s = t.Rewrite(remove, add);
      ASSERT_THAT(s, IsOk());
      for (const auto& k : remove) live.erase(k);
      for (const auto& f : add) live.insert(f.key);
      model[s->snapshot_id] = live;
    } else {
      auto r = t.ExpireSnapshots(clock_.NowMillis() - 100, 3);
      ASSERT_THAT(r, IsOk());
      for (int64_t id : r->expired_snapshot_ids) model.erase(id);
    }
    ASSERT_EQ(Keys(FilesOf(t)), live) << "step " << step;
  }
  auto loaded = IcebergTable::Load(*store_, kPrefix);
  ASSERT_THAT(loaded, IsOk());
  ASSERT_EQ(loaded->Snapshots().size(), model.size());
  for (const auto& [id, keys] : model) EXPECT_EQ(Keys(FilesOf(*loaded, id)), keys);
}

#ifdef DOTDO_HAVE_DUCKDB
// An in-memory DuckDB that writes the tests' Parquet files and reads them back with read_parquet.
class DuckDb {
 public:
  DuckDb() {
    EXPECT_EQ(duckdb_open(nullptr, &db_), DuckDBSuccess);
    EXPECT_EQ(duckdb_connect(db_, &con_), DuckDBSuccess);
  }
  ~DuckDb() {
    duckdb_disconnect(&con_);
    duckdb_close(&db_);
  }
  int64_t QueryInt(const std::string& sql) {
    duckdb_result res;
    if (duckdb_query(con_, sql.c_str(), &res) != DuckDBSuccess) {
      ADD_FAILURE() << duckdb_result_error(&res) << " in " << sql;
      duckdb_destroy_result(&res);
      return -1;
    }
    int64_t v = duckdb_row_count(&res) ? duckdb_value_int64(&res, 0, 0) : 0;
    duckdb_destroy_result(&res);
    return v;
  }
  // Writes the rows of `select` as a zstd Parquet file, puts it under f->key and sets its size.
  void WriteParquet(const std::string& select, const std::filesystem::path& tmp, ObjectStore& store, IcebergDataFile* f) {
    QueryInt("COPY (" + select + ") TO '" + tmp.string() + "' (FORMAT parquet, COMPRESSION zstd)");
    std::ifstream in(tmp, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    f->file_size_bytes = static_cast<int64_t>(bytes.size());
    ASSERT_THAT(store.Put(f->key, bytes), IsOk());
  }

 private:
  duckdb_database db_;
  duckdb_connection con_;
};

// DuckDB's read_parquet counts the rows of the files Files() returns, current and older snapshots.
TEST_F(IcebergTest, DuckDbReadsTheTablesFiles) {
  IcebergTable t = CreateTable();
  DuckDb duck;
  std::vector<int64_t> snaps;
  for (int i = 0; i < 3; ++i) {
    const int64_t rows = 100 * (i + 1);
    IcebergDataFile f = MakeFile("p" + std::to_string(i), "T", 1, rows);
    duck.WriteParquet("SELECT range AS n, 'T' AS \"$type\" FROM range(" + std::to_string(rows) + ")",
                      dir_.path() / "tmp.parquet", *store_, &f);
    auto s = t.Append({f});
    ASSERT_THAT(s, IsOk());
    snaps.push_back(s->snapshot_id);
  }
  auto count = [&](std::optional<int64_t> snap) {
    std::string list;
    for (const auto& f : FilesOf(t, snap)) {
      std::string path = t.KeyToPath(f.key);
      EXPECT_TRUE(path.starts_with("file://"));
      list += (list.empty() ? "'" : ", '") + path.substr(7) + "'";
    }
    return duck.QueryInt("SELECT count(*) FROM read_parquet([" + list + "])");
  };
  EXPECT_EQ(count({}), 600);
  EXPECT_EQ(count(snaps[0]), 100);
  EXPECT_EQ(count(snaps[1]), 300);
}

// icebird (npm) reads the whole table — metadata, manifests and the Parquet rows — after an overwrite.
TEST_F(IcebergTest, IcebirdReadsTheRows) {
  const std::string modules = DOTDO_NPM_ICEBERG_DIR "/node_modules";
  if (!std::filesystem::exists(modules + "/icebird/package.json") || !std::filesystem::exists("/usr/bin/node"))
    GTEST_SKIP() << "node or icebird missing (run scripts/setup.sh)";
  const std::string prefix = "cold/events";
  const std::string location = "file://" + (dir_.path() / "objects" / "data").string() + "/" + prefix;
  IcebergSchema schema{0, {{1, "id", "long", true}, {2, "kind", "string", true}, {3, "ts", "timestamptz", true}}};
  auto t = IcebergTable::Create(*store_, prefix, location, schema, {{2, 1000, "kind", "identity"}, {3, 1001, "ts_day", "day"}});
  ASSERT_THAT(t, IsOk());
  DuckDb duck;
  auto file = [&](const std::string& name, const std::string& kind, int64_t first, int64_t rows) {
    IcebergDataFile f;
    f.key = "warm/events/kind=" + kind + "/dt=2024-01-01/" + name + ".parquet";
    f.record_count = rows;
    f.partition = {kind, int64_t{19723}};
    f.lower_bounds = {{1, first}};
    f.upper_bounds = {{1, first + rows - 1}};
    duck.WriteParquet("SELECT range AS id, '" + kind + "' AS kind, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(range) AS ts FROM range(" +
                          std::to_string(first) + ", " + std::to_string(first + rows) + ")",
                      dir_.path() / (name + ".parquet"), *store_, &f);
    return f;
  };
  ASSERT_THAT(t->Append({file("f0", "A", 0, 100), file("f1", "B", 0, 200)}), IsOk());
  ASSERT_THAT(t->Rewrite({"warm/events/kind=A/dt=2024-01-01/f0.parquet"}, {file("f2", "A", 1000, 50)}), IsOk());
  auto run = dotdo::testing::RunProgram("/usr/bin/node", {DOTDO_TEST_DATA_DIR "/icebird_read.mjs", modules, location});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  json out = json::parse(run.out);
  EXPECT_EQ(out["rows"], 250);
  EXPECT_EQ(out["kinds"]["A"], 50);
  EXPECT_EQ(out["kinds"]["B"], 200);
  EXPECT_EQ(out["id_sum"], std::to_string(199 * 200 / 2 + (1000 + 1049) * 50 / 2));
  EXPECT_EQ(out["snapshots"], 2);
  EXPECT_EQ(duck.QueryInt("SELECT count(*) FROM read_parquet('" + location.substr(7) + "/../../warm/events/*/*/*.parquet')"), 350);
}
#endif

// The node script reads metadata, manifest list and manifests with avsc (no code shared with us).
TEST_F(IcebergTest, IndependentAvroReaderAgrees) {
  const std::string modules = DOTDO_NPM_ICEBERG_DIR "/node_modules";
  if (!std::filesystem::exists(modules + "/avsc/package.json") || !std::filesystem::exists("/usr/bin/node"))
    GTEST_SKIP() << "node or avsc missing (run scripts/setup.sh)";
  IcebergTable t = CreateTable();
  ASSERT_THAT(t.Append({MakeFile("a", "Alpha", 19000, 10, -5), MakeFile("b", "Beta", 19001, 20)}), IsOk());
  ASSERT_THAT(t.Append({MakeFile("c", "Alpha", 19002, 30)}), IsOk());
  auto compact = t.Rewrite({MakeFile("a", "Alpha", 19000, 0).key}, {MakeFile("a2", "Alpha", 19000, 10)});
  ASSERT_THAT(compact, IsOk());
  const std::string table_dir = (dir_.path() / "objects" / "data" / kPrefix).string();
  auto run = dotdo::testing::RunProgram("/usr/bin/node", {DOTDO_TEST_DATA_DIR "/iceberg_read.js", modules, table_dir});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  json out = json::parse(run.out);
  EXPECT_EQ(out["format_version"], 2);
  EXPECT_EQ(out["operation"], "replace");
  EXPECT_EQ(out["manifests"], 3);
  EXPECT_EQ(out["manifest_meta"]["format-version"], "2");
  EXPECT_EQ(out["manifest_meta"]["content"], "data");
  EXPECT_EQ(out["manifest_meta"]["partition-spec"][1]["field-id"], 1001);
  EXPECT_EQ(out["manifest_meta"]["schema-fields"], 6);
  EXPECT_EQ(out["manifest_list_ids"]["manifest_path"], 500);
  EXPECT_EQ(out["manifest_list_ids"]["partitions.upper_bound"], 511);
  EXPECT_EQ(out["manifest_ids"]["data_file.file_path"], 100);
  EXPECT_EQ(out["manifest_ids"]["data_file.partition.dt"], 1001);
  EXPECT_EQ(out["manifest_ids"]["data_file.lower_bounds.value"], 127);
  EXPECT_EQ(out["manifest_list"][0]["added_snapshot_id"], std::to_string(compact->snapshot_id));
  EXPECT_EQ(out["manifest_list"][0]["sequence_number"], "3");
  auto ours = FilesOf(t);
  std::sort(ours.begin(), ours.end(), [&](auto& a, auto& b) { return t.KeyToPath(a.key) < t.KeyToPath(b.key); });
  ASSERT_EQ(out["files"].size(), ours.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    const json& f = out["files"][i];
    EXPECT_EQ(f["path"], t.KeyToPath(ours[i].key));
    EXPECT_EQ(f["format"], "PARQUET");
    EXPECT_EQ(f["record_count"], ours[i].record_count);
    EXPECT_EQ(f["file_size_in_bytes"], ours[i].file_size_bytes);
    EXPECT_EQ(f["partition"]["type"], std::get<std::string>(ours[i].partition[0]));
    EXPECT_EQ(f["partition"]["dt"], std::get<int64_t>(ours[i].partition[1]));
    EXPECT_EQ(f["lower_bounds"]["4"], std::to_string(std::get<int64_t>(ours[i].lower_bounds.at(4))));
    EXPECT_EQ(f["upper_bounds"]["3"], std::to_string(std::get<int64_t>(ours[i].upper_bounds.at(3))));
    EXPECT_EQ(f["lower_bounds"]["1"], "a");
  }
  // Time travel through the independent reader: the first snapshot's two files.
  auto old = dotdo::testing::RunProgram(
      "/usr/bin/node", {DOTDO_TEST_DATA_DIR "/iceberg_read.js", modules, table_dir,
                        std::to_string(t.Snapshots()[0].snapshot_id)});
  ASSERT_EQ(old.exit_code, 0) << old.err;
  EXPECT_EQ(json::parse(old.out)["files"].size(), 2u);
}

}  // namespace
}  // namespace dotdo::tiering
