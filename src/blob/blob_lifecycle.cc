// BlobStore lifecycle: persisted rules (age + prefix → storage-class transition or delete),
// ApplyLifecycle, storage-class transitions that move bytes to/from the cold area ("cold/" keys,
// INFREQUENT_ACCESS), the orphan sweep, and dedup statistics.
#include <string>
#include <vector>

#include "blob/blob_store_impl.h"
#include "cdc/outbox.h"

namespace dotdo {

using internal::DatabaseInternals;
using internal::Outbox;

namespace {

Status ValidateRule(const BlobLifecycleRule& r) {
  if (r.id.empty() || r.id.size() > 64) return InvalidArgumentError("lifecycle rule id must be 1..64 characters");
  for (char c : r.id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return InvalidArgumentError("lifecycle rule id '" + r.id + "' may only hold [A-Za-z0-9_.-]");
  }
  if (r.prefix.size() > 1024) return InvalidArgumentError("lifecycle rule prefix is longer than 1024 bytes");
  for (char c : r.prefix) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return InvalidArgumentError("lifecycle rule prefix contains a control character");
  }
  if (r.age_ms < 0) return InvalidArgumentError("lifecycle rule age must be >= 0 ms");
  if (r.action == BlobLifecycleAction::kTransition) return ValidateStorageClass(r.storage_class);
  if (!r.storage_class.empty()) return InvalidArgumentError("a delete rule takes no storage class");
  return OkStatus();
}

}  // namespace

Status BlobStore::PutLifecycleRule(const BlobLifecycleRule& rule) {
  DOTDO_RETURN_IF_ERROR(ValidateRule(rule));
  DOTDO_RETURN_IF_ERROR(impl_->Writable());
  return impl_->db_.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(impl_->db_).Prepare(
                                        "INSERT INTO blob_lifecycle_rules(id, prefix, age_ms, action, storage_class, created_at) "
                                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET prefix = excluded.prefix, "
                                        "age_ms = excluded.age_ms, action = excluded.action, storage_class = excluded.storage_class"));
    const bool transition = rule.action == BlobLifecycleAction::kTransition;
    st.BindAll(rule.id, rule.prefix, rule.age_ms, transition ? "transition" : "delete",
               transition ? std::optional<std::string>(rule.storage_class) : std::nullopt, impl_->db_.NowMillis());
    return st.Run();
  });
}

Status BlobStore::RemoveLifecycleRule(std::string_view id) {
  DOTDO_ASSIGN_OR_RETURN(bool readable, impl_->Readable());
  if (!readable) return NotFoundError("lifecycle rule '" + std::string(id.substr(0, 64)) + "' not found");
  return impl_->db_.Transaction([&]() -> Status {
    auto& conn = DatabaseInternals::Conn(impl_->db_);
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("DELETE FROM blob_lifecycle_rules WHERE id = ?1"));
    st.Bind(1, id);
    DOTDO_RETURN_IF_ERROR(st.Run());
    if (conn.Changes() == 0) return NotFoundError("lifecycle rule '" + std::string(id.substr(0, 64)) + "' not found");
    return OkStatus();
  });
}

Result<std::vector<BlobLifecycleRule>> BlobStore::ListLifecycleRules() {
  DOTDO_ASSIGN_OR_RETURN(bool readable, impl_->Readable());
  if (!readable) return std::vector<BlobLifecycleRule>();
  DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(impl_->db_).Prepare(
                                      "SELECT id, prefix, age_ms, action, storage_class FROM blob_lifecycle_rules ORDER BY id"));
  std::vector<BlobLifecycleRule> out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    BlobLifecycleRule r;
    r.id = st.ColumnString(0);
    r.prefix = st.ColumnString(1);
    r.age_ms = st.ColumnInt64(2);
    r.action = st.ColumnText(3) == "delete" ? BlobLifecycleAction::kDelete : BlobLifecycleAction::kTransition;
    r.storage_class = st.ColumnOptionalText(4).value_or("");
    out.push_back(std::move(r));
  }
  return out;
}

Status BlobStore::Impl::TransitionBlob(const BlobInfo& blob, const std::string& storage_class) {
  const std::string target = options_.content_addressed ? AddressedKey(blob.hash, storage_class)
                                                        : KeyInClass(blob.object_key, storage_class);
  bool changed = false;
  bool present = false;
  std::string freed;
  {
    std::lock_guard<std::mutex> lock(ObjectLock(target));
    DOTDO_ASSIGN_OR_RETURN(present, ObjectReferenced(target));
    if (!present) {
      ObjectCopyOptions c;
      c.storage_class = storage_class;
      DOTDO_RETURN_IF_ERROR(store_.Copy(blob.object_key, target, c).status());
    }
    DOTDO_RETURN_IF_ERROR(DOTDO_SYNC_POINT("blob.after_object_write"));
    DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
      DOTDO_ASSIGN_OR_RETURN(Outbox * outbox, Outbox::Of(db_));
      DOTDO_ASSIGN_OR_RETURN(auto cur, ReadRow(blob.key));
      if (!cur || cur->object_key != blob.object_key) return OkStatus();  // rewritten meanwhile: nothing to move
      // Under the write lock: the target may have been removed by another process since the check
      // above; the source is referenced by `cur`, so it is there to copy from.
      DOTDO_RETURN_IF_ERROR(EnsureStored(target, [&] {
        ObjectCopyOptions c;
        c.storage_class = storage_class;
        return store_.Copy(blob.object_key, target, c).status();
      }));
      auto& conn = DatabaseInternals::Conn(db_);
      DOTDO_ASSIGN_OR_RETURN(auto ins, conn.Prepare(
                                           "INSERT INTO blob_objects(object_key, sha256, size, storage_class, ref_count, created_at) "
                                           "VALUES (?1, ?2, ?3, ?4, 1, ?5) "
                                           "ON CONFLICT(object_key) DO UPDATE SET ref_count = ref_count + 1"));
      ins.BindAll(target, cur->hash, static_cast<int64_t>(cur->size), storage_class, db_.NowMillis());
      DOTDO_RETURN_IF_ERROR(ins.Run());
      DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare("UPDATE blob_blobs SET object_key = ?2, storage_class = ?3 WHERE key = ?1"));
      up.BindAll(cur->key, target, storage_class);
      DOTDO_RETURN_IF_ERROR(up.Run());
      DOTDO_ASSIGN_OR_RETURN(bool gone, ReleaseObject(cur->object_key));
      if (gone) freed = cur->object_key;
      BlobInfo after = *cur;
      after.object_key = target;
      after.storage_class = storage_class;
      changed = true;
      return outbox->AppendChange(ChangeOp::kUpdate, internal::kBlobSpec.name, internal::kBlobsTable, cur->key, CdcJson(*cur), CdcJson(after));
    }));
  }
  if (!changed && !present) DropObjectIfUnreferenced(target).status().IgnoreError();
  DOTDO_RETURN_IF_ERROR(DOTDO_SYNC_POINT("blob.after_metadata_commit"));
  return freed.empty() ? OkStatus() : DropObjectIfUnreferenced(freed).status();
}

Result<BlobLifecycleReport> BlobStore::ApplyLifecycle(int64_t now_ms) {
  DOTDO_ASSIGN_OR_RETURN(auto rules, ListLifecycleRules());
  BlobLifecycleReport report;
  // Delete rules first: a blob both expired and due for transition is deleted, not moved.
  for (BlobLifecycleAction pass : {BlobLifecycleAction::kDelete, BlobLifecycleAction::kTransition}) {
    for (const BlobLifecycleRule& rule : rules) {
      if (rule.action != pass) continue;
      std::vector<BlobInfo> due;
      {
        DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(impl_->db_).Prepare(
                                            std::string("SELECT ") + internal::kBlobColumns +
                                            " FROM blob_blobs WHERE key >= ?1 AND (?2 IS NULL OR key < ?2) "
                                            "AND updated_at <= ?3 AND storage_class IS NOT ?4 ORDER BY key"));
        st.BindAll(rule.prefix, internal::PrefixUpperBound(rule.prefix), now_ms - rule.age_ms,
                   pass == BlobLifecycleAction::kTransition ? std::optional<std::string>(rule.storage_class) : std::nullopt);
        for (;;) {
          DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
          if (!row) break;
          DOTDO_ASSIGN_OR_RETURN(auto info, impl_->FromRow(st));
          due.push_back(std::move(info));
        }
      }
      for (const BlobInfo& blob : due) {
        if (pass == BlobLifecycleAction::kDelete) {
          Status s = impl_->DeleteBlob(blob.key);
          if (s.ok()) ++report.deleted;
          else if (s.code() != StatusCode::kNotFound) return s;
        } else {
          DOTDO_RETURN_IF_ERROR(impl_->TransitionBlob(blob, rule.storage_class));
          ++report.transitioned;
        }
      }
    }
  }
  return report;
}

Result<BlobSweepReport> BlobStore::SweepOrphans(int64_t now_ms) {
  // Writable, not just readable: with no tables every object would look unreferenced.
  DOTDO_RETURN_IF_ERROR(impl_->Writable());
  BlobSweepReport report;
  const int64_t cutoff = now_ms - impl_->options_.orphan_grace_ms;
  // The prefixes this BlobStore writes under; anything else in the object store is not ours.
  for (const char* prefix : {"blobs/", "cold/", "objects/", "tmp/"}) {
    ObjectListOptions o;
    o.prefix = prefix;
    do {
      DOTDO_ASSIGN_OR_RETURN(ObjectListResult page, impl_->store_.List(o));
      for (const ObjectInfo& obj : page.objects) {
        bool in_grace = false;
        DOTDO_ASSIGN_OR_RETURN(bool removed, impl_->DropObjectIfUnreferenced(obj.key, [&] {
          in_grace = obj.last_modified_ms > cutoff;
          return !in_grace;
        }));
        if (in_grace) ++report.kept_in_grace;
        if (!removed) continue;
        ++report.removed;
        report.removed_bytes += static_cast<int64_t>(obj.size);
      }
      o.continuation = page.next_continuation;
    } while (!o.continuation.empty());
  }
  return report;
}

Result<BlobStats> BlobStore::Stats() {
  DOTDO_ASSIGN_OR_RETURN(bool readable, impl_->Readable());
  if (!readable) return BlobStats{};
  auto& conn = DatabaseInternals::Conn(impl_->db_);
  BlobStats s;
  DOTDO_ASSIGN_OR_RETURN(auto a, conn.Prepare("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM blob_blobs"));
  DOTDO_ASSIGN_OR_RETURN(bool ra, a.Step());
  if (ra) {
    s.blobs = a.ColumnInt64(0);
    s.logical_bytes = a.ColumnInt64(1);
  }
  DOTDO_ASSIGN_OR_RETURN(auto b, conn.Prepare("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM blob_objects"));
  DOTDO_ASSIGN_OR_RETURN(bool rb, b.Step());
  if (rb) {
    s.objects = b.ColumnInt64(0);
    s.stored_bytes = b.ColumnInt64(1);
  }
  return s;
}

}  // namespace dotdo
