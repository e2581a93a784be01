// Shared fixture for BlobStore tests: a manual clock, an in-memory namespace, a LocalObjectStore in
// a scratch directory, and helpers that check the crash-safety invariant (every blob row's object
// exists in the object store).
#pragma once

#include <memory>
#include <string>

#include "blob/blob_store_impl.h"
#include "dotdo/blob.h"
#include "dotdo/cdc.h"
#include "testing/test_util.h"

namespace dotdo::testing {

// A file-backed namespace "acme" under root/db with its object store (root/objects, unsynced) and
// blob store, as one process opens them.
struct FileBlobs {
  std::unique_ptr<Database> db;
  std::unique_ptr<LocalObjectStore> objects;
  std::unique_ptr<BlobStore> blobs;
};
inline Result<FileBlobs> OpenFileBlobs(const std::filesystem::path& root, DatabaseOptions db_options = {}) {
  FileBlobs o;
  DOTDO_ASSIGN_OR_RETURN(o.db, Database::Open(root / "db", "acme", std::move(db_options)));
  DOTDO_ASSIGN_OR_RETURN(o.objects, LocalObjectStore::Open(root / "objects", {.sync = false}));
  DOTDO_ASSIGN_OR_RETURN(o.blobs, BlobStore::Open(*o.db, *o.objects));
  return o;
}

inline constexpr char kSecret[] = "0123456789abcdef0123456789abcdef-test-secret";

class BlobFixture : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(BlobOptions{.signing_secret = kSecret, .url_base = "https://files.test/acme"}); }

  void Reopen(BlobOptions options, bool sync = true) {
    blobs_.reset();
    if (!db_) db_ = OpenMemoryDb(&clock_, "acme");
    if (!objects_ || sync != sync_) {
      auto s = LocalObjectStore::Open(dir_.path() / "objects", {.sync = sync});
      ASSERT_THAT(s, IsOk());
      objects_ = std::move(s).value();
      sync_ = sync;
    }
    auto b = BlobStore::Open(*db_, *objects_, std::move(options));
    ASSERT_THAT(b, IsOk());
    blobs_ = std::move(b).value();
    // The tables a first write would make, so the checks below can query them from the start.
    ASSERT_THAT(internal::EnsureStoreSchema(*db_, internal::kBlobSpec), IsOk());
  }

  BlobPutRequest Req(const std::string& key, const std::string& content_type = "", Json metadata = Json::object()) {
    BlobPutRequest r;
    r.key = key;
    r.content_type = content_type;
    r.metadata = std::move(metadata);
    return r;
  }

  // Every object the store holds under the BlobStore's prefixes.
  std::vector<std::string> StoredObjects() {
    std::vector<std::string> out;
    for (const char* prefix : {"blobs/", "cold/", "objects/", "tmp/"}) {
      auto r = objects_->List({.prefix = prefix, .limit = 10000});
      EXPECT_THAT(r, IsOk());
      if (r.ok()) {
        for (auto& o : r->objects) out.push_back(o.key);
      }
    }
    return out;
  }

  int64_t RefCount(const std::string& object_key) {
    auto r = db_->QueryReadOnly("SELECT ref_count FROM blob_objects WHERE object_key = ?1", {object_key});
    EXPECT_THAT(r, IsOk());
    return r.ok() && !r->empty() ? (*r)[0]["ref_count"].get<int64_t>() : 0;
  }

  // Invariant: metadata never names a missing object, and ref counts equal the referencing rows.
  void ExpectMetadataMatchesObjects() {
    auto rows = db_->QueryReadOnly(
        "SELECT o.object_key AS k, o.ref_count AS refs, (SELECT COUNT(*) FROM blob_blobs b WHERE b.object_key = "
        "o.object_key) AS n FROM blob_objects o");
    ASSERT_THAT(rows, IsOk());
    for (const auto& r : *rows) {
      EXPECT_EQ(r["refs"], r["n"]) << r.dump();
      EXPECT_THAT(objects_->Head(r["k"].get<std::string>()), IsOk()) << r.dump();
    }
  }

  std::vector<UnifiedEvent> Events() {
    auto e = ChangeFeed(*db_).Read(0, 10000);
    EXPECT_THAT(e, IsOk());
    return e.ok() ? *e : std::vector<UnifiedEvent>{};
  }

  ScratchDir dir_;
  ManualClock clock_;
  bool sync_ = true;
  std::unique_ptr<Database> db_;
  std::unique_ptr<LocalObjectStore> objects_;
  std::unique_ptr<BlobStore> blobs_;
};

}  // namespace dotdo::testing
