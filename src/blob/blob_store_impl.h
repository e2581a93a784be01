// BlobStore internals shared by its translation units: blob_store.cc (put/get/head/delete/list),
// blob_query.cc (Query), blob_signing.cc (presigned URLs), blob_lifecycle.cc (lifecycle rules,
// orphan sweep, stats). Write ordering and locking rules are the invariants in include/dotdo/blob.h;
// tests crash the write paths at the sync points "blob.after_object_write" (object stored, metadata
// not committed) and "blob.after_metadata_commit" (metadata committed, released object not removed).
#pragma once

#include <array>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "cdc/store_scaffold.h"
#include "core/database_internals.h"
#include "core/sync_point.h"
#include "core/encoding.h"
#include "dotdo/blob.h"
#include "sqlite/statement.h"

namespace dotdo {

class BlobStore::Impl {
 public:
  Impl(Database& db, ObjectStore& store, BlobOptions options) : db_(db), store_(store), options_(std::move(options)) {}

  // Per-object lock (invariant 3), shared by every BlobStore of this Database.
  std::mutex& ObjectLock(std::string_view object_key);

  // The row of `key`, or nullopt.
  Result<std::optional<BlobInfo>> ReadRow(std::string_view key);
  Result<BlobInfo> FromRow(const internal::Statement& st);
  Result<bool> ObjectReferenced(std::string_view object_key);
  // Object key of content `sha` in `storage_class` (content-addressed mode).
  static std::string AddressedKey(std::string_view sha, std::string_view storage_class);
  // `object_key` moved to (or out of) the cold area.
  static std::string KeyInClass(std::string_view object_key, std::string_view storage_class);

  // In one transaction: points `request.key` at `object_key` (adding a reference), releases the
  // previous object, appends the CDC event. *freed = an object whose last reference went away.
  // `verify`, when given, runs first inside the transaction (under the SQLite write lock).
  Result<BlobInfo> CommitPut(const BlobPutRequest& request, const std::string& object_key, const std::string& sha,
                             uint64_t size, std::string* freed, const std::function<Status()>& verify = nullptr);
  // Drops one reference inside the caller's transaction; true when the object row is gone.
  Result<bool> ReleaseObject(const std::string& object_key);
  // Removes the stored object when no row references it (and `may_drop`, if given, agrees), deciding
  // and deleting inside one write transaction under the object lock (invariant 4); true when it
  // removed the object. Inside a caller's transaction it does nothing (the sweep collects it).
  Result<bool> DropObjectIfUnreferenced(const std::string& object_key, const std::function<bool()>& may_drop = nullptr);
  // Deletes "tmp/" objects left by streamed puts that died (best effort, at Open).
  void RemoveStaleTempObjects();
  // Makes sure `object_key` is stored: present (Head) or written by `write`.
  Status EnsureStored(const std::string& object_key, const std::function<Status()>& write);
  // Writes one object under the given key (a put from bytes or from a stream).
  using ObjectWrite = std::function<Result<ObjectInfo>(const std::string& object_key)>;
  // Content-addressed put whose hash is known only once the bytes are stored: writes them to
  // "tmp/<ULID>" (the store's ETag is their SHA-256), moves them to their content address unless an
  // object already holds them, drops the temp object, commits.
  Result<BlobInfo> PutViaTemp(const BlobPutRequest& request, const ObjectWrite& write);
  // The content-addressed commit every such put ends with, under the object lock: `ensure(present)`
  // makes the object at `object_key` exist (present: it is referenced, so it does), then the
  // metadata commits; a commit that fails drops the object if nothing references it.
  Result<BlobInfo> CommitAddressed(const BlobPutRequest& request, const std::string& object_key,
                                   const std::string& sha, uint64_t size,
                                   const std::function<Status(bool present)>& ensure);
  // Put in non-content-addressed mode: a fresh "objects/<ULID>" per put.
  Result<BlobInfo> PutOwnObject(const BlobPutRequest& request, const ObjectWrite& write);
  // The common end of every put: the "blob.after_metadata_commit" sync point, then removal of the
  // object the put released (`freed`, may be empty).
  Result<BlobInfo> FinishPut(Result<BlobInfo> info, const std::string& freed);
  Status DeleteBlob(std::string_view key);
  Status TransitionBlob(const BlobInfo& blob, const std::string& storage_class);
  void TouchAccess(const BlobInfo& info);

  std::string UrlFor(std::string_view key) const;
  static Json CdcJson(const BlobInfo& info);

  // Reads never create the blob tables: false when the namespace has none (an empty store).
  Result<bool> Readable();
  // Writes create them on first use.
  Status Writable();

  Database& db_;
  ObjectStore& store_;
  const BlobOptions options_;
};

namespace internal {
// The blob store's name, table prefix and migrations; its one event table.
extern const StoreSpec kBlobSpec;
inline constexpr std::string_view kBlobsTable = "blobs";
// SELECT list matching BlobStore::Impl::FromRow.
extern const char* const kBlobColumns;
Status ValidateContentType(std::string_view content_type);
// A key a blob can have: an object key (ValidateObjectKey) in valid UTF-8; kInvalidArgument else.
Status ValidateBlobKey(std::string_view key);
// Exclusive upper bound of the keys starting with prefix (byte order); nullopt when unbounded.
std::optional<std::string> PrefixUpperBound(std::string_view prefix);
}  // namespace internal

}  // namespace dotdo
