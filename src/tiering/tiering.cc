// Tiering: the public API (Attach, Run, Compact, Status, Files) over the mover's steps.
#include "dotdo/tiering.h"

#include <algorithm>

#include "core/names.h"
#include "document/document_reads.h"
#include "tiering/cold.h"
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
    if (p.store != "document")
      return InvalidArgumentError(where + "store must be \"document\" (the store that moves in this release), got \"" + p.store + "\"");
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
                         tiering::SelectMoves(ts, impl_->options, now_millis, stats.reads_tracked_since));
  for (tiering::MoveGroup& g : groups) {
    std::vector<tiering::FileRow> rows;
    std::vector<std::string> hot_paths;
    {
      auto lock = DatabaseInternals::Conn(db).Lock();
      DOTDO_ASSIGN_OR_RETURN(rows, tiering::LoadHotRows(db, g.ids));
      DOTDO_ASSIGN_OR_RETURN(hot_paths, tiering::HotPathsOf(db, g.type));
    }
    if (rows.empty()) continue;
    DOTDO_ASSIGN_OR_RETURN(tiering::PreparedFile pf, tiering::WriteFile(ts, g.type, g.day, std::move(rows), hot_paths));
    // A file that does not verify is removed; its rows stay hot.
    Status verified = tiering::VerifyFile(ts, pf);
    if (!verified.ok()) {
      (void)tiering::RecoverMoves(ts);
      return verified;
    }
    DOTDO_ASSIGN_OR_RETURN(int64_t moved, tiering::RegisterFile(ts, pf, &stats.skipped_changed));
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
  DOTDO_RETURN_IF_ERROR(tiering::RecoverColdMoves(*impl_));
  DOTDO_ASSIGN_OR_RETURN(stats.files_recovered, tiering::RecoverMoves(ts));
  auto lock = internal::DatabaseInternals::Conn(db).Lock();
  DOTDO_ASSIGN_OR_RETURN(int64_t epoch, ts.StateValue("epoch"));
  DOTDO_ASSIGN_OR_RETURN(const std::vector<tiering::FileEntry>* files, ts.Files());
  std::map<std::pair<std::string, std::string>, std::vector<const tiering::FileEntry*>> partitions;
  // Warm partitions only: cold files are Iceberg data files, rewritten only through the table.
  for (const auto& f : *files)
    if (f.info.tier == tiering::kTierWarm) partitions[{f.info.table, f.info.day}].push_back(&f);
  std::vector<tiering::PreparedFile> added;
  std::vector<const tiering::FileEntry*> removed;
  for (auto& [part, list] : partitions) {
    if (static_cast<int64_t>(list.size()) <= impl_->options.max_files_per_partition) continue;
    std::vector<tiering::FileRow> rows;
    for (const tiering::FileEntry* f : list) {
      DOTDO_ASSIGN_OR_RETURN(std::vector<tiering::FileRow> part_rows, tiering::ReadUnmaskedRows(ts, *f));
      for (auto& r : part_rows) rows.push_back(std::move(r));
      removed.push_back(f);
    }
    DOTDO_ASSIGN_OR_RETURN(std::vector<std::string> hot_paths, tiering::HotPathsOf(db, part.first));
    // Rows of one id stay together; a file holds at most max_documents_per_file ids.
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    std::vector<tiering::FileRow> chunk;
    int64_t ids = 0;
    auto flush = [&]() -> Status {
      if (chunk.empty()) return OkStatus();
      DOTDO_ASSIGN_OR_RETURN(tiering::PreparedFile pf, tiering::WriteFile(ts, part.first, part.second, std::move(chunk), hot_paths));
      DOTDO_RETURN_IF_ERROR(tiering::VerifyFile(ts, pf));
      stats.files_written++;
      stats.bytes_written += pf.bytes;
      added.push_back(std::move(pf));
      chunk.clear();
      ids = 0;
      return OkStatus();
    };
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i == 0 || rows[i].id != rows[i - 1].id) {
        if (ids == impl_->options.max_documents_per_file) DOTDO_RETURN_IF_ERROR(flush());
        ++ids;
      }
      chunk.push_back(std::move(rows[i]));
    }
    DOTDO_RETURN_IF_ERROR(flush());
  }
  if (removed.empty()) return stats;
  Status registered = tiering::RegisterCompaction(ts, added, removed, epoch);
  // Whether it landed or not, the objects no longer registered go (new ones on failure, old ones
  // on success).
  DOTDO_ASSIGN_OR_RETURN(int64_t cleaned, tiering::RecoverMoves(ts));
  (void)cleaned;
  DOTDO_RETURN_IF_ERROR(registered);
  stats.files_compacted = static_cast<int64_t>(removed.size());
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
  std::map<std::string, TierTableStatus> by_table;
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT type, count(*) FROM doc_documents WHERE deleted = 0 GROUP BY type"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      TierTableStatus& t = by_table[st.ColumnString(0)];
      t.hot_documents = st.ColumnInt64(1);
    }
  }
  DOTDO_ASSIGN_OR_RETURN(const std::vector<tiering::FileEntry>* files, impl_->state.Files());
  for (const auto& f : *files) {
    TierTableStatus& t = by_table[f.info.table];
    const bool cold = f.info.tier == tiering::kTierCold;
    (cold ? t.cold_files : t.warm_files)++;
    (cold ? t.cold_bytes : t.warm_bytes) += f.info.bytes;
    (cold ? t.cold_documents : t.warm_documents) += f.info.live;
  }
  // Masked rows are live elsewhere (hot again) or gone: count them out exactly.
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT f.tbl, f.tier, count(*) FROM tier_masks m JOIN tier_files f "
                                                 "USING (file_id) GROUP BY f.tbl, f.tier"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      TierTableStatus& t = by_table[st.ColumnString(0)];
      (st.ColumnString(1) == tiering::kTierCold ? t.cold_documents : t.warm_documents) -= st.ColumnInt64(2);
    }
  }
  std::vector<TierTableStatus> out;
  for (auto& [table, t] : by_table) {
    t.store = "document";
    t.table = table;
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

}  // namespace dotdo
