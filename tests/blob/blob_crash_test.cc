// BlobStore crash safety: a simulated crash between the object write and the metadata commit (and
// between the metadata commit and the object removal) never leaves metadata without its object; the
// orphan sweep removes what is left after the grace period and never a referenced object; puts and
// deletes of the same bytes from several threads keep the invariant; a large PutStream runs in
// bounded memory.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "blob_test_util.h"
#include "core/sync_point.h"
#include "core/sha256.h"

namespace dotdo {
namespace {

using ::dotdo::testing::BlobFixture;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::StatusIs;

// Crash points are sync points: the tests that use them skip in builds without them.
#define DOTDO_SKIP_WITHOUT_SYNC_POINTS() \
  if (!internal::SyncPoints::Enabled()) GTEST_SKIP() << "built with DOTDO_SYNC_POINTS=OFF"

class BlobCrashTest : public BlobFixture {
 protected:
  void TearDown() override { internal::SyncPoints::ClearAll(); }

  // The next operation that reaches `point` stops there with kUnavailable, as if the process died.
  void CrashAt(const std::string& point) {
    internal::SyncPoints::ClearAll();
    internal::SyncPoints::Set(point, [point] { return UnavailableError("simulated crash at " + point); });
    Reopen(BlobOptions{});
  }
  // The process restarted: no crash point, a fresh BlobStore.
  void Restart() {
    internal::SyncPoints::ClearAll();
    Reopen(BlobOptions{});
  }
};

constexpr int64_t kHour = 3'600'000;
int64_t WallNow() { return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count(); }

TEST_F(BlobCrashTest, CrashBetweenObjectWriteAndMetadataLeavesOnlyAnOrphan) {
  DOTDO_SKIP_WITHOUT_SYNC_POINTS();
  CrashAt("blob.after_object_write");
  EXPECT_THAT(blobs_->Put(Req("k"), "orphaned bytes"), StatusIs(StatusCode::kUnavailable, "simulated crash"));
  auto stream_data = std::make_shared<std::string>("streamed orphan");
  EXPECT_THAT(blobs_->PutStream(Req("s"), [stream_data](char* buf, size_t cap) -> Result<size_t> {
    size_t n = std::min(cap, stream_data->size());
    std::memcpy(buf, stream_data->data(), n);
    stream_data->erase(0, n);
    return n;
  }),
              StatusIs(StatusCode::kUnavailable));
  // No metadata, no event; the bytes are in the store, unreferenced.
  EXPECT_THAT(blobs_->Head("k"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(blobs_->Head("s"), StatusIs(StatusCode::kNotFound));
  EXPECT_TRUE(Events().empty());
  EXPECT_EQ(StoredObjects().size(), 2u);
  ExpectMetadataMatchesObjects();

  Restart();
  // Within the grace period the orphan might be a put in flight: kept.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto early, blobs_->SweepOrphans(WallNow()));
  EXPECT_EQ(early.removed, 0);
  EXPECT_EQ(early.kept_in_grace, 2);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto late, blobs_->SweepOrphans(WallNow() + 2 * kHour));
  EXPECT_EQ(late.removed, 2);
  EXPECT_EQ(late.removed_bytes, static_cast<int64_t>(std::string("orphaned bytes").size() + std::string("streamed orphan").size()));
  EXPECT_TRUE(StoredObjects().empty());
}

TEST_F(BlobCrashTest, CrashedDuplicatePutNeverCostsTheSharedObject) {
  DOTDO_SKIP_WITHOUT_SYNC_POINTS();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto a, blobs_->Put(Req("a"), "shared"));
  CrashAt("blob.after_object_write");
  EXPECT_THAT(blobs_->Put(Req("b"), "shared"), StatusIs(StatusCode::kUnavailable));
  Restart();
  EXPECT_EQ(RefCount(a.object_key), 1);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sweep, blobs_->SweepOrphans(WallNow() + 2 * kHour));
  EXPECT_EQ(sweep.removed, 0);  // referenced by "a": never swept
  EXPECT_EQ(blobs_->Get("a")->data, "shared");
  ExpectMetadataMatchesObjects();
}

TEST_F(BlobCrashTest, CrashAfterDeleteCommitLeavesAnOrphanNotADanglingRow) {
  DOTDO_SKIP_WITHOUT_SYNC_POINTS();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto info, blobs_->Put(Req("k"), "to be deleted"));
  CrashAt("blob.after_metadata_commit");
  EXPECT_THAT(blobs_->Delete("k"), StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(blobs_->Head("k"), StatusIs(StatusCode::kNotFound));  // the delete committed
  DOTDO_EXPECT_OK(objects_->Head(info.object_key));                 // its object is an orphan
  EXPECT_EQ(Events().back().type, "cdc.delete");
  ExpectMetadataMatchesObjects();
  Restart();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sweep, blobs_->SweepOrphans(WallNow() + 2 * kHour));
  EXPECT_EQ(sweep.removed, 1);
  EXPECT_TRUE(StoredObjects().empty());
}

TEST_F(BlobCrashTest, OrphanReusedByALaterPutIsNotSwept) {
  DOTDO_SKIP_WITHOUT_SYNC_POINTS();
  CrashAt("blob.after_object_write");
  EXPECT_THAT(blobs_->Put(Req("k"), "bytes"), StatusIs(StatusCode::kUnavailable));
  Restart();
  DOTDO_ASSERT_OK(blobs_->Put(Req("k"), "bytes"));  // the retry references the same object
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sweep, blobs_->SweepOrphans(WallNow() + 2 * kHour));
  EXPECT_EQ(sweep.removed, 0);
  EXPECT_EQ(blobs_->Get("k")->data, "bytes");
}

// Small contents are hashed before the write; from 1 MiB on the object store hashes while writing
// and the put takes the object lock only afterwards: both must survive a racing delete of the last
// other reference.
TEST_F(BlobCrashTest, ConcurrentPutsAndDeletesOfSameBytesNeverLoseTheObject) {
  Reopen(BlobOptions{}, /*sync=*/false);
  for (const std::string& content : {std::string("contended bytes"), std::string((1 << 20) + 7, 'L')}) {
    std::atomic<bool> failed{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, t] {
        const std::string key = "k" + std::to_string(t);
        for (int i = 0; i < 40 && !failed; ++i) {
          if (!blobs_->Put(Req(key), content).ok()) failed = true;
          auto got = blobs_->Get(key);
          // Our own key exists until we delete it, and its object must be readable.
          if (!got.ok() || got->data != content) failed = true;
          if (!blobs_->Delete(key).ok()) failed = true;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_FALSE(failed.load()) << content.size() << " bytes";
    ExpectMetadataMatchesObjects();
    EXPECT_TRUE(StoredObjects().empty());
  }
}

// Peak resident memory of a forked child streaming `bytes` through PutStream and back through
// GetStream. Runs in a child so the measurement is not polluted by the rest of the test binary.
TEST_F(BlobCrashTest, LargePutStreamRunsInBoundedMemory) {
  // The 1 GiB (about 7 s here, fsync included); DOTDO_BLOB_TEST_STREAM_MIB=<n> overrides
  // the size, e.g. on a slow CI disk.
  const char* mib_env = std::getenv("DOTDO_BLOB_TEST_STREAM_MIB");
  const uint64_t mib = mib_env ? std::strtoull(mib_env, nullptr, 10) : 1024;
  const uint64_t bytes = (mib > 0 ? mib : 1024) << 20;
  Reopen(BlobOptions{}, /*sync=*/true);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto read_kb = [](const char* field) -> long {
      std::ifstream in("/proc/self/status");
      std::string line;
      while (std::getline(in, line)) {
        if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
      }
      return -1;
    };
    std::ofstream("/proc/self/clear_refs") << "5";  // resets the peak (VmHWM) to the current RSS
    const long base_kb = read_kb("VmRSS:");
    uint64_t produced = 0;
    std::string pattern(1 << 16, '\0');
    for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<char>(i * 131 + 7);
    internal::Sha256 expect;
    auto req = Req("big.bin");
    req.content_length = bytes;
    auto put = blobs_->PutStream(req, [&](char* buf, size_t cap) -> Result<size_t> {
      size_t n = std::min<uint64_t>({cap, pattern.size(), bytes - produced});
      std::memcpy(buf, pattern.data(), n);
      expect.Update(std::string_view(buf, n));
      produced += n;
      return n;
    });
    if (!put.ok() || put->size != bytes || put->hash != expect.FinishHex()) {
      std::fprintf(stderr, "put failed: %s\n", put.status().ToString().c_str());
      std::_Exit(1);
    }
    internal::Sha256 got;
    auto get = blobs_->GetStream("big.bin", [&](std::string_view c) {
      got.Update(c);
      return OkStatus();
    });
    if (!get.ok() || got.FinishHex() != put->hash) std::_Exit(2);
    const long peak_kb = read_kb("VmHWM:");
    std::fprintf(stderr, "streamed %llu MiB: resident %ld KiB before, peak %ld KiB\n",
                 static_cast<unsigned long long>(bytes >> 20), base_kb, peak_kb);
    std::_Exit(peak_kb - base_kb < 64 * 1024 ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1 = put failed, 2 = read-back mismatch, 3 = peak RSS grew by >= 64 MiB";
}


TEST_F(BlobCrashTest, CrashesDuringALifecycleTransitionKeepTheBlobReadable) {
  DOTDO_SKIP_WITHOUT_SYNC_POINTS();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto hot, blobs_->Put(Req("logs/a"), "cold bytes"));
  const BlobLifecycleRule rule{.id = "cold", .prefix = "logs/", .age_ms = 0, .action = BlobLifecycleAction::kTransition,
                           .storage_class = "INFREQUENT_ACCESS"};
  DOTDO_ASSERT_OK(blobs_->PutLifecycleRule(rule));
  // Crash after the cold copy is written, before the metadata moves: still hot, cold copy orphaned.
  CrashAt("blob.after_object_write");
  EXPECT_THAT(blobs_->ApplyLifecycle(clock_.NowMillis()), StatusIs(StatusCode::kUnavailable));
  EXPECT_EQ(blobs_->Head("logs/a")->storage_class, "STANDARD");
  EXPECT_EQ(blobs_->Get("logs/a")->data, "cold bytes");
  EXPECT_EQ(StoredObjects().size(), 2u);
  ExpectMetadataMatchesObjects();
  // Crash after the metadata moved, before the hot object is removed: cold, hot copy orphaned.
  CrashAt("blob.after_metadata_commit");
  EXPECT_THAT(blobs_->ApplyLifecycle(clock_.NowMillis()), StatusIs(StatusCode::kUnavailable));
  DOTDO_ASSERT_OK_AND_ASSIGN(auto cold, blobs_->Head("logs/a"));
  EXPECT_EQ(cold.storage_class, "INFREQUENT_ACCESS");
  EXPECT_EQ(blobs_->Get("logs/a")->data, "cold bytes");
  ExpectMetadataMatchesObjects();
  // The sweep removes the hot orphan only.
  Restart();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sweep, blobs_->SweepOrphans(WallNow() + 2 * kHour));
  EXPECT_EQ(sweep.removed, 1);
  EXPECT_EQ(StoredObjects(), std::vector<std::string>{cold.object_key});
  EXPECT_THAT(objects_->Head(hot.object_key), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(blobs_->ApplyLifecycle(clock_.NowMillis())->transitioned, 0);
}

TEST_F(BlobCrashTest, CrashAfterOverwriteCommitLeavesTheOldObjectAsAnOrphan) {
  DOTDO_SKIP_WITHOUT_SYNC_POINTS();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto v1, blobs_->Put(Req("k"), "version one"));
  CrashAt("blob.after_metadata_commit");
  EXPECT_THAT(blobs_->Put(Req("k"), "version two"), StatusIs(StatusCode::kUnavailable));
  // The overwrite committed; the old object was not removed yet.
  DOTDO_ASSERT_OK_AND_ASSIGN(auto v2, blobs_->Head("k"));
  EXPECT_EQ(v2.hash, internal::Sha256::Hex("version two"));
  EXPECT_EQ(blobs_->Get("k")->data, "version two");
  DOTDO_EXPECT_OK(objects_->Head(v1.object_key));
  EXPECT_EQ(Events().back().type, "cdc.update");
  ExpectMetadataMatchesObjects();
  Restart();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sweep, blobs_->SweepOrphans(WallNow() + 2 * kHour));
  EXPECT_EQ(sweep.removed, 1);
  EXPECT_EQ(StoredObjects(), std::vector<std::string>{v2.object_key});
}

}  // namespace
}  // namespace dotdo
