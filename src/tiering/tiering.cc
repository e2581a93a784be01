// Tiering: the public API (Attach, Run, Compact, Status, Files) over the mover's steps.
#include "dotdo/tiering.h"

#include <algorithm>
#include <tuple>

#include "core/names.h"
#include "document/document_reads.h"
#include "tiering/cold.h"
#include "tiering/tierable_store.h"
#include "tiering/tiering_internal.h"
#include "tiering/tiering_mover.h"

namespace dotdo {

using internal::Connection;
using internal::DatabaseInternals;
using tiering::TierState;

namespace {

Status CheckOptions(const TieringOptions& o) {
  if (o.max_documents_per_file < 1 || o.max_documents_per_file > 1000000)
    return InvalidArgumentError("max_documents_per_file must be between 1 and 1000000, got " +
                                std::to_string(o.max_documents_per_file));
  if (o.max_files_per_partition < 1 || o.max_files_per_partition > 1000)
    return InvalidArgumentError("max_files_per_partition must be between 1 and 1000, got " +
                                std::to_string(o.max_files_per_partition));
  for (size_t i = 0; i < o.policies.size(); ++i) {
    const TieringPolicy& p = o.policies[i];
    const std::string where = "tiering policy " + std::to_string(i) + ": ";
    const std::vector<std::string> stores = tiering::TierableStoreNames();
    if (std::find(stores.begin(), stores.end(), p.store) == stores.end()) {
      std::string names;
      for (const std::string& n : stores) names += (names.empty() ? "\"" : ", \"") + n + "\"";
      return InvalidArgumentError(where + "store must be one of the stores that move (" + names + "), got \"" + p.store + "\"");
    }
    if (!p.type.empty()) DOTDO_RETURN_IF_ERROR(internal::ValidateTypeName(p.type, where + "type"));
    if (p.min_age_millis < -1) return InvalidArgumentError(where + "min_age_millis must be -1 (no age rule) or >= 0");
    if (p.max_hot_documents < -1) return InvalidArgumentError(where + "max_hot_documents must be -1 (no cap) or >= 0");
    if (p.cold_after_millis < -1) return InvalidArgumentError(where + "cold_after_millis must be -1 (never) or >= 0");
    if (p.min_idle_millis < -1) return InvalidArgumentError(where + "min_idle_millis must be -1 (no idle rule) or >= 0");
  }
  DOTDO_RETURN_IF_ERROR(tiering::ValidateLocationRoot(o.cold_location_root, "cold_location_root"));
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<Tiering>> Tiering::Attach(Database& db, ObjectStore& objects, TieringOptions options) {
  DOTDO_RETURN_IF_ERROR(CheckOptions(options));
  DOTDO_RETURN_IF_ERROR(internal::EnsureStoreSchema(db, internal::kDocumentSpec));
  DOTDO_RETURN_IF_ERROR(tiering::EnsureTieringSchema(db));
  std::unique_ptr<Tiering> t(new Tiering(std::make_unique<Impl>(db, objects, std::move(options))));
  t->impl_->stores = tiering::MakeTierableStores(db);
  internal::SetDocumentTier(db, &t->impl_->state);
  return t;
}

Tiering::Tiering(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tiering::~Tiering() = default;

const TieringOptions& Tiering::options() const { return impl_->options; }

Result<TieringRunStats> Tiering::Run(int64_t now_millis) {
  TierState& ts = impl_->state;
  Database& db = impl_->db;
  TieringRunStats stats;
  DOTDO_RETURN_IF_ERROR(tiering::FinishColdRewrites(*impl_));
  DOTDO_RETURN_IF_ERROR(tiering::RecoverColdMoves(*impl_));
  DOTDO_ASSIGN_OR_RETURN(stats.files_recovered, tiering::RecoverMoves(ts));
  // Reads recorded by this process count for the idle rule and the cap's order.
  internal::DocumentReadLog& reads = internal::ReadLogOf(db);
  const bool idle_rule = std::any_of(impl_->options.policies.begin(), impl_->options.policies.end(),
                                     [](const TieringPolicy& p) { return p.min_idle_millis >= 0; });
  if (idle_rule) {
    DOTDO_ASSIGN_OR_RETURN(stats.reads_tracked_since, reads.Enable(now_millis));
  } else {
    DOTDO_ASSIGN_OR_RETURN(stats.reads_tracked_since, reads.TrackedSince());
  }
  DOTDO_RETURN_IF_ERROR(reads.Flush());
  DOTDO_RETURN_IF_ERROR(reads.PruneGone());
  DOTDO_ASSIGN_OR_RETURN(std::vector<tiering::MoveGroup> groups,
                         tiering::SelectMoves(ts, impl_->stores, impl_->options, now_millis, stats.reads_tracked_since));
  for (tiering::MoveGroup& g : groups) {
    tiering::TierBatch batch;
    {
      auto lock = DatabaseInternals::Conn(db).Lock();
      DOTDO_ASSIGN_OR_RETURN(batch, g.store->LoadHot(g.type, g.ids));
    }
    if (batch.units.empty()) continue;
    DOTDO_ASSIGN_OR_RETURN(tiering::PreparedFile pf, tiering::WriteFile(ts, *g.store, g.type, g.day, std::move(batch)));
    // A file that does not verify is removed; its rows stay hot.
    Status verified = tiering::VerifyFile(ts, *g.store, pf);
    if (!verified.ok()) {
      (void)tiering::RecoverMoves(ts);
      return verified;
    }
    DOTDO_ASSIGN_OR_RETURN(int64_t moved, tiering::RegisterFile(ts, *g.store, pf, &stats.skipped_changed));
    stats.documents_moved += moved;
    stats.versions_moved += pf.versions;
    stats.files_written++;
    stats.bytes_written += pf.bytes;
  }
  // Then warm files that are due go cold; an interrupted cold move is settled by the next Run.
  Status cold = tiering::MoveToCold(*impl_, now_millis, stats);
  if (!cold.ok()) {
    (void)tiering::RecoverColdMoves(*impl_);
    (void)tiering::RecoverMoves(ts);
    return cold;
  }
  DOTDO_ASSIGN_OR_RETURN(int64_t cleaned, tiering::RecoverMoves(ts));  // the warm copies of cold files
  (void)cleaned;
  return stats;
}

Result<TieringRunStats> Tiering::Compact() {
  TierState& ts = impl_->state;
  Database& db = impl_->db;
  TieringRunStats stats;
  DOTDO_RETURN_IF_ERROR(tiering::FinishColdRewrites(*impl_));
  DOTDO_RETURN_IF_ERROR(tiering::RecoverColdMoves(*impl_));
  DOTDO_ASSIGN_OR_RETURN(stats.files_recovered, tiering::RecoverMoves(ts));
  auto lock = internal::DatabaseInternals::Conn(db).Lock();
  DOTDO_ASSIGN_OR_RETURN(int64_t epoch, ts.StateValue("epoch"));
  DOTDO_ASSIGN_OR_RETURN(const std::vector<tiering::FileEntry>* files, ts.Files());
  // (store, table, day) -> its warm files.
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<const tiering::FileEntry*>> partitions;
  // Warm partitions only: cold files are Iceberg data files, rewritten only through the table.
  for (const auto& f : *files)
    if (f.info.tier == tiering::kTierWarm) partitions[{f.info.store, f.info.table, f.info.day}].push_back(&f);
  std::vector<tiering::PreparedFile> added;
  std::vector<const tiering::FileEntry*> removed;
  for (auto& [part, list] : partitions) {
    if (static_cast<int64_t>(list.size()) <= impl_->options.max_files_per_partition) continue;
    tiering::TierableStore* store = impl_->Store(std::get<0>(part));
    if (store == nullptr) continue;  // files of a store this process does not move stay as they are
    const std::string& table = std::get<1>(part);
    DOTDO_ASSIGN_OR_RETURN(std::vector<tiering::TierBatch> batches,
                           store->LoadFiles(ts, table, list, impl_->options.max_documents_per_file));
    removed.insert(removed.end(), list.begin(), list.end());
    for (tiering::TierBatch& batch : batches) {
      DOTDO_ASSIGN_OR_RETURN(tiering::PreparedFile pf, tiering::WriteFile(ts, *store, table, std::get<2>(part), std::move(batch)));
      DOTDO_RETURN_IF_ERROR(tiering::VerifyFile(ts, *store, pf));
      stats.files_written++;
      stats.bytes_written += pf.bytes;
      added.push_back(std::move(pf));
    }
  }
  if (!removed.empty()) {
    Status registered = tiering::RegisterCompaction(ts, added, removed, epoch);
    // Whether it landed or not, the objects no longer registered go (new ones on failure, old ones
    // on success).
    DOTDO_ASSIGN_OR_RETURN(int64_t cleaned, tiering::RecoverMoves(ts));
    (void)cleaned;
    DOTDO_RETURN_IF_ERROR(registered);
    stats.files_compacted = static_cast<int64_t>(removed.size());
  }
  // Then the cold tier: partitions with masked rows or too many files are rewritten in the table.
  DOTDO_RETURN_IF_ERROR(tiering::CompactCold(*impl_, stats));
  return stats;
}

Result<std::vector<TierFileInfo>> Tiering::Files(std::string_view table) {
  if (!table.empty()) DOTDO_RETURN_IF_ERROR(internal::ValidateTypeName(table, "table"));
  auto lock = DatabaseInternals::Conn(impl_->db).Lock();
  DOTDO_ASSIGN_OR_RETURN(const std::vector<tiering::FileEntry>* files, impl_->state.Files());
  std::vector<TierFileInfo> out;
  for (const auto& f : *files)
    if (table.empty() || f.info.table == table) out.push_back(f.info);
  return out;
}

Result<std::vector<TierTableStatus>> Tiering::Tables() {
  Database& db = impl_->db;
  Connection& conn = DatabaseInternals::Conn(db);
  auto lock = conn.Lock();
  std::map<std::pair<std::string, std::string>, TierTableStatus> by_table;  // (store, table)
  for (const auto& store : impl_->stores) {
    DOTDO_ASSIGN_OR_RETURN(auto tables, store->HotTables());
    for (const auto& [table, hot] : tables)
      if (hot > 0) by_table[{std::string(store->Name()), table}].hot_documents = hot;
  }
  DOTDO_ASSIGN_OR_RETURN(const std::vector<tiering::FileEntry>* files, impl_->state.Files());
  for (const auto& f : *files) {
    TierTableStatus& t = by_table[{f.info.store, f.info.table}];
    const bool cold = f.info.tier == tiering::kTierCold;
    (cold ? t.cold_files : t.warm_files)++;
    (cold ? t.cold_bytes : t.warm_bytes) += f.info.bytes;
    (cold ? t.cold_documents : t.warm_documents) += f.info.live;
  }
  // Masked rows are live elsewhere (hot again) or gone: count them out exactly.
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT f.store, f.tbl, f.tier, count(*) FROM tier_masks m JOIN tier_files f "
                                                 "USING (file_id) GROUP BY f.store, f.tbl, f.tier"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      TierTableStatus& t = by_table[{st.ColumnString(0), st.ColumnString(1)}];
      (st.ColumnString(2) == tiering::kTierCold ? t.cold_documents : t.warm_documents) -= st.ColumnInt64(3);
    }
  }
  std::vector<TierTableStatus> out;
  for (auto& [key, t] : by_table) {
    t.store = key.first;
    t.table = key.second;
    t.warm_documents = std::max<int64_t>(0, t.warm_documents);
    t.cold_documents = std::max<int64_t>(0, t.cold_documents);
    out.push_back(t);
  }
  return out;
}

Result<std::vector<ColdSnapshot>> Tiering::ColdSnapshots(std::string_view store) {
  if (store != "document") return InvalidArgumentError("store must be \"document\", got \"" + std::string(store) + "\"");
  Result<tiering::IcebergTable> table = tiering::IcebergTable::Load(impl_->state.objects(), std::string(tiering::kColdDocumentsPrefix));
  if (!table.ok() && table.status().code() == StatusCode::kNotFound) return std::vector<ColdSnapshot>{};
  DOTDO_RETURN_IF_ERROR(table.status());
  std::vector<ColdSnapshot> out;
  for (const tiering::IcebergSnapshot& s : table->Snapshots()) {
    ColdSnapshot c;
    c.snapshot_id = s.snapshot_id;
    c.timestamp_ms = s.timestamp_ms;
    c.operation = s.operation;
    DOTDO_ASSIGN_OR_RETURN(std::vector<tiering::IcebergDataFile> files, table->Files(s.snapshot_id));
    c.files = static_cast<int64_t>(files.size());
    for (const auto& f : files) c.records += f.record_count;
    out.push_back(c);
  }
  return out;
}

Result<ColdExpireStats> Tiering::ExpireColdSnapshots(int64_t older_than_ms, int retain_last) {
  if (retain_last < 1) return InvalidArgumentError("retain_last must be >= 1, got " + std::to_string(retain_last));
  // A rewrite registered but not committed to the table is committed first: expiry then sees the
  // table as the accelerator does.
  DOTDO_RETURN_IF_ERROR(tiering::FinishColdRewrites(*impl_));
  Result<tiering::IcebergTable> table = tiering::IcebergTable::Load(impl_->state.objects(), std::string(tiering::kColdDocumentsPrefix));
  if (!table.ok() && table.status().code() == StatusCode::kNotFound) return ColdExpireStats{};
  DOTDO_RETURN_IF_ERROR(table.status());
  table->SetClock(&impl_->db.clock());
  DOTDO_ASSIGN_OR_RETURN(tiering::IcebergExpireResult r, table->ExpireSnapshots(older_than_ms, retain_last));
  impl_->cold_documents.reset();  // the cached handle reloads the new head
  ColdExpireStats out;
  out.snapshots_expired = static_cast<int64_t>(r.expired_snapshot_ids.size());
  out.data_files_deleted = static_cast<int64_t>(r.deleted_data_files.size());
  out.metadata_files_deleted = static_cast<int64_t>(r.deleted_manifest_lists.size() + r.deleted_manifests.size());
  return out;
}

}  // namespace dotdo
