// IcebergTable: snapshot expiry and removal of orphaned metadata files.
#include <algorithm>
#include <set>

#include "tiering/iceberg_internal.h"
#include "tiering/iceberg_table.h"

namespace dotdo::tiering {

namespace {

// Keys a set of snapshots reference: manifest lists, manifests and data files.
struct References {
  std::set<std::string> lists, manifests, data;
};

}  // namespace

Result<IcebergExpireResult> IcebergTable::ExpireSnapshots(int64_t older_than_ms, int retain_last) {
  if (retain_last < 1) return InvalidArgumentError("retain_last must be >= 1");
  std::vector<IcebergSnapshot> expired;
  DOTDO_RETURN_IF_ERROR(Commit([&](IcebergTable& next) -> Result<bool> {
    expired.clear();
    std::vector<IcebergSnapshot> kept;
    const size_t n = next.snapshots_.size();
    for (size_t i = 0; i < n; ++i) {
      const IcebergSnapshot& s = next.snapshots_[i];
      bool keep = s.timestamp_ms >= older_than_ms || i + static_cast<size_t>(retain_last) >= n ||
                  s.snapshot_id == next.current_snapshot_id_;
      (keep ? kept : expired).push_back(s);
    }
    if (expired.empty()) return false;
    std::set<int64_t> gone;
    for (const auto& s : expired) gone.insert(s.snapshot_id);
    next.snapshots_ = std::move(kept);
    std::erase_if(next.snapshot_log_, [&](const auto& e) { return gone.count(e.second) > 0; });
    return true;
  }));
  IcebergExpireResult result;
  if (expired.empty()) return result;
  for (const auto& s : expired) result.expired_snapshot_ids.push_back(s.snapshot_id);

  // `live_only` leaves out data files that a snapshot's manifests list as DELETED. A manifest list
  // already gone (removed by an earlier, interrupted expiry) contributes nothing.
  auto collect = [&](const std::vector<IcebergSnapshot>& snaps, bool live_only, References* refs) -> Status {
    for (const auto& s : snaps) {
      refs->lists.insert(s.manifest_list);
      auto bytes = store_->Get(s.manifest_list);
      if (!bytes.ok() && bytes.status().code() == StatusCode::kNotFound) continue;
      if (!bytes.ok()) return bytes.status();
      DOTDO_ASSIGN_OR_RETURN(auto manifests, internal::DecodeManifestList(*bytes, *this));
      for (const auto& m : manifests) {
        if (!refs->manifests.insert(m.key).second) continue;
        auto entries = ReadManifest(m);
        if (!entries.ok() && entries.status().code() == StatusCode::kNotFound) continue;
        if (!entries.ok()) return entries.status();
        for (const auto& e : *entries)
          if (!live_only || e.status != 2) refs->data.insert(e.file.key);
      }
    }
    return OkStatus();
  };
  References keep, drop;
  DOTDO_RETURN_IF_ERROR(collect(snapshots_, true, &keep));
  DOTDO_RETURN_IF_ERROR(collect(expired, false, &drop));
  // Data files first, manifest lists last: an interrupted expiry leaves only unreferenced files.
  auto remove = [&](const std::set<std::string>& candidates, const std::set<std::string>& referenced,
                    std::vector<std::string>* deleted) -> Status {
    for (const auto& k : candidates) {
      if (referenced.count(k)) continue;
      DOTDO_RETURN_IF_ERROR(store_->Delete(k).WithContext("snapshots expired; deleting unreferenced files"));
      deleted->push_back(k);
    }
    return OkStatus();
  };
  DOTDO_RETURN_IF_ERROR(remove(drop.data, keep.data, &result.deleted_data_files));
  DOTDO_RETURN_IF_ERROR(remove(drop.manifests, keep.manifests, &result.deleted_manifests));
  DOTDO_RETURN_IF_ERROR(remove(drop.lists, keep.lists, &result.deleted_manifest_lists));
  return result;
}

Result<std::vector<std::string>> IcebergTable::RemoveOrphanMetadata(int64_t older_than_ms) {
  DOTDO_RETURN_IF_ERROR(Refresh());  // snapshots other writers committed reference their manifests
  std::set<std::string> referenced;
  for (const auto& s : snapshots_) {
    referenced.insert(s.manifest_list);
    DOTDO_ASSIGN_OR_RETURN(auto manifests, ManifestsOf(s.snapshot_id));
    for (const auto& m : manifests) referenced.insert(m.key);
  }
  std::vector<std::string> removed;
  ObjectListOptions opts;
  opts.prefix = prefix_ + "/metadata/";
  do {
    DOTDO_ASSIGN_OR_RETURN(auto page, store_->List(opts));
    for (const auto& o : page.objects) {
      if (!o.key.ends_with(".avro") || referenced.count(o.key) || o.last_modified_ms >= older_than_ms) continue;
      DOTDO_RETURN_IF_ERROR(store_->Delete(o.key));
      removed.push_back(o.key);
    }
    opts.continuation = page.next_continuation;
  } while (!opts.continuation.empty());
  return removed;
}

}  // namespace dotdo::tiering
