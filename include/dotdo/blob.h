// BlobStore: binary objects whose bytes live in an ObjectStore and whose metadata (key, object key,
// content type, size, SHA-256, ref count, user metadata, timestamps, storage class) lives in the
// namespace's SQLite `blob_` tables — never the bytes. Content-addressed by default: the same bytes
// under two keys are stored once at `blobs/<sha[0:2]>/<sha>` with a reference count. Presigned
// URLs (HMAC-SHA256), lifecycle rules (age + prefix → storage class / delete), an orphan sweep and
// CDC events (store "blob", table "blobs", metadata only) complete the seed's BlobStore.
//
// Crash safety (write ordering):
//   1. A put writes the object first and commits the metadata second; a crash in between leaves at
//      worst an unreferenced object, which SweepOrphans removes after the grace period.
//   2. A delete (or an overwrite, or a lifecycle transition) commits the metadata first and removes
//      the no-longer-referenced object second; a crash in between again leaves only an orphan.
//   3. So metadata never names a missing object. Within the process, object creation and removal for
//      one object key serialize on a per-object lock, so a concurrent put of the same bytes and a
//      delete of the last reference cannot lose the object.
//   4. Across processes: an object is removed only inside a write transaction that found it
//      unreferenced, and a put (or transition) commits a reference only inside a write transaction
//      that found the object stored — writing it again if another process removed it since. Both
//      hold SQLite's write lock, so the decision and the reference are one atomic step.
//   A delete or overwrite made inside a caller's transaction leaves the released object in place
//   (the caller may still roll back); SweepOrphans removes it later.
//
// Thread-safety: a BlobStore may be used from several threads; metadata writes serialize on the
// Database. Ownership: the BlobStore holds references to the Database and the ObjectStore, which
// must outlive it. Several processes may share a namespace (invariant 4).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dotdo/database.h"
#include "dotdo/export.h"
#include "dotdo/page.h"
#include "dotdo/object_store.h"
#include "dotdo/status.h"

namespace dotdo {

struct BlobOptions {
  // Store objects at blobs/<sha[0:2]>/<sha> and share them between keys (dedup). When false each put
  // gets its own object (objects/<ulid>). Default true.
  bool content_addressed = true;
  // HMAC key for presigned URLs; at least 32 bytes when set. Default empty: signing and verifying
  // fail with kFailedPrecondition.
  std::string signing_secret;
  // Prefix of blob URLs, e.g. "https://files.example.com/acme/blobs" (no trailing '/').
  // BlobInfo::url = url_base + "/" + percent-encoded key. Default empty: URLs are the bare
  // "/<key>" path.
  std::string url_base;
  // Unreferenced objects younger than this are left alone by SweepOrphans (they may belong to a put
  // in flight). Default 1 h.
  int64_t orphan_grace_ms = 3'600'000;
  // Record the last read of each blob (last_accessed_at), at most once per granularity so reads stay
  // read-only in the common case. Default true, granularity 1 h.
  bool track_last_access = true;
  int64_t last_access_granularity_ms = 3'600'000;
  // Largest accepted blob. Default 5 TiB (S3's object limit).
  uint64_t max_blob_size = 5ull << 40;
};

// What put/head/list/query return; JSON names are the seed's ($id, contentType, ...).
struct BlobInfo {
  std::string id;            // "$id": ULID assigned at first put of the key
  std::string key;
  uint64_t size = 0;
  std::string hash;          // hex SHA-256 of the bytes
  std::string content_type;  // "contentType"
  std::string url;
  Json metadata = Json::object();
  std::string storage_class;  // "STANDARD" | "INFREQUENT_ACCESS"
  std::string object_key;     // where the bytes are in the ObjectStore
  int64_t created_at = 0;     // ms since epoch (database clock)
  int64_t updated_at = 0;     // last put of this key
  int64_t last_accessed_at = 0;
};
DOTDO_EXPORT Json BlobInfoToJson(const BlobInfo& info);

struct BlobPutRequest {
  // Blob key; same grammar as object keys (ValidateObjectKey).
  std::string key;
  // Default "application/octet-stream".
  std::string content_type;
  // A JSON object, at most 64 KiB serialized. Default {}.
  Json metadata = Json::object();
  // Declared length for PutStream: a stream of any other length fails with kInvalidArgument and
  // stores nothing. Default: not declared.
  std::optional<uint64_t> content_length;
};

struct Blob {
  BlobInfo info;
  std::string data;
};

struct BlobListOptions {
  std::string prefix;   // default: all keys
  int64_t limit = 100;  // 1..1000, default 100
  std::string cursor;   // next_cursor of the previous page; default: first page
};
// A page of blobs in key order (dotdo/page.h).
using BlobPage = Page<BlobInfo>;

// Where clause: {"<field>": <value> | {"$op": <value>, ...}, ...}, fields ANDed; $and, $or and $not
// combine filters. The language, type rules and limits are the document store's (docs/formats/blob.md).
// Fields: key, size, hash, contentType, storageClass, createdAt, updatedAt, lastAccessedAt (ms or an
// ISO-8601 string), and metadata.<path> (JsonPath grammar). Operators: $eq $ne $gt $gte $lt $lte $in
// $nin $exists $like.
struct BlobQuery {
  Json where = Json::object();
  int64_t limit = 100;  // 1..1000, default 100
};

struct BlobSignedUrlOptions {
  int64_t expires_in_ms = 3'600'000;  // 1 s .. 7 days, default 1 h
  std::string disposition;            // Content-Disposition to serve with, e.g. "attachment"; default none
};
struct BlobUploadUrlOptions {
  std::string key;
  std::string content_type;           // required Content-Type of the upload; default: any
  uint64_t max_size = 0;              // largest accepted body, 1..max_blob_size; required
  int64_t expires_in_ms = 3'600'000;  // 1 s .. 7 days, default 1 h
};
// A request presented to the server against a presigned URL.
struct BlobSignedRequest {
  std::string method;  // "GET" | "PUT" (HEAD is accepted for GET URLs)
  std::string url;     // as received: url_base + "/" + encoded key + "?" + query
  int64_t now_ms = 0;
  std::optional<uint64_t> content_length;  // required for PUT
  std::optional<std::string> content_type;
};
struct BlobVerifiedRequest {
  std::string method;  // the signed method
  std::string key;
  int64_t expires_at_ms = 0;
  std::string disposition;
  std::string content_type;
  uint64_t max_size = 0;
};

enum class BlobLifecycleAction { kTransition, kDelete };
struct BlobLifecycleRule {
  std::string id;        // [A-Za-z0-9_.-]{1,64}
  std::string prefix;    // keys starting with this; default all
  int64_t age_ms = 0;    // applies to blobs whose last put is at least this old (>= 0)
  BlobLifecycleAction action = BlobLifecycleAction::kTransition;
  std::string storage_class;  // target class for kTransition
};
struct BlobLifecycleReport {
  int64_t transitioned = 0;
  int64_t deleted = 0;
};
struct BlobSweepReport {
  int64_t removed = 0;        // unreferenced objects removed
  int64_t removed_bytes = 0;
  int64_t kept_in_grace = 0;  // unreferenced but younger than the grace period
};
struct BlobStats {
  int64_t blobs = 0;
  int64_t logical_bytes = 0;  // sum of blob sizes
  int64_t objects = 0;
  int64_t stored_bytes = 0;   // sum of distinct object sizes
};

class DOTDO_EXPORT BlobStore {
 public:
  // Validates options and creates/migrates the blob_ tables.
  static Result<std::unique_ptr<BlobStore>> Open(Database& db, ObjectStore& objects, BlobOptions options = {});
  ~BlobStore();
  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;

  // Creates or replaces the blob under request.key (cdc.insert / cdc.update).
  Result<BlobInfo> Put(const BlobPutRequest& request, std::string_view data);
  // Same, streaming from reader in bounded memory (1 MiB buffer); checks request.content_length.
  Result<BlobInfo> PutStream(const BlobPutRequest& request, const ObjectReader& reader);

  Result<Blob> Get(std::string_view key);
  // Streams the bytes to writer; returns the metadata.
  Result<BlobInfo> GetStream(std::string_view key, const ObjectWriter& writer);
  Result<BlobInfo> Head(std::string_view key);
  // Removes the blob (cdc.delete); the object goes when its last reference does. Missing: kNotFound.
  Status Delete(std::string_view key);
  Result<BlobPage> List(const BlobListOptions& options = {});
  Result<std::vector<BlobInfo>> Query(const BlobQuery& query);

  // Presigned URLs (see docs/formats/blob.md for the canonical string).
  Result<std::string> GetSignedUrl(std::string_view key, const BlobSignedUrlOptions& options = {});
  Result<std::string> GetUploadUrl(const BlobUploadUrlOptions& options);
  // kPermissionDenied for expired, tampered, wrong-method, wrong-key, over-size or wrong-type
  // requests; kInvalidArgument for a URL that is not a presigned URL at all.
  Result<BlobVerifiedRequest> VerifySignedRequest(const BlobSignedRequest& request);

  // Lifecycle rules are persisted in blob_lifecycle_rules; adding an existing id replaces it.
  Status PutLifecycleRule(const BlobLifecycleRule& rule);
  Status RemoveLifecycleRule(std::string_view id);
  Result<std::vector<BlobLifecycleRule>> ListLifecycleRules();
  // Applies every rule as of now_ms (delete rules first). Transitions move the bytes to the cold
  // area of the object store (key prefix "cold/", storage class INFREQUENT_ACCESS) and back.
  Result<BlobLifecycleReport> ApplyLifecycle(int64_t now_ms);
  // Removes objects no blob references whose last write is older than now_ms - orphan_grace_ms
  // (now_ms is wall-clock time, like the object store's timestamps).
  Result<BlobSweepReport> SweepOrphans(int64_t now_ms);
  Result<BlobStats> Stats();

  // Implementation detail, defined in src/blob (public only so its helpers can name it).
  class Impl;

 private:
  explicit BlobStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dotdo
