// Two writers of one namespace, as two processes are: each with its own Database connection,
// ObjectStore and BlobStore (so no in-process lock is shared). A put of bytes that another key
// already holds, racing a delete of that other key, must never commit a reference to an object the
// delete removed (blob.h, invariant 4). First the interleaving that used to lose the blob, forced
// with a sync point; then real processes doing it many times.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "core/sync_point.h"
#include "dotdo/blob.h"
#include "blob_test_util.h"

namespace dotdo {
namespace {

namespace fs = std::filesystem;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;

using Writer = testing::FileBlobs;
Result<Writer> OpenWriter(const fs::path& root) { return testing::OpenFileBlobs(root, {.busy_timeout_ms = 20000}); }

BlobPutRequest Req(const std::string& key) {
  BlobPutRequest r;
  r.key = key;
  return r;
}

class BlobRaceTest : public ::testing::TestWithParam<size_t> {  // param: blob size
 protected:
  void TearDown() override { internal::SyncPoints::ClearAll(); }
};

TEST_P(BlobRaceTest, PutOfStoredBytesSurvivesADeleteOfTheirLastOtherKeyInAnotherProcess) {
  if (!internal::SyncPoints::Enabled()) GTEST_SKIP() << "built with DOTDO_SYNC_POINTS=OFF";
  ScratchDir dir;
  DOTDO_ASSERT_OK_AND_ASSIGN(Writer a, OpenWriter(dir.path()));
  DOTDO_ASSERT_OK_AND_ASSIGN(Writer b, OpenWriter(dir.path()));
  const std::string bytes(GetParam(), 'r');
  for (bool streamed : {false, true}) {
    SCOPED_TRACE(streamed ? "streamed put" : "put");
    DOTDO_ASSERT_OK(b.blobs->Put(Req("seed"), bytes));
    // Between A's "already stored?" decision and its commit, B deletes the last other key with
    // these bytes, which removes their object.
    std::atomic<int> fired{0};
    internal::SyncPoints::Set("blob.after_object_write", [&]() -> Status {
      if (fired++ > 0) return OkStatus();
      return b.blobs->Delete("seed");
    });
    Result<BlobInfo> put = InternalError("not run");
    if (streamed) {
      size_t at = 0;
      put = a.blobs->PutStream(Req("p"), [&](char* buf, size_t cap) -> Result<size_t> {
        const size_t n = std::min(cap, bytes.size() - at);
        std::copy_n(bytes.data() + at, n, buf);
        at += n;
        return n;
      });
    } else {
      put = a.blobs->Put(Req("p"), bytes);
    }
    internal::SyncPoints::ClearAll();
    ASSERT_THAT(put, IsOk());
    EXPECT_EQ(fired.load(), 1);
    EXPECT_THAT(b.blobs->Head("seed"), ::dotdo::testing::StatusIs(StatusCode::kNotFound));
    DOTDO_ASSERT_OK_AND_ASSIGN(Blob got, a.blobs->Get("p"));
    EXPECT_EQ(got.data, bytes);
    DOTDO_ASSERT_OK_AND_ASSIGN(Blob via_b, b.blobs->Get("p"));
    EXPECT_EQ(via_b.data, bytes);
    DOTDO_ASSERT_OK(a.blobs->Delete("p"));
  }
}

// Below and above the size where a put hashes while it writes (1 MiB).
INSTANTIATE_TEST_SUITE_P(Sizes, BlobRaceTest, ::testing::Values(size_t{4096}, size_t{(1 << 20) + 7}));

TEST(BlobRaceProcessTest, TwoProcessesPuttingAndDeletingTheSameBytesNeverLoseABlob) {
  ScratchDir dir;
  const std::string bytes(3000, 's');
  constexpr int kRounds = 400;
  { DOTDO_ASSERT_OK(OpenWriter(dir.path())); }  // schema in place before both start
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // puts p<i> (bytes already stored most of the time), checks each right away
    auto w = OpenWriter(dir.path());
    if (!w.ok()) std::_Exit(10);
    for (int i = 0; i < kRounds; ++i) {
      const std::string key = "p" + std::to_string(i);
      if (!w->blobs->Put(Req(key), bytes).ok()) std::_Exit(11);
      auto got = w->blobs->Get(key);
      if (!got.ok() || got->data != bytes) std::_Exit(12);
      if (!w->blobs->Delete(key).ok()) std::_Exit(13);
    }
    std::_Exit(0);
  }
  DOTDO_ASSERT_OK_AND_ASSIGN(Writer w, OpenWriter(dir.path()));
  int status = 0;
  int rounds = 0;
  while (waitpid(child, &status, WNOHANG) == 0) {  // puts and deletes "seed" with the same bytes
    ASSERT_THAT(w.blobs->Put(Req("seed"), bytes), IsOk());
    ASSERT_THAT(w.blobs->Delete("seed"), IsOk());
    ++rounds;
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the putting process saw a lost or failed blob (exit code)";
  EXPECT_GT(rounds, 0);
  DOTDO_ASSERT_OK_AND_ASSIGN(auto stats, w.blobs->Stats());
  EXPECT_EQ(stats.blobs, 0);
  EXPECT_EQ(stats.objects, 0);
}

}  // namespace
}  // namespace dotdo
