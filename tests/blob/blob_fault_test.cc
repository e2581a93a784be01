// BlobStore under faults of both places it writes. The namespace (fault-injecting VFS): failing the
// Nth write or sync of a put returns the fault's typed status and leaves the blob with its object
// and exactly one event, or not at all. The object store (FaultyObjectStore): failing the Nth
// mutating object call of a put, a streamed put, an overwrite or a delete — or a streamed put in
// the middle of its bytes — returns kUnavailable, never leaves metadata naming a missing object,
// has an event iff the metadata changed, and the retry succeeds.
#include <chrono>
#include <cstring>
#include <functional>

#include "blob_test_util.h"
#include "objectstore/faulty_object_store.h"
#include "testing/fault_util.h"
#include "core/sha256.h"

namespace dotdo {
namespace {

using internal::FaultError;
using internal::FaultOp;
using internal::FaultyObjectStore;
using internal::ObjectFault;
using internal::ObjectOp;
using ::dotdo::testing::FaultLoopOptions;
using ::dotdo::testing::ForEachFaultPosition;
using ::dotdo::testing::IsOk;
using ::dotdo::testing::ScratchDir;
using ::dotdo::testing::StatusIs;

BlobPutRequest Req(const std::string& key) {
  BlobPutRequest r;
  r.key = key;
  return r;
}

using ::dotdo::testing::EventsFor;

// Invariant 3 of blob.h: every metadata row names an object that exists; ref counts match.
void ExpectMetadataNamesOnlyExistingObjects(Database& db, ObjectStore& objects) {
  ASSERT_THAT(internal::EnsureStoreSchema(db, internal::kBlobSpec), IsOk());  // a failed first put made none
  auto rows = db.QueryReadOnly(
      "SELECT o.object_key AS k, o.ref_count AS refs, (SELECT COUNT(*) FROM blob_blobs b WHERE b.object_key = "
      "o.object_key) AS n FROM blob_objects o");
  ASSERT_THAT(rows, IsOk());
  for (const auto& r : *rows) {
    EXPECT_EQ(r["refs"], r["n"]) << r.dump();
    EXPECT_THAT(objects.Head(r["k"].get<std::string>()), IsOk()) << r.dump();
  }
}

// --- Faults of the namespace's SQLite file --------------------------------------------------------

class BlobVfsFaultTest : public ::testing::TestWithParam<::dotdo::testing::DiskFaultCase> {};

TEST_P(BlobVfsFaultTest, PutIsAllOrNothingAndTheRetrySucceeds) {
  const std::string bytes(5000, 'z');
  std::unique_ptr<LocalObjectStore> objects;
  const int faulted = ForEachFaultPosition(
      GetParam().options,
      [&](Database& db) {
        auto s = LocalObjectStore::Open(db.path().parent_path() / "objects");
        ASSERT_THAT(s, IsOk());
        objects = std::move(s).value();
        DOTDO_ASSERT_OK_AND_ASSIGN(auto blobs, BlobStore::Open(db, *objects));
        DOTDO_ASSERT_OK(blobs->Put(Req("a"), "first"));
      },
      [&](Database& db) -> Status {
        DOTDO_ASSIGN_OR_RETURN(auto blobs, BlobStore::Open(db, *objects));
        return blobs->Put(Req("k"), bytes).status();
      },
      [&](Database& db, const Status& st, bool) {
        DOTDO_ASSERT_OK_AND_ASSIGN(auto blobs, BlobStore::Open(db, *objects));
        if (!st.ok()) {
          EXPECT_THAT(blobs->Head("k"), StatusIs(StatusCode::kNotFound));
          EXPECT_TRUE(EventsFor(db, "k").empty());
          DOTDO_ASSERT_OK(blobs->Put(Req("k"), bytes));
        }
      },
      [&](Database& db, const Status&, bool) {
        DOTDO_ASSERT_OK_AND_ASSIGN(auto blobs, BlobStore::Open(db, *objects));
        DOTDO_ASSERT_OK_AND_ASSIGN(auto got, blobs->Get("k"));
        EXPECT_EQ(got.data, bytes);
        const auto events = EventsFor(db, "k");
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].type, "cdc.insert");
        ExpectMetadataNamesOnlyExistingObjects(db, *objects);
      });
  EXPECT_GE(faulted, 1);
}

INSTANTIATE_TEST_SUITE_P(Faults, BlobVfsFaultTest, ::testing::ValuesIn(::dotdo::testing::kDiskFaultCases),
                         ::dotdo::testing::DiskFaultCaseName);

// --- Faults of the object store ------------------------------------------------------------------

class BlobObjectFaultTest : public ::testing::Test {
 protected:
  // A fresh namespace and store per run of the loop.
  void Fresh() {
    blobs_.reset();
    faulty_.reset();
    db_ = testing::OpenMemoryDb(nullptr, "blobfault");
    dir_ = std::make_unique<ScratchDir>();
    auto s = LocalObjectStore::Open(dir_->path() / "objects");
    ASSERT_THAT(s, IsOk());
    base_ = std::move(s).value();
    faulty_ = std::make_unique<FaultyObjectStore>(*base_);
    auto b = BlobStore::Open(*db_, *faulty_);
    ASSERT_THAT(b, IsOk());
    blobs_ = std::move(b).value();
  }

  // For N = 1, 2, ...: Fresh(), setup, fail the Nth mutating object call of op, check(status,
  // faulted), the invariant, then a retry with no fault that must succeed. Returns the faulted runs.
  int Loop(const std::function<void()>& setup, const std::function<Status()>& op,
           const std::function<void(const Status&, bool)>& check) {
    int faulted_runs = 0;
    for (int n = 1; n <= 50; ++n) {
      SCOPED_TRACE("object store fault at mutating call " + std::to_string(n));
      Fresh();
      if (::testing::Test::HasFatalFailure()) return faulted_runs;
      setup();
      faulty_->Reset();
      faulty_->Arm({.nth = n});
      const Status st = op();
      const bool faulted = faulty_->injected() > 0;
      faulty_->Disarm();
      if (!faulted) {
        EXPECT_THAT(st, IsOk());
      } else if (!st.ok()) {
        EXPECT_THAT(st, StatusIs(StatusCode::kUnavailable, "injected object store fault"));
      }
      check(st, faulted);
      ExpectMetadataNamesOnlyExistingObjects(*db_, *base_);
      if (::testing::Test::HasFatalFailure()) return faulted_runs;
      DOTDO_EXPECT_OK(op()) << "the retry";
      ExpectMetadataNamesOnlyExistingObjects(*db_, *base_);
      if (!faulted) return faulted_runs;
      ++faulted_runs;
    }
    ADD_FAILURE() << "the operation still reached a fault after 50 runs";
    return faulted_runs;
  }

  std::unique_ptr<Database> db_;
  std::unique_ptr<ScratchDir> dir_;
  std::unique_ptr<LocalObjectStore> base_;
  std::unique_ptr<FaultyObjectStore> faulty_;
  std::unique_ptr<BlobStore> blobs_;
};

TEST_F(BlobObjectFaultTest, FailedPutStoresNoMetadataAndNoEvent) {
  for (const std::string& bytes : {std::string("small bytes"), std::string((1 << 20) + 3, 'L')}) {
    SCOPED_TRACE(std::to_string(bytes.size()) + " bytes");
    const int faulted = Loop([] {}, [&] { return blobs_->Put(Req("k"), bytes).status(); },
                             [&](const Status& st, bool) {
                               EXPECT_EQ(blobs_->Head("k").ok(), st.ok());
                               EXPECT_EQ(EventsFor(*db_, "k").size(), st.ok() ? 1u : 0u);
                             });
    EXPECT_GE(faulted, 1);
  }
}

TEST_F(BlobObjectFaultTest, FailedStreamedPutStoresNoMetadataAndNoEvent) {
  const std::string bytes(200'000, 's');
  auto stream = [&]() {
    auto pos = std::make_shared<size_t>(0);
    return [&bytes, pos](char* buf, size_t cap) -> Result<size_t> {
      const size_t n = std::min(cap, bytes.size() - *pos);
      std::memcpy(buf, bytes.data() + *pos, n);
      *pos += n;
      return n;
    };
  };
  const int faulted = Loop([] {}, [&] { return blobs_->PutStream(Req("s"), stream()).status(); },
                           [&](const Status& st, bool) {
                             EXPECT_EQ(blobs_->Head("s").ok(), st.ok());
                             EXPECT_EQ(EventsFor(*db_, "s").size(), st.ok() ? 1u : 0u);
                           });
  EXPECT_GE(faulted, 1);
}

TEST_F(BlobObjectFaultTest, StreamFailingMidwayStoresNothing) {
  Fresh();
  const std::string bytes(300'000, 'm');
  size_t pos = 0;
  faulty_->Arm({.op = ObjectOp::kPutStream, .after_bytes = 100'000});
  EXPECT_THAT(blobs_->PutStream(Req("m"), [&](char* buf, size_t cap) -> Result<size_t> {
    const size_t n = std::min(cap, bytes.size() - pos);
    std::memcpy(buf, bytes.data() + pos, n);
    pos += n;
    return n;
  }),
              StatusIs(StatusCode::kUnavailable, "injected object store fault"));
  EXPECT_GE(pos, 100'000u);
  EXPECT_LT(pos, bytes.size()) << "the stream was cut before its end";
  EXPECT_THAT(blobs_->Head("m"), StatusIs(StatusCode::kNotFound));
  EXPECT_TRUE(EventsFor(*db_, "m").empty());
  DOTDO_ASSERT_OK_AND_ASSIGN(auto listed, base_->List());
  EXPECT_TRUE(listed.objects.empty()) << "an interrupted put stores nothing";
}

TEST_F(BlobObjectFaultTest, FailedOverwriteKeepsOneWholeVersion) {
  const int faulted = Loop([&] { DOTDO_ASSERT_OK(blobs_->Put(Req("k"), "version one")); },
                           [&] { return blobs_->Put(Req("k"), "version two").status(); },
                           [&](const Status&, bool) {
                             DOTDO_ASSERT_OK_AND_ASSIGN(auto info, blobs_->Head("k"));
                             const bool two = info.hash == internal::Sha256::Hex("version two");
                             EXPECT_TRUE(two || info.hash == internal::Sha256::Hex("version one"));
                             DOTDO_ASSERT_OK_AND_ASSIGN(auto got, blobs_->Get("k"));
                             EXPECT_EQ(got.data, two ? "version two" : "version one");
                             EXPECT_EQ(EventsFor(*db_, "k").size(), two ? 2u : 1u);
                           });
  EXPECT_GE(faulted, 1);
}

TEST_F(BlobObjectFaultTest, DeleteWhoseObjectRemovalFailsIsCommittedAndLeavesAnOrphan) {
  Fresh();
  DOTDO_ASSERT_OK_AND_ASSIGN(auto info, blobs_->Put(Req("k"), "bytes"));
  faulty_->Arm({.op = ObjectOp::kDelete});
  // Write ordering (blob.h, invariant 2): the metadata commits first, the object removal fails.
  EXPECT_THAT(blobs_->Delete("k"), StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(blobs_->Head("k"), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(EventsFor(*db_, "k").back().type, "cdc.delete");
  DOTDO_EXPECT_OK(base_->Head(info.object_key));
  const int64_t later = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count() + 2 * 3'600'000;
  DOTDO_ASSERT_OK_AND_ASSIGN(auto sweep, blobs_->SweepOrphans(later));
  EXPECT_EQ(sweep.removed, 1);
  EXPECT_THAT(base_->Head(info.object_key), StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace dotdo
