// BlobStore: open/schema, put (bytes and stream), get, head, delete, list. The write ordering that
// keeps metadata from ever naming a missing object is documented in include/dotdo/blob.h; table
// layouts in docs/formats/blob.md.
#include "dotdo/blob.h"

#include <array>
#include <limits>
#include <mutex>

#include "blob/blob_store_impl.h"
#include "cdc/outbox.h"
#include "core/json.h"
#include "core/sha256.h"

namespace dotdo {

using internal::DatabaseInternals;
using internal::Outbox;

namespace {

constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE blob_objects(
  object_key    TEXT PRIMARY KEY,
  sha256        TEXT NOT NULL,
  size          INTEGER NOT NULL,
  storage_class TEXT NOT NULL,
  ref_count     INTEGER NOT NULL,
  created_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE blob_blobs(
  key              TEXT PRIMARY KEY,
  id               TEXT NOT NULL UNIQUE,
  object_key       TEXT NOT NULL REFERENCES blob_objects(object_key),
  content_type     TEXT NOT NULL,
  size             INTEGER NOT NULL,
  sha256           TEXT NOT NULL,
  metadata         TEXT NOT NULL,
  storage_class    TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  last_accessed_at INTEGER NOT NULL
);
CREATE INDEX blob_blobs_object ON blob_blobs(object_key);
CREATE TABLE blob_lifecycle_rules(
  id            TEXT PRIMARY KEY,
  prefix        TEXT NOT NULL,
  age_ms        INTEGER NOT NULL,
  action        TEXT NOT NULL CHECK (action IN ('transition', 'delete')),
  storage_class TEXT,
  created_at    INTEGER NOT NULL
);
)sql"};

// The per-object locks of invariant 3, one set per Database.
struct BlobLocks {
  explicit BlobLocks(Database&) {}
  std::array<std::mutex, 64> stripes;
};

Status ValidateRequest(const BlobPutRequest& r, const BlobOptions& o) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateBlobKey(r.key));
  DOTDO_RETURN_IF_ERROR(internal::ValidateContentType(r.content_type));
  if (!r.metadata.is_object()) return InvalidArgumentError("blob metadata must be a JSON object");
  DOTDO_RETURN_IF_ERROR(internal::SerializeStoredJson(r.metadata, "blob metadata", 65536).status());
  if (r.content_length && *r.content_length > o.max_blob_size)
    return ResourceExhaustedError("declared length " + std::to_string(*r.content_length) + " exceeds the maximum blob size " +
                                  std::to_string(o.max_blob_size));
  return OkStatus();
}

// From this size on, an in-memory content-addressed put goes through ObjectStore::PutAddressed
// (hashed while written) rather than hashing before the write; LocalObjectStore's threshold for
// hashing on a second thread.
constexpr size_t kHashWhileWritingBytes = 1 << 20;

ObjectPutOptions BlobObjectPutOptions() {
  ObjectPutOptions p;
  p.content_type = "application/octet-stream";
  return p;
}

}  // namespace

namespace internal {
const StoreSpec kBlobSpec{.name = "blob", .table_prefix = "blob_", .migrations = kMigrations};
}  // namespace internal

namespace internal {

const char* const kBlobColumns =
    "key, id, object_key, content_type, size, sha256, metadata, storage_class, created_at, updated_at, last_accessed_at";

std::optional<std::string> PrefixUpperBound(std::string_view prefix) {
  // The prefix with its last non-0xFF byte incremented.
  std::string u(prefix);
  while (!u.empty() && static_cast<unsigned char>(u.back()) == 0xff) u.pop_back();
  if (u.empty()) return std::nullopt;
  u.back() = static_cast<char>(static_cast<unsigned char>(u.back()) + 1);
  return u;
}

Status ValidateContentType(std::string_view ct) {
  if (ct.size() > 256) return InvalidArgumentError("content type is longer than 256 bytes");
  for (char c : ct) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return InvalidArgumentError("content type contains a control character");
  }
  return ValidateUtf8(ct, "content type");
}

}  // namespace internal

Json BlobInfoToJson(const BlobInfo& b) {
  return {{"$id", b.id},
          {"key", b.key},
          {"size", b.size},
          {"hash", b.hash},
          {"contentType", b.content_type},
          {"url", b.url},
          {"metadata", b.metadata},
          {"storageClass", b.storage_class},
          {"objectKey", b.object_key},
          {"createdAt", FormatIso8601(b.created_at)},
          {"updatedAt", FormatIso8601(b.updated_at)},
          {"lastAccessedAt", FormatIso8601(b.last_accessed_at)}};
}

// ---------------------------------------------------------------------------------------------------
// Impl helpers

std::mutex& BlobStore::Impl::ObjectLock(std::string_view object_key) {
  auto& locks = DatabaseInternals::Extension<BlobLocks>(db_);
  return locks.stripes[std::hash<std::string_view>{}(object_key) % locks.stripes.size()];
}

std::string BlobStore::Impl::AddressedKey(std::string_view sha, std::string_view storage_class) {
  std::string key = "blobs/" + std::string(sha.substr(0, 2)) + "/" + std::string(sha);
  return storage_class == kStorageClassStandard ? key : "cold/" + key;
}

std::string BlobStore::Impl::KeyInClass(std::string_view object_key, std::string_view storage_class) {
  std::string_view base = object_key;
  if (base.substr(0, 5) == "cold/") base.remove_prefix(5);
  return storage_class == kStorageClassStandard ? std::string(base) : "cold/" + std::string(base);
}

std::string BlobStore::Impl::UrlFor(std::string_view key) const {
  return options_.url_base + "/" + internal::PercentEncode(key, /*keep_slash=*/true);
}

Json BlobStore::Impl::CdcJson(const BlobInfo& b) {
  Json j = BlobInfoToJson(b);
  j.erase("url");
  j.erase("lastAccessedAt");
  return j;
}

Result<BlobInfo> BlobStore::Impl::FromRow(const internal::Statement& st) {
  BlobInfo b;
  b.key = st.ColumnString(0);
  b.id = st.ColumnString(1);
  b.object_key = st.ColumnString(2);
  b.content_type = st.ColumnString(3);
  b.size = static_cast<uint64_t>(st.ColumnInt64(4));
  b.hash = st.ColumnString(5);
  const std::string_view metadata = st.ColumnText(6);
  // Most blobs carry no metadata: skip the parser for the empty object.
  if (metadata == "{}") {
    b.metadata = Json::object();
  } else {
    // Metadata has no nesting limit of its own (only 64 KiB); the parser does not recurse.
    auto parsed = internal::ParseJson(metadata, "metadata of blob '" + b.key + "'",
                                      {.max_depth = internal::kNoDepthCheck});
    if (!parsed.ok() && parsed.status().code() == StatusCode::kInvalidArgument)
      return DataLossError(parsed.status().message());
    DOTDO_ASSIGN_OR_RETURN(b.metadata, std::move(parsed));
  }
  b.storage_class = st.ColumnString(7);
  b.created_at = st.ColumnInt64(8);
  b.updated_at = st.ColumnInt64(9);
  b.last_accessed_at = st.ColumnInt64(10);
  b.url = UrlFor(b.key);
  return b;
}

// Both cheap once the tables are known on this Database (no query); a rollback that undid their
// creation makes them look again.
Result<bool> BlobStore::Impl::Readable() { return internal::StoreSchemaPresent(db_, internal::kBlobSpec); }
Status BlobStore::Impl::Writable() { return internal::EnsureStoreSchema(db_, internal::kBlobSpec); }

Result<std::optional<BlobInfo>> BlobStore::Impl::ReadRow(std::string_view key) {
  DOTDO_ASSIGN_OR_RETURN(bool readable, Readable());
  if (!readable) return std::optional<BlobInfo>();
  auto& conn = DatabaseInternals::Conn(db_);
  static const std::string kSql = std::string("SELECT ") + internal::kBlobColumns + " FROM blob_blobs WHERE key = ?1";
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(kSql));
  st.Bind(1, key);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<BlobInfo>();
  DOTDO_ASSIGN_OR_RETURN(auto info, FromRow(st));
  return std::optional<BlobInfo>(std::move(info));
}

Result<bool> BlobStore::Impl::ObjectReferenced(std::string_view object_key) {
  DOTDO_ASSIGN_OR_RETURN(bool readable, Readable());
  if (!readable) return false;
  auto& conn = DatabaseInternals::Conn(db_);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT 1 FROM blob_objects WHERE object_key = ?1"));
  st.Bind(1, object_key);
  return st.Step();
}

Result<bool> BlobStore::Impl::ReleaseObject(const std::string& object_key) {
  auto& conn = DatabaseInternals::Conn(db_);
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("UPDATE blob_objects SET ref_count = ref_count - 1 WHERE object_key = ?1"));
    st.Bind(1, object_key);
    DOTDO_RETURN_IF_ERROR(st.Run());
  }
  DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM blob_objects WHERE object_key = ?1 AND ref_count <= 0"));
  del.Bind(1, object_key);
  DOTDO_RETURN_IF_ERROR(del.Run());
  return conn.Changes() > 0;
}

Result<BlobInfo> BlobStore::Impl::CommitPut(const BlobPutRequest& request, const std::string& object_key,
                                            const std::string& sha, uint64_t size, std::string* freed,
                                            const std::function<Status()>& verify) {
  DOTDO_RETURN_IF_ERROR(Writable());
  BlobInfo nu;
  Status st = db_.Transaction([&]() -> Status {
    if (verify) DOTDO_RETURN_IF_ERROR(verify());
    DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db_));
    auto& conn = DatabaseInternals::Conn(db_);
    const int64_t now = db_.NowMillis();
    DOTDO_ASSIGN_OR_RETURN(auto old, ReadRow(request.key));
    nu.key = request.key;
    nu.id = old ? old->id : db_.NewId();
    nu.size = size;
    nu.hash = sha;
    nu.content_type = request.content_type.empty() ? "application/octet-stream" : request.content_type;
    nu.url = UrlFor(request.key);
    nu.metadata = request.metadata;
    nu.storage_class = std::string(kStorageClassStandard);
    nu.object_key = object_key;
    nu.created_at = old ? old->created_at : now;
    nu.updated_at = now;
    nu.last_accessed_at = old ? old->last_accessed_at : now;
    const bool same_object = old && old->object_key == object_key;
    if (!same_object) {
      DOTDO_ASSIGN_OR_RETURN(auto ins, conn.Prepare(
                                           "INSERT INTO blob_objects(object_key, sha256, size, storage_class, ref_count, created_at) "
                                           "VALUES (?1, ?2, ?3, ?4, 1, ?5) "
                                           "ON CONFLICT(object_key) DO UPDATE SET ref_count = ref_count + 1"));
      ins.BindAll(object_key, sha, static_cast<int64_t>(size), nu.storage_class, now);
      DOTDO_RETURN_IF_ERROR(ins.Run());
    }
    {
      DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare(
                                          "INSERT INTO blob_blobs(key, id, object_key, content_type, size, sha256, metadata, "
                                          "storage_class, created_at, updated_at, last_accessed_at) "
                                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
                                          "ON CONFLICT(key) DO UPDATE SET object_key = excluded.object_key, "
                                          "content_type = excluded.content_type, size = excluded.size, "
                                          "sha256 = excluded.sha256, metadata = excluded.metadata, "
                                          "storage_class = excluded.storage_class, updated_at = excluded.updated_at"));
      up.BindAll(nu.key, nu.id, nu.object_key, nu.content_type, static_cast<int64_t>(nu.size), nu.hash,
                 internal::DumpJson(nu.metadata), nu.storage_class, nu.created_at, nu.updated_at, nu.last_accessed_at);
      DOTDO_RETURN_IF_ERROR(up.Run());
    }
    if (old && !same_object) {
      DOTDO_ASSIGN_OR_RETURN(bool gone, ReleaseObject(old->object_key));
      if (gone) *freed = old->object_key;
    }
    return outbox->AppendChange(old ? ChangeOp::kUpdate : ChangeOp::kInsert, internal::kBlobSpec.name, internal::kBlobsTable, nu.key,
                                old ? std::optional<Json>(CdcJson(*old)) : std::nullopt, CdcJson(nu));
  });
  if (!st.ok()) return st;
  return nu;
}

Status BlobStore::Impl::EnsureStored(const std::string& object_key, const std::function<Status()>& write) {
  Result<ObjectInfo> head = store_.Head(object_key);
  if (head.ok()) return OkStatus();
  if (head.status().code() != StatusCode::kNotFound) return head.status();
  return write();
}

Result<bool> BlobStore::Impl::DropObjectIfUnreferenced(const std::string& object_key,
                                                       const std::function<bool()>& may_drop) {
  // Inside a caller's transaction the release may still roll back: the object stays, and if the
  // release commits it is an orphan for SweepOrphans.
  if (db_.InTransaction()) return false;
  std::lock_guard<std::mutex> lock(ObjectLock(object_key));
  bool dropped = false;
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(bool referenced, ObjectReferenced(object_key));
    if (referenced || (may_drop && !may_drop())) return OkStatus();  // e.g. a put of the same bytes took it over
    Status s = store_.Delete(object_key);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
    dropped = s.ok();
    return OkStatus();
  }));
  return dropped;
}

Status BlobStore::Impl::DeleteBlob(std::string_view key) {
  DOTDO_ASSIGN_OR_RETURN(bool readable, Readable());
  if (!readable) return NotFoundError("blob '" + std::string(key) + "' not found");
  std::string freed;
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db_));
    DOTDO_ASSIGN_OR_RETURN(auto old, ReadRow(key));
    if (!old) return NotFoundError("blob '" + std::string(key) + "' not found");
    auto& conn = DatabaseInternals::Conn(db_);
    DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM blob_blobs WHERE key = ?1"));
    del.Bind(1, key);
    DOTDO_RETURN_IF_ERROR(del.Run());
    DOTDO_ASSIGN_OR_RETURN(bool gone, ReleaseObject(old->object_key));
    if (gone) freed = old->object_key;
    return outbox->AppendChange(ChangeOp::kDelete, internal::kBlobSpec.name, internal::kBlobsTable, key, CdcJson(*old), std::nullopt);
  }));
  DOTDO_RETURN_IF_ERROR(DOTDO_SYNC_POINT("blob.after_metadata_commit"));
  return freed.empty() ? OkStatus() : DropObjectIfUnreferenced(freed).status();
}

void BlobStore::Impl::TouchAccess(const BlobInfo& info) {
  if (!options_.track_last_access) return;
  const int64_t now = db_.NowMillis();
  if (now - info.last_accessed_at < options_.last_access_granularity_ms) return;
  // Best effort: a read does not fail because the access time could not be recorded.
  auto st = DatabaseInternals::Conn(db_).Prepare("UPDATE blob_blobs SET last_accessed_at = ?2 WHERE key = ?1");
  if (st.ok()) st->BindAll(info.key, now).Run().IgnoreError();
}

// ---------------------------------------------------------------------------------------------------
// BlobStore

BlobStore::BlobStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BlobStore::~BlobStore() = default;

Result<std::unique_ptr<BlobStore>> BlobStore::Open(Database& db, ObjectStore& objects, BlobOptions options) {
  if (!options.signing_secret.empty() && options.signing_secret.size() < 32)
    return InvalidArgumentError("signing_secret must be at least 32 bytes (or empty to disable presigned URLs)");
  if (!options.url_base.empty() && options.url_base.back() == '/')
    return InvalidArgumentError("url_base must not end with '/'");
  for (char c : options.url_base) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '?' || c == '#' || c == 0x7f)
      return InvalidArgumentError("url_base must not contain spaces, control characters, '?' or '#'");
  }
  if (options.orphan_grace_ms < 0) return InvalidArgumentError("orphan_grace_ms must be >= 0");
  if (options.last_access_granularity_ms < 0) return InvalidArgumentError("last_access_granularity_ms must be >= 0");
  if (options.max_blob_size == 0) return InvalidArgumentError("max_blob_size must be > 0");
  auto impl = std::make_unique<Impl>(db, objects, std::move(options));
  // Existing tables are checked (a newer schema is refused) and upgraded; missing ones are made by
  // the first write, so opening the store to read changes nothing.
  DOTDO_RETURN_IF_ERROR(impl->Readable().status());
  impl->RemoveStaleTempObjects();
  return std::unique_ptr<BlobStore>(new BlobStore(std::move(impl)));
}

void BlobStore::Impl::RemoveStaleTempObjects() {
  // A streamed put holds its "tmp/" object only between the end of the stream and the move to its
  // content address (milliseconds); one older than a minute belongs to a put that died.
  constexpr int64_t kStaleAfterMs = 60'000;
  const int64_t cutoff = db_.NowMillis() - kStaleAfterMs;
  ObjectListOptions o;
  o.prefix = "tmp/";
  do {
    auto page = store_.List(o);
    if (!page.ok()) return;  // best effort: SweepOrphans collects them too
    for (const ObjectInfo& obj : page->objects) {
      if (obj.last_modified_ms < cutoff) store_.Delete(obj.key).IgnoreError();
    }
    o.continuation = page->next_continuation;
  } while (!o.continuation.empty());
}

Result<BlobInfo> BlobStore::Impl::FinishPut(Result<BlobInfo> info, const std::string& freed) {
  if (!info.ok()) return info.status();
  DOTDO_RETURN_IF_ERROR(DOTDO_SYNC_POINT("blob.after_metadata_commit"));
  if (!freed.empty()) DOTDO_RETURN_IF_ERROR(DropObjectIfUnreferenced(freed).status());
  return info;
}

Result<BlobInfo> BlobStore::Impl::CommitAddressed(const BlobPutRequest& request, const std::string& object_key,
                                                  const std::string& sha, uint64_t size,
                                                  const std::function<Status(bool present)>& ensure) {
  std::string freed;
  Result<BlobInfo> info = InternalError("unreachable");
  {
    std::lock_guard<std::mutex> lock(ObjectLock(object_key));
    // Optimistic, outside the write lock: skip writing bytes that are already stored.
    DOTDO_ASSIGN_OR_RETURN(bool present, ObjectReferenced(object_key));
    DOTDO_RETURN_IF_ERROR(ensure(present));
    DOTDO_RETURN_IF_ERROR(DOTDO_SYNC_POINT("blob.after_object_write"));
    // Decided again under the SQLite write lock: another process's delete may have removed the
    // object since. Objects are removed only inside a write transaction that found them
    // unreferenced (invariant 4), so what this transaction sees holds until it commits.
    info = CommitPut(request, object_key, sha, size, &freed, [&]() -> Status {
      DOTDO_ASSIGN_OR_RETURN(bool referenced, ObjectReferenced(object_key));
      if (referenced) return OkStatus();  // a referenced object is stored (invariant 4)
      return EnsureStored(object_key, [&] { return ensure(false); });
    });
  }
  // Best effort: drop the object of a put that did not commit if nothing references it (else the
  // sweep will).
  if (!info.ok()) DropObjectIfUnreferenced(object_key).status().IgnoreError();
  return FinishPut(std::move(info), freed);
}

Result<BlobInfo> BlobStore::Impl::PutViaTemp(const BlobPutRequest& request, const ObjectWrite& write) {
  const std::string tmp_key = "tmp/" + db_.NewId();
  DOTDO_ASSIGN_OR_RETURN(ObjectInfo tmp, write(tmp_key));
  // A single put's ETag is the hex SHA-256 of its bytes (ObjectStore contract).
  const std::string object_key = AddressedKey(tmp.etag, kStorageClassStandard);
  Result<BlobInfo> info = CommitAddressed(request, object_key, tmp.etag, tmp.size, [&](bool present) {
    return present ? OkStatus() : store_.Copy(tmp_key, object_key).status();
  });
  store_.Delete(tmp_key).IgnoreError();  // a leftover temp object is an orphan for the sweep
  return info;
}

Result<BlobInfo> BlobStore::Impl::PutOwnObject(const BlobPutRequest& request, const ObjectWrite& write) {
  const std::string object_key = "objects/" + db_.NewId();
  DOTDO_ASSIGN_OR_RETURN(ObjectInfo obj, write(object_key));
  DOTDO_RETURN_IF_ERROR(DOTDO_SYNC_POINT("blob.after_object_write"));
  std::string freed;
  Result<BlobInfo> info = CommitPut(request, object_key, obj.etag, obj.size, &freed);
  if (!info.ok()) store_.Delete(object_key).IgnoreError();
  return FinishPut(std::move(info), freed);
}

Result<BlobInfo> BlobStore::Put(const BlobPutRequest& request, std::string_view data) {
  DOTDO_RETURN_IF_ERROR(ValidateRequest(request, impl_->options_));
  if (data.size() > impl_->options_.max_blob_size)
    return ResourceExhaustedError("blob of " + std::to_string(data.size()) + " bytes exceeds the maximum blob size");
  if (request.content_length && *request.content_length != data.size())
    return InvalidArgumentError("data is " + std::to_string(data.size()) + " bytes but " +
                                std::to_string(*request.content_length) + " were declared");
  auto write = [&](const std::string& object_key) { return impl_->store_.Put(object_key, data, BlobObjectPutOptions()); };
  if (!impl_->options_.content_addressed) return impl_->PutOwnObject(request, write);
  if (data.size() < kHashWhileWritingBytes) {
    // Small: hash first, so bytes already stored are not written again.
    const std::string sha = internal::Sha256::Hex(data);
    const std::string object_key = Impl::AddressedKey(sha, kStorageClassStandard);
    return impl_->CommitAddressed(request, object_key, sha, data.size(), [&](bool present) {
      return present ? OkStatus() : write(object_key).status();
    });
  }
  // Large: the store hashes while it writes and syncs, so the hash adds no latency. (Bytes already
  // stored are written again; a dedup hit costs what a new put costs.)
  DOTDO_ASSIGN_OR_RETURN(ObjectInfo obj, impl_->store_.PutAddressed(
                                             [](std::string_view hex) {
                                               return Impl::AddressedKey(hex, kStorageClassStandard);
                                             },
                                             data, BlobObjectPutOptions()));
  return impl_->CommitAddressed(request, obj.key, obj.etag, data.size(), [&](bool present) -> Status {
    // Written before the object lock was held: the delete of the last other reference to these
    // bytes may have removed the object since.
    return present ? OkStatus() : impl_->EnsureStored(obj.key, [&] { return write(obj.key).status(); });
  });
}

Result<BlobInfo> BlobStore::PutStream(const BlobPutRequest& request, const ObjectReader& reader) {
  DOTDO_RETURN_IF_ERROR(ValidateRequest(request, impl_->options_));
  if (!reader) return InvalidArgumentError("PutStream needs a reader (no data given)");
  const uint64_t max = impl_->options_.max_blob_size;
  uint64_t count = 0;
  // Enforces the declared length and the size limit while streaming, so a bad stream aborts the
  // object write itself and nothing is stored.
  ObjectReader checked = [&](char* buf, size_t cap) -> Result<size_t> {
    DOTDO_ASSIGN_OR_RETURN(size_t n, reader(buf, cap));
    count += n;
    if (request.content_length && count > *request.content_length)
      return InvalidArgumentError("stream is longer than the declared length of " +
                                  std::to_string(*request.content_length) + " bytes");
    if (count > max) return ResourceExhaustedError("stream exceeds the maximum blob size of " + std::to_string(max) + " bytes");
    if (n == 0 && request.content_length && count != *request.content_length)
      return InvalidArgumentError("stream ended after " + std::to_string(count) + " bytes but " +
                                  std::to_string(*request.content_length) + " were declared");
    return n;
  };
  auto write = [&](const std::string& object_key) { return impl_->store_.PutStream(object_key, checked, BlobObjectPutOptions()); };
  // The hash is known only at the end of the stream: content-addressed streams go through a temp object.
  return impl_->options_.content_addressed ? impl_->PutViaTemp(request, write) : impl_->PutOwnObject(request, write);
}

Result<BlobInfo> BlobStore::Head(std::string_view key) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateBlobKey(key));
  DOTDO_ASSIGN_OR_RETURN(auto row, impl_->ReadRow(key));
  if (!row) return NotFoundError("blob '" + std::string(key) + "' not found");
  return std::move(*row);
}

Result<Blob> BlobStore::Get(std::string_view key) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    DOTDO_ASSIGN_OR_RETURN(BlobInfo info, Head(key));
    auto data = impl_->store_.Get(info.object_key);
    if (data.ok()) {
      impl_->TouchAccess(info);
      return Blob{std::move(info), std::move(data).value()};
    }
    // Not found: the blob was overwritten or deleted between the two reads; look again.
    if (data.status().code() != StatusCode::kNotFound) return data.status();
  }
  return DataLossError("the object of blob '" + std::string(key) + "' is missing from the object store");
}

Result<BlobInfo> BlobStore::GetStream(std::string_view key, const ObjectWriter& writer) {
  if (!writer) return InvalidArgumentError("GetStream needs a writer");
  for (int attempt = 0; attempt < 3; ++attempt) {
    DOTDO_ASSIGN_OR_RETURN(BlobInfo info, Head(key));
    // A missing object fails before the first chunk, so retrying never repeats bytes.
    auto obj = impl_->store_.GetStream(info.object_key, writer);
    if (obj.ok()) {
      impl_->TouchAccess(info);
      return info;
    }
    if (obj.status().code() != StatusCode::kNotFound) return obj.status();
  }
  return DataLossError("the object of blob '" + std::string(key) + "' is missing from the object store");
}

Status BlobStore::Delete(std::string_view key) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateBlobKey(key));
  return impl_->DeleteBlob(key);
}

Result<BlobPage> BlobStore::List(const BlobListOptions& options) {
  if (options.limit < 1 || options.limit > 1000)
    return InvalidArgumentError("list limit " + std::to_string(options.limit) + " is outside 1..1000");
  if (options.prefix.size() > 1024) return InvalidArgumentError("list prefix is longer than 1024 bytes");
  if (options.cursor.size() > 1024) return InvalidArgumentError("invalid cursor: pass back next_cursor of the previous page");
  // Keys starting with prefix are exactly those in [prefix, upper) (SQLite compares TEXT byte-wise).
  const std::optional<std::string> upper = internal::PrefixUpperBound(options.prefix);
  DOTDO_ASSIGN_OR_RETURN(bool readable, impl_->Readable());
  if (!readable) return BlobPage{};
  auto& conn = DatabaseInternals::Conn(impl_->db_);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(std::string("SELECT ") + internal::kBlobColumns +
                                               " FROM blob_blobs WHERE key > ?1 AND key >= ?2 AND (?3 IS NULL OR key < ?3) "
                                               "ORDER BY key" + internal::LimitClause(options.limit + 1)));
  st.BindAll(options.cursor, options.prefix, upper);
  BlobPage out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (static_cast<int64_t>(out.items.size()) == options.limit) {
      out.next_cursor = out.items.back().key;
      break;
    }
    DOTDO_ASSIGN_OR_RETURN(auto info, impl_->FromRow(st));
    out.items.push_back(std::move(info));
  }
  return out;
}

namespace internal {

Status ValidateBlobKey(std::string_view key) {
  Status k = ValidateObjectKey(key);
  if (!k.ok()) return InvalidArgumentError("invalid blob key: " + k.message());
  // Keys are stored as JSON (object sidecars, CDC events) and shown in URLs: refuse invalid UTF-8
  // here rather than fail a write halfway or sign a key no blob can have.
  k = ValidateUtf8(key, "blob key");
  if (!k.ok()) return InvalidArgumentError("invalid blob key: " + k.message());
  return OkStatus();
}

}  // namespace internal
}  // namespace dotdo
