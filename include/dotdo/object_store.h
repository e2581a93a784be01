// ObjectStore: the S3-shaped object storage interface that blobs, Parquet files (warm tier) and
// Iceberg metadata (cold tier) are written through, and LocalObjectStore, the embedded default that
// keeps objects in a directory, and the S3-compatible S3ObjectStore (AWS S3, R2, MinIO, ...) behind
// the same interface.
//
// Semantics every implementation follows:
//   1. A Put (bytes, reader or multipart completion) is atomic: readers see the old object or the
//      whole new one, never a prefix; a failed or interrupted put leaves the previous object intact.
//   2. ETag = lowercase hex SHA-256 of the object's bytes (64 characters) for single puts. An object
//      assembled by CompleteMultipartUpload has ETag = hex SHA-256 of the concatenated binary
//      SHA-256 digests of its parts, followed by "-<number of parts>" (S3's multipart convention with
//      SHA-256 in place of MD5), so a multipart ETag is never mistaken for a content hash.
//   3. Preconditions (if_match / if_none_match) are checked atomically with the write they guard; a
//      failed one is kFailedPrecondition with a message starting "precondition failed (412)".
//   4. List returns keys in byte-wise (UTF-8 binary) order, like S3.
//
// Key grammar (ValidateObjectKey): 1..1024 bytes; segments separated by '/' are non-empty and are
// neither "." nor ".."; no leading '/', no backslash, no NUL or other control characters.
// Violations are kInvalidArgument, so no key can name anything outside the store.
//
// Thread-safety: ObjectStore implementations are safe to call from several threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dotdo/export.h"
#include "dotdo/status.h"

namespace dotdo {

// Pulls the next bytes of a streamed upload into buf (capacity cap). Returns the number of bytes
// written, 0 at the end of the stream, or an error that aborts the upload (nothing is stored).
using ObjectReader = std::function<Result<size_t>(char* buf, size_t cap)>;
// Receives consecutive chunks of a streamed download; an error aborts the download.
using ObjectWriter = std::function<Status(std::string_view chunk)>;
// Maps the hex SHA-256 of an object's bytes to the key it is stored under (PutAddressed).
using AddressFn = std::function<std::string(std::string_view sha256_hex)>;

// Storage classes understood by the stores: "STANDARD" (default) and "INFREQUENT_ACCESS" (R2's
// infrequent-access class; the cold tier). Anything else is kInvalidArgument.
DOTDO_EXPORT Status ValidateStorageClass(std::string_view storage_class);
inline constexpr std::string_view kStorageClassStandard = "STANDARD";
inline constexpr std::string_view kStorageClassInfrequentAccess = "INFREQUENT_ACCESS";

// Checks the key grammar above; kInvalidArgument naming the rule that failed.
DOTDO_EXPORT Status ValidateObjectKey(std::string_view key);
// User metadata names: [A-Za-z0-9_.-]{1,128}; values up to 2048 bytes; at most 64 entries.
DOTDO_EXPORT Status ValidateObjectMetadata(const std::map<std::string, std::string>& metadata);

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;                             // see invariant 2
  std::string content_type;                     // default "application/octet-stream"
  std::map<std::string, std::string> metadata;  // user metadata
  std::string storage_class;                    // "STANDARD" unless set
  int64_t last_modified_ms = 0;                 // wall-clock ms since the epoch of the last write
};

struct ObjectPutOptions {
  // Default "application/octet-stream" when empty.
  std::string content_type;
  // User metadata (see ValidateObjectMetadata). Default empty.
  std::map<std::string, std::string> metadata;
  // Default "STANDARD" when empty.
  std::string storage_class;
  // Only write when the current object's ETag equals this. Default empty (no condition).
  std::string if_match;
  // Only write when no object exists under the key (S3's If-None-Match: *). Default false.
  bool if_none_match = false;
};

struct ObjectGetOptions {
  // First byte to return. Default 0. Past the end of the object: kOutOfRange.
  uint64_t offset = 0;
  // Bytes to return from offset; clipped at the end of the object. Default: to the end.
  std::optional<uint64_t> length;
  // Only read when the object's ETag equals this. Default empty (no condition).
  std::string if_match;
};

struct ObjectDeleteOptions {
  // Only delete when the object's ETag equals this; a missing object is then kNotFound.
  // Default empty: deleting a missing key succeeds (S3 semantics).
  std::string if_match;
};

struct ObjectCopyOptions {
  // Replace the destination's content type / user metadata / storage class; default: the source's.
  std::optional<std::string> content_type;
  std::optional<std::map<std::string, std::string>> metadata;
  std::optional<std::string> storage_class;
  // Only copy when the source's ETag equals this. Default empty.
  std::string if_source_match;
  // Only copy when the destination does not exist. Default false.
  bool if_none_match = false;
};

struct ObjectListOptions {
  // Only keys starting with this. Default empty (all keys).
  std::string prefix;
  // When non-empty, keys whose remainder after prefix contains the delimiter are rolled up into
  // common_prefixes (prefix + remainder up to and including the delimiter). Default empty.
  std::string delimiter;
  // Objects + common prefixes per page, 1..10000. Default 1000.
  int64_t limit = 1000;
  // next_continuation of the previous page; empty for the first page. Opaque.
  std::string continuation;
};

struct ObjectListResult {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> common_prefixes;
  // Non-empty when more entries may follow; pass it back as ObjectListOptions::continuation.
  std::string next_continuation;
};

struct ObjectCompletedPart {
  int part_number = 0;  // 1..10000
  std::string etag;     // as returned by UploadPart
};

class DOTDO_EXPORT ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  virtual Result<ObjectInfo> Put(std::string_view key, std::string_view data, const ObjectPutOptions& options = {}) = 0;
  // Streams the object from reader in bounded memory.
  virtual Result<ObjectInfo> PutStream(std::string_view key, const ObjectReader& reader,
                                       const ObjectPutOptions& options = {}) = 0;

  // Content-addressed put: stores data under key_for(hex SHA-256 of data), e.g. "blobs/ab/ab…", and
  // returns its info (info.key is that key, info.etag the SHA-256). An existing object under the
  // key is replaced (by construction it holds the same bytes). An invalid key is kInvalidArgument
  // and stores nothing. The default implementation hashes, then calls Put; LocalObjectStore hashes
  // while it writes and syncs, so the hash costs no extra latency.
  virtual Result<ObjectInfo> PutAddressed(const AddressFn& key_for, std::string_view data,
                                          const ObjectPutOptions& options = {});

  // The object's bytes (or the range in options). Missing: kNotFound.
  virtual Result<std::string> Get(std::string_view key, const ObjectGetOptions& options = {}) = 0;
  // Streams the bytes (or the range) to writer in chunks; returns the object's info.
  virtual Result<ObjectInfo> GetStream(std::string_view key, const ObjectWriter& writer,
                                       const ObjectGetOptions& options = {}) = 0;
  virtual Result<ObjectInfo> Head(std::string_view key) = 0;
  virtual Result<ObjectListResult> List(const ObjectListOptions& options = {}) = 0;
  virtual Status Delete(std::string_view key, const ObjectDeleteOptions& options = {}) = 0;
  virtual Result<ObjectInfo> Copy(std::string_view source_key, std::string_view dest_key,
                                  const ObjectCopyOptions& options = {}) = 0;

  // Multipart upload: parts (1..10000, any order, re-uploadable) are stored aside and assembled
  // atomically by Complete. options (content type, metadata, preconditions) apply at completion.
  virtual Result<std::string> CreateMultipartUpload(std::string_view key, const ObjectPutOptions& options = {}) = 0;
  // Returns the part's ETag (hex SHA-256 of the part).
  virtual Result<std::string> UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                                         std::string_view data) = 0;
  // parts: ascending part numbers, each with the ETag UploadPart returned.
  virtual Result<ObjectInfo> CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                                     const std::vector<ObjectCompletedPart>& parts) = 0;
  virtual Status AbortMultipartUpload(std::string_view key, std::string_view upload_id) = 0;
};

struct LocalObjectStoreOptions {
  // fsync data, sidecar and directories before a write returns, so an acknowledged write survives
  // power loss. Default true. Turning it off keeps atomicity (rename) but not durability.
  bool sync = true;
  // With sync on, also fsync each sidecar and its directory. Default true. When false the sidecar is
  // still replaced atomically (rename) but not synced: after power loss it may be stale or missing
  // and is then rebuilt from the data file — size and ETag exact, content type and user metadata
  // reset to defaults. The bytes keep full durability. Suits callers that keep their own metadata
  // (BlobStore keeps it in SQLite) and halves the fsyncs of a small put.
  bool sync_sidecar = true;
};

// A directory-backed ObjectStore (layout in docs/formats/object_store.md):
//   <root>/data/<key>   the object's bytes, exactly as put (so Parquet files are readable in place)
//   <root>/meta/<key>   JSON sidecar: size, ETag, content type, user metadata, storage class
//   <root>/tmp/         in-flight writes (temp file + fsync + rename)
//   <root>/uploads/     multipart uploads in progress
// Because keys map to paths, a key cannot be both an object and a "directory" of other objects
// ("a" and "a/b"): the second write is kFailedPrecondition.
// Writers of one key serialize on an in-process lock; use one LocalObjectStore per root per process.
class DOTDO_EXPORT LocalObjectStore final : public ObjectStore {
 public:
  // Creates root (and its subdirectories) when missing, and removes temp files left in tmp/ by
  // processes that no longer run (writes interrupted by a crash).
  static Result<std::unique_ptr<LocalObjectStore>> Open(const std::filesystem::path& root,
                                                        LocalObjectStoreOptions options = {});
  ~LocalObjectStore() override;

  Result<ObjectInfo> Put(std::string_view key, std::string_view data, const ObjectPutOptions& options = {}) override;
  Result<ObjectInfo> PutStream(std::string_view key, const ObjectReader& reader,
                               const ObjectPutOptions& options = {}) override;
  Result<ObjectInfo> PutAddressed(const AddressFn& key_for, std::string_view data,
                                  const ObjectPutOptions& options = {}) override;
  Result<std::string> Get(std::string_view key, const ObjectGetOptions& options = {}) override;
  Result<ObjectInfo> GetStream(std::string_view key, const ObjectWriter& writer,
                               const ObjectGetOptions& options = {}) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Result<ObjectListResult> List(const ObjectListOptions& options = {}) override;
  Status Delete(std::string_view key, const ObjectDeleteOptions& options = {}) override;
  Result<ObjectInfo> Copy(std::string_view source_key, std::string_view dest_key,
                          const ObjectCopyOptions& options = {}) override;
  Result<std::string> CreateMultipartUpload(std::string_view key, const ObjectPutOptions& options = {}) override;
  Result<std::string> UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                                 std::string_view data) override;
  Result<ObjectInfo> CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                             const std::vector<ObjectCompletedPart>& parts) override;
  Status AbortMultipartUpload(std::string_view key, std::string_view upload_id) override;

  const std::filesystem::path& root() const;

  // Implementation detail, defined in src/objectstore (public only so its helpers can name it).
  class Impl;
  // Filesystem path of the object's bytes (for engines that read files in place, e.g. Parquet
  // readers). REQUIRES: key is valid; the path may not exist.
  std::filesystem::path DataPath(std::string_view key) const;

 private:
  explicit LocalObjectStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// How S3ObjectStore evaluates preconditions (if_match / if_none_match) on writes.
enum class S3ConditionalWrites {
  // Send them to the service (If-None-Match: * on PutObject / CompleteMultipartUpload, If-Match with
  // the service's ETag): atomic on the service, across every client. AWS S3, R2 and MinIO support it.
  kNative,
  // Check with a HEAD first, serialized by a lock in this store object: atomic only among the
  // conditional writes of this one S3ObjectStore, NOT against other clients. For services that
  // ignore conditional headers on writes (e.g. s3rver, older MinIO).
  kEmulated,
};

struct S3ObjectStoreOptions {
  // "http(s)://host[:port]". Default: $AWS_ENDPOINT_URL, else "https://s3.<region>.amazonaws.com".
  std::string endpoint;
  // Default: $AWS_REGION, else $AWS_DEFAULT_REGION, else "us-east-1". Part of every signature.
  std::string region;
  // Required: 3..63 characters of [a-z0-9.-], starting and ending with a letter or digit.
  std::string bucket;
  // true: <endpoint>/<bucket>/<key> (MinIO, s3rver, R2); false: virtual-host style
  // <scheme>://<bucket>.<host>/<key> (AWS). Default true.
  bool path_style = true;
  // Default: $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY / $AWS_SESSION_TOKEN (the token may be empty).
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  S3ConditionalWrites conditional_writes = S3ConditionalWrites::kNative;
  // Attempts per request (1..20) on transport errors, 5xx, 429 and SlowDown, with exponential
  // backoff from initial_backoff_ms doubling up to max_backoff_ms, with jitter. Defaults 5 / 50 / 2000.
  int max_attempts = 5;
  int64_t initial_backoff_ms = 50;
  int64_t max_backoff_ms = 2000;
  // Connection setup and whole-request limits. Defaults 5 s and 300 s. A timeout is kDeadlineExceeded.
  int64_t connect_timeout_ms = 5000;
  int64_t request_timeout_ms = 300000;
};

// Opens an ObjectStore over an S3-compatible bucket (the bucket must exist: kNotFound otherwise;
// kPermissionDenied for 403; kInvalidArgument for bad options or missing credentials). Requests are
// signed by libcurl's AWS SigV4. How it keeps the contract above (docs/formats/object_store.md):
//   - ETag: the hex SHA-256 is computed on upload and stored as user metadata "x-amz-meta-dotdo-sha256";
//     Head/Get report it (S3's own MD5 ETag is used only inside conditional requests). An object
//     without it (written by another client) has its SHA-256 computed by Head by reading it once.
//     The name "dotdo-sha256" is reserved: user metadata with it is kInvalidArgument.
//   - List reports key, size, last-modified time and storage class; etag, content type and user
//     metadata of listed objects are empty / default (S3's listing does not carry them): use Head.
//   - User metadata names come back lowercased (S3 folds header names); values are stored
//     percent-encoded so any UTF-8 survives.
//   - PutStream spools the stream to an unlinked temporary file (bounded memory) and sends one
//     PutObject (S3's 5 GiB single-put limit applies). Multipart uploads are tracked by the store
//     object that created them (an upload id from another process is kNotFound); the completed
//     object gets its metadata by an atomic copy onto itself (5 GiB CopyObject limit), so for a
//     moment after completion it is visible without its content type, metadata and SHA-256. On S3
//     every part but the last must hold at least 5 MiB. Abort on a service without it (HTTP 405 /
//     501, e.g. s3rver) forgets the upload and leaves its parts to the service's own cleanup.
//   - Copy and Delete with preconditions check with a HEAD first; only the service's If-Match
//     (native mode) makes them atomic against other clients. Copy's if_none_match is always a HEAD
//     check (not atomic across clients).
//   - "a" and "a/b" may both exist (S3 has no directories), unlike LocalObjectStore.
DOTDO_EXPORT Result<std::unique_ptr<ObjectStore>> OpenS3ObjectStore(S3ObjectStoreOptions options);

}  // namespace dotdo
