// BlobStore under real crashes: a child process puts, overwrites, streams, deletes and moves blobs
// to the cold area (lifecycle) in a file-backed namespace, and is SIGKILLed at a random moment,
// many times over the same data. After each kill the parent reopens everything and checks that
// metadata never names a missing object, every object's bytes hash to the recorded SHA-256, ref
// counts equal the referencing rows, the last CDC event of each key describes its committed state,
// and the object store's temp area holds nothing from the dead writer. At the end the orphan sweep
// leaves exactly the referenced objects.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "dotdo/blob.h"
#include "dotdo/cdc.h"
#include "blob_test_util.h"
#include "testing/test_util.h"
#include "core/sha256.h"

namespace dotdo {
namespace {

namespace fs = std::filesystem;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;

constexpr int64_t kHour = 3'600'000;

int64_t WallNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Four contents; the big one makes a put take long enough to be killed half-way.
std::vector<std::string> Contents() {
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  return {"alpha", "beta", std::string(70000, 'g'), big};
}

using Opened = testing::FileBlobs;
Result<Opened> OpenAll(const fs::path& root) { return testing::OpenFileBlobs(root); }

// The child: random writes until killed. Exits 1 on any error (a writer must never fail here).
[[noreturn]] void WriteForever(const fs::path& root, unsigned seed) {
  auto o = OpenAll(root);
  if (!o.ok()) std::_Exit(1);
  BlobStore& blobs = *o->blobs;
  if (!blobs.PutLifecycleRule({.id = "cold-k1", .prefix = "k1", .age_ms = 0, .action = BlobLifecycleAction::kTransition,
                               .storage_class = "INFREQUENT_ACCESS"})
           .ok())
    std::_Exit(1);
  const auto contents = Contents();
  std::mt19937 rng(seed);
  for (;;) {
    const std::string key = "k" + std::to_string(rng() % 5);
    const std::string& value = contents[rng() % contents.size()];
    Status s;
    switch (rng() % 6) {
      case 0: {
        s = blobs.Delete(key);
        if (s.code() == StatusCode::kNotFound) s = OkStatus();
        break;
      }
      case 1: {
        size_t sent = 0;
        BlobPutRequest r{.key = key, .content_length = value.size()};
        s = blobs.PutStream(r, [&](char* buf, size_t cap) -> Result<size_t> {
          const size_t n = std::min({cap, value.size() - sent, size_t{65536}});
          std::memcpy(buf, value.data() + sent, n);
          sent += n;
          return n;
        }).status();
        break;
      }
      case 2: s = blobs.ApplyLifecycle(WallNow()).status(); break;
      default: s = blobs.Put({.key = key, .metadata = {{"v", value.size()}}}, value).status();
    }
    if (!s.ok()) {
      std::fprintf(stderr, "writer failed: %s\n", s.ToString().c_str());
      std::_Exit(1);
    }
  }
}

void CheckConsistent(Opened& o, int round) {
  SCOPED_TRACE("after kill " + std::to_string(round));
  auto rows = o.db->QueryReadOnly("SELECT key, object_key, sha256, size, storage_class FROM blob_blobs");
  ASSERT_THAT(rows, IsOk());
  std::map<std::string, std::string> hash_of;
  for (const auto& r : *rows) {
    const std::string key = r["key"], object_key = r["object_key"];
    hash_of[key] = r["sha256"];
    auto bytes = o.objects->Get(object_key);
    ASSERT_THAT(bytes, IsOk()) << "blob " << key << " names a missing object " << object_key;
    EXPECT_EQ(internal::Sha256::Hex(*bytes), r["sha256"].get<std::string>()) << key;
    EXPECT_EQ(bytes->size(), r["size"].get<uint64_t>()) << key;
    EXPECT_EQ(object_key.rfind("cold/", 0) == 0, r["storage_class"] == "INFREQUENT_ACCESS") << key;
  }
  auto refs = o.db->QueryReadOnly(
      "SELECT o.object_key AS k, o.ref_count AS refs, (SELECT COUNT(*) FROM blob_blobs b WHERE b.object_key = "
      "o.object_key) AS n FROM blob_objects o");
  ASSERT_THAT(refs, IsOk());
  for (const auto& r : *refs) {
    EXPECT_EQ(r["refs"], r["n"]) << r.dump();
    EXPECT_GT(r["n"].get<int64_t>(), 0) << "object row without a blob: " << r.dump();
  }
  // CDC was written in the same transaction: the last event of each key is its committed state.
  std::map<std::string, std::optional<std::string>> last;
  int64_t after = 0;
  for (;;) {
    auto events = ChangeFeed(*o.db).Read(after, 10000);
    ASSERT_THAT(events, IsOk());
    if (events->empty()) break;
    for (const auto& e : *events) last[e.key.value_or("")] = e.after ? std::optional<std::string>((*e.after)["hash"]) : std::nullopt;
    after = *events->back().lsn;
  }
  for (const auto& [key, hash] : last) {
    if (hash) EXPECT_EQ(hash_of[key], *hash) << key;
    else EXPECT_EQ(hash_of.count(key), 0u) << key;
  }
  for (const auto& [key, hash] : hash_of) EXPECT_TRUE(last.count(key)) << "blob " << key << " has no event";
}

TEST(BlobKillTest, SigkilledWritersNeverLeaveMetadataWithoutItsObject) {
  ScratchDir dir;
  std::mt19937 rng(2024);
  int killed_mid_run = 0;
  for (int round = 0; round < 14; ++round) {
    ASSERT_TRUE(testing::RunAndKill([&] { WriteForever(dir.path(), static_cast<unsigned>(round) + 1); },
                                    std::chrono::milliseconds(15 + rng() % 90)));
    ++killed_mid_run;
    auto o = OpenAll(dir.path());
    ASSERT_THAT(o, IsOk());
    CheckConsistent(*o, round);
    if (::testing::Test::HasFatalFailure()) return;
    // Temp files of the dead writer are gone once the store is reopened.
    EXPECT_TRUE(fs::is_empty(dir.path() / "objects" / "tmp")) << "round " << round;
  }
  EXPECT_EQ(killed_mid_run, 14);

  auto o = OpenAll(dir.path());
  ASSERT_THAT(o, IsOk());
  ASSERT_THAT(o->blobs->SweepOrphans(WallNow() + 2 * kHour), IsOk());
  std::set<std::string> referenced, stored;
  auto refs = o->db->QueryReadOnly("SELECT object_key FROM blob_objects");
  ASSERT_THAT(refs, IsOk());
  for (const auto& r : *refs) referenced.insert(r["object_key"].get<std::string>());
  for (const char* prefix : {"blobs/", "cold/", "objects/", "tmp/"}) {
    auto page = o->objects->List({.prefix = prefix, .limit = 10000});
    ASSERT_THAT(page, IsOk());
    for (const auto& obj : page->objects) stored.insert(obj.key);
  }
  EXPECT_EQ(stored, referenced);
  CheckConsistent(*o, -1);
}

}  // namespace
}  // namespace dotdo
