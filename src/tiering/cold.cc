// The cold tier's mover and table (see cold.h). The Iceberg table is the interoperable record of
// the cold files (any Iceberg reader sees them); the accelerator rows in tier_files stay the index
// dotdo reads through, so reads fall through hot → warm → cold by the same code.
#include "tiering/cold.h"

#include <map>
#include <set>
#include <tuple>

#include "tiering/tiering_mover.h"

namespace dotdo::tiering {

using internal::Connection;
using internal::DatabaseInternals;

namespace {

constexpr std::string_view kWarmPrefix = "documents/";
constexpr std::string_view kColdDataPrefix = "cold/documents/data/";

// The cold table's schema: the document file's system columns, by name (DuckDB writes no field
// ids; readers map by name). Typed hot-path columns vary per file and stay out of the schema.
IcebergSchema DocumentSchema() {
  return IcebergSchema{0,
                       {{1, "_seq", "long", true},
                        {2, "$id", "string", true},
                        {3, "$type", "string", true},
                        {4, "$version", "long", true},
                        {5, "$createdAt", "timestamp", true},
                        {6, "$updatedAt", "timestamp", true},
                        {7, "_deleted", "boolean", true},
                        {8, "_current", "boolean", true},
                        {9, "_valid_from", "long", true},
                        {10, "_valid_to", "long", false},
                        {11, "doc", "string", true}}};
}

// The spec's name mapping for data files without field ids (DuckDB writes none): each field id
// maps to its column name, so readers that resolve columns by id find them.
std::string NameMapping(const IcebergSchema& schema) {
  Json mapping = Json::array();
  for (const auto& f : schema.fields) mapping.push_back({{"field-id", f.id}, {"names", {f.name}}});
  return mapping.dump();
}

// Days since 1970-01-01 of "YYYY-MM-DD".
Result<int64_t> DaysOf(std::string_view day) {
  DOTDO_ASSIGN_OR_RETURN(int64_t ms, ParseIso8601(std::string(day) + "T00:00:00Z"));
  return ms / 86'400'000;
}

Status AddIntent(TierState& ts, const std::string& key) {
  auto lock = DatabaseInternals::Conn(ts.db()).Lock();
  return ts.db().Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(ts.db()).Prepare(
                                        "INSERT OR REPLACE INTO tier_moves(key, started_at) VALUES (?1, ?2)"));
    st.Bind(1, key).Bind(2, ts.db().NowMillis());
    return st.Run();
  });
}

// The warm file becomes the cold file: same accelerator entry, new key and tier; the warm object is
// left as garbage for RecoverMoves.
Status RegisterCold(TierState& ts, int64_t file_id, const std::string& warm_key, const std::string& cold_key) {
  Database& db = ts.db();
  Connection& conn = DatabaseInternals::Conn(db);
  auto lock = conn.Lock();
  return db.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto upd, conn.Prepare("UPDATE tier_files SET key = ?2, tier = 'cold' WHERE file_id = ?1 AND key = ?3"));
    upd.Bind(1, file_id).Bind(2, cold_key).Bind(3, warm_key);
    DOTDO_RETURN_IF_ERROR(upd.Run());
    DOTDO_ASSIGN_OR_RETURN(auto gone, conn.Prepare("INSERT OR REPLACE INTO tier_moves(key, started_at) VALUES (?1, ?2)"));
    gone.Bind(1, warm_key).Bind(2, db.NowMillis());
    DOTDO_RETURN_IF_ERROR(gone.Run());
    DOTDO_ASSIGN_OR_RETURN(auto done, conn.Prepare("DELETE FROM tier_moves WHERE key = ?1"));
    done.Bind(1, cold_key);
    DOTDO_RETURN_IF_ERROR(done.Run());
    return ts.BumpEpoch();
  });
}

IcebergDataFile DataFileOf(const FileEntry& f, const std::string& cold_key, int64_t days) {
  IcebergDataFile d;
  d.key = cold_key;
  d.file_size_bytes = f.info.bytes;
  d.record_count = f.info.documents + f.info.versions;
  d.partition = {f.info.table, days};
  d.lower_bounds[3] = f.info.table;
  d.upper_bounds[3] = f.info.table;
  d.value_counts[2] = d.record_count;
  d.null_value_counts[2] = 0;
  return d;
}

// Whether `key` is a live file of the table's current snapshot.
Result<bool> IsLive(IcebergTable& table, const std::string& key) {
  DOTDO_RETURN_IF_ERROR(table.Refresh());
  IcebergPruner only;
  only.keep_file = [&](const IcebergDataFile& f) { return f.key == key; };
  DOTDO_ASSIGN_OR_RETURN(std::vector<IcebergDataFile> files, table.Files({}, &only));
  return !files.empty();
}

}  // namespace

Status ValidateLocationRoot(std::string_view configured, std::string_view what) {
  if (configured.empty() || (configured.back() == '/' && configured.find("://") != std::string_view::npos))
    return OkStatus();
  return InvalidArgumentError(std::string(what) + " must be a URI ending in '/', e.g. \"s3://bucket/prefix/\"");
}

Result<std::string> LocationRoot(ObjectStore& objects, const std::string& configured, std::string_view what) {
  DOTDO_RETURN_IF_ERROR(ValidateLocationRoot(configured, what));
  if (!configured.empty()) return configured;
  if (auto* local = dynamic_cast<LocalObjectStore*>(&objects)) return "file://" + local->DataPath("x").parent_path().string() + "/";
  return std::string("dotdo-objects:///");
}

std::string ColdDataPrefixOf(const TierableStore& store) { return "cold/" + std::string(store.KeyPrefix()) + "/data"; }

std::string ColdKeyOf(std::string_view warm_key) {
  return std::string(kColdDataPrefix) + std::string(warm_key.substr(kWarmPrefix.size()));
}

std::optional<std::string> WarmKeyOf(std::string_view cold_key) {
  if (!cold_key.starts_with(kColdDataPrefix)) return std::nullopt;
  return std::string(kWarmPrefix) + std::string(cold_key.substr(kColdDataPrefix.size()));
}

Result<IcebergTable*> ColdDocumentTable(Tiering::Impl& impl) {
  if (impl.cold_documents) return &*impl.cold_documents;
  ObjectStore& store = impl.state.objects();
  Result<IcebergTable> loaded = IcebergTable::Load(store, std::string(kColdDocumentsPrefix));
  if (!loaded.ok() && loaded.status().code() == StatusCode::kNotFound) {
    DOTDO_ASSIGN_OR_RETURN(std::string root, LocationRoot(store, impl.options.cold_location_root, "cold_location_root"));
    loaded = IcebergTable::Create(store, std::string(kColdDocumentsPrefix), root + std::string(kColdDocumentsPrefix),
                                  DocumentSchema(), {{3, 1000, "type", "identity"}, {5, 1001, "dt", "day"}},
                                  {{"dotdo.store", "document"}, {"schema.name-mapping.default", NameMapping(DocumentSchema())}});
    // Another process created it first: use theirs.
    if (!loaded.ok() && loaded.status().code() == StatusCode::kAlreadyExists)
      loaded = IcebergTable::Load(store, std::string(kColdDocumentsPrefix));
  }
  DOTDO_RETURN_IF_ERROR(loaded.status());
  impl.cold_documents = std::move(loaded).value();
  impl.cold_documents->SetClock(&impl.db.clock());
  return &*impl.cold_documents;
}

Status MoveToCold(Tiering::Impl& impl, int64_t now, TieringRunStats& stats) {
  TierState& ts = impl.state;
  // Which warm files are due: the first policy naming the type (or every type) decides.
  std::vector<FileEntry> due;
  {
    auto lock = DatabaseInternals::Conn(ts.db()).Lock();
    DOTDO_ASSIGN_OR_RETURN(const std::vector<FileEntry>* files, ts.Files());
    for (const FileEntry& f : *files) {
      if (f.info.store != "document" || f.info.tier != kTierWarm) continue;
      for (const TieringPolicy& p : impl.options.policies) {
        if (p.store != "document" || (!p.type.empty() && p.type != f.info.table)) continue;
        if (p.cold_after_millis >= 0 && f.info.created_at <= now - p.cold_after_millis) due.push_back(f);
        break;
      }
    }
  }
  if (due.empty()) return OkStatus();
  DOTDO_ASSIGN_OR_RETURN(IcebergTable * table, ColdDocumentTable(impl));
  DOTDO_RETURN_IF_ERROR(table->Refresh());
  for (const FileEntry& f : due) {
    const std::string cold_key = ColdKeyOf(f.info.key);
    DOTDO_ASSIGN_OR_RETURN(int64_t days, DaysOf(f.info.day));
    DOTDO_RETURN_IF_ERROR(AddIntent(ts, cold_key));
    ObjectCopyOptions copy;
    copy.storage_class = std::string(kStorageClassInfrequentAccess);
    copy.if_source_match = f.info.sha256;
    DOTDO_ASSIGN_OR_RETURN(ObjectInfo copied, ts.objects().Copy(f.info.key, cold_key, copy));
    if (copied.etag != f.info.sha256 || static_cast<int64_t>(copied.size) != f.info.bytes)
      return DataLossError("the cold copy '" + cold_key + "' does not match warm file '" + f.info.key + "'");
    Result<IcebergSnapshot> appended = table->Append({DataFileOf(f, cold_key, days)}, {{"dotdo.tier-file", cold_key}});
    // kAlreadyExists: an earlier, ambiguous attempt landed.
    if (!appended.ok() && appended.status().code() != StatusCode::kAlreadyExists) return appended.status();
    DOTDO_RETURN_IF_ERROR(RegisterCold(ts, f.file_id, f.info.key, cold_key));
    stats.files_to_cold++;
    stats.bytes_to_cold += f.info.bytes;
  }
  return OkStatus();
}

Status RecoverColdMoves(Tiering::Impl& impl) {
  TierState& ts = impl.state;
  Connection& conn = DatabaseInternals::Conn(ts.db());
  struct Pending {
    std::string cold_key, warm_key;
    int64_t file_id = 0;
  };
  std::vector<Pending> pending;
  {
    auto lock = conn.Lock();
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT key FROM tier_moves"));
    DOTDO_ASSIGN_OR_RETURN(auto source, conn.Prepare("SELECT file_id FROM tier_files WHERE key = ?1"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      const std::string key = st.ColumnString(0);
      std::optional<std::string> warm = WarmKeyOf(key);
      if (!warm) continue;
      source.Reset();
      source.Bind(1, *warm);
      DOTDO_ASSIGN_OR_RETURN(bool registered, source.Step());
      if (registered) pending.push_back({key, *warm, source.ColumnInt64(0)});
    }
  }
  if (pending.empty()) return OkStatus();
  DOTDO_ASSIGN_OR_RETURN(IcebergTable * table, ColdDocumentTable(impl));
  for (const Pending& p : pending) {
    DOTDO_ASSIGN_OR_RETURN(bool live, IsLive(*table, p.cold_key));
    if (live) {
      DOTDO_RETURN_IF_ERROR(RegisterCold(ts, p.file_id, p.warm_key, p.cold_key));
      continue;
    }
    // Not appended: the copy (if any) goes, the file stays warm.
    Status del = ts.objects().Delete(p.cold_key);
    if (!del.ok() && del.code() != StatusCode::kNotFound) return del;
    auto lock = conn.Lock();
    DOTDO_RETURN_IF_ERROR(ts.db().Transaction([&]() -> Status {
      DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("DELETE FROM tier_moves WHERE key = ?1"));
      st.Bind(1, p.cold_key);
      return st.Run();
    }));
  }
  return OkStatus();
}

Status CompactCold(Tiering::Impl& impl, TieringRunStats& stats) {
  TierState& ts = impl.state;
  TierableStore* store = impl.Store("document");
  if (store == nullptr) return OkStatus();
  auto lock = DatabaseInternals::Conn(ts.db()).Lock();
  DOTDO_ASSIGN_OR_RETURN(int64_t epoch, ts.StateValue("epoch"));
  std::map<std::pair<std::string, std::string>, std::vector<FileEntry>> partitions;  // (table, day)
  {
    DOTDO_ASSIGN_OR_RETURN(const std::vector<FileEntry>* files, ts.Files());
    for (const FileEntry& f : *files)
      if (f.info.store == store->Name() && f.info.tier == kTierCold) partitions[{f.info.table, f.info.day}].push_back(f);
  }
  std::vector<PreparedFile> added;
  std::vector<const FileEntry*> removed;
  for (auto& [part, list] : partitions) {
    const bool masked = std::any_of(list.begin(), list.end(), [](const FileEntry& f) { return f.info.masked > 0; });
    if (!masked && static_cast<int64_t>(list.size()) <= impl.options.max_files_per_partition) continue;
    std::vector<const FileEntry*> sources;
    for (const FileEntry& f : list) sources.push_back(&f);
    DOTDO_ASSIGN_OR_RETURN(std::vector<TierBatch> batches,
                           store->LoadFiles(ts, part.first, sources, impl.options.max_documents_per_file));
    removed.insert(removed.end(), sources.begin(), sources.end());
    for (TierBatch& batch : batches) {
      DOTDO_ASSIGN_OR_RETURN(PreparedFile pf, WriteFile(ts, *store, part.first, part.second, std::move(batch), kTierCold));
      DOTDO_RETURN_IF_ERROR(VerifyFile(ts, *store, pf));
      stats.files_written++;
      stats.bytes_written += pf.bytes;
      added.push_back(std::move(pf));
    }
  }
  if (removed.empty()) return OkStatus();
  Status registered = RegisterCompaction(ts, added, removed, epoch, kTierCold);
  // On failure the new objects are unregistered intents: they go.
  DOTDO_ASSIGN_OR_RETURN(int64_t cleaned, RecoverMoves(ts));
  (void)cleaned;
  DOTDO_RETURN_IF_ERROR(registered);
  stats.files_compacted += static_cast<int64_t>(removed.size());
  return FinishColdRewrites(impl);
}

Status FinishColdRewrites(Tiering::Impl& impl) {
  TierState& ts = impl.state;
  Connection& conn = DatabaseInternals::Conn(ts.db());
  std::vector<std::string> old_keys;
  std::vector<FileEntry> new_files;
  {
    auto lock = conn.Lock();
    if (!conn.TableExists("tier_cold_rewrites")) return OkStatus();
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT key, added FROM tier_cold_rewrites WHERE store = 'document' ORDER BY key"));
    std::set<std::string> adds;
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (st.ColumnInt64(1) != 0) adds.insert(st.ColumnString(0));
      else old_keys.push_back(st.ColumnString(0));
    }
    if (old_keys.empty() && adds.empty()) return OkStatus();
    DOTDO_ASSIGN_OR_RETURN(const std::vector<FileEntry>* files, ts.Files());
    for (const FileEntry& f : *files)
      if (adds.count(f.info.key) != 0) new_files.push_back(f);
  }
  DOTDO_ASSIGN_OR_RETURN(IcebergTable * table, ColdDocumentTable(impl));
  DOTDO_RETURN_IF_ERROR(table->Refresh());
  DOTDO_ASSIGN_OR_RETURN(std::vector<IcebergDataFile> current, table->Files());
  std::set<std::string> live;
  for (const IcebergDataFile& d : current) live.insert(d.key);
  // What is still to do: an earlier attempt may have landed (then nothing is).
  std::vector<std::string> remove;
  for (const std::string& k : old_keys)
    if (live.count(k) != 0) remove.push_back(k);
  std::vector<IcebergDataFile> add;
  for (const FileEntry& f : new_files) {
    if (live.count(f.info.key) != 0) continue;
    DOTDO_ASSIGN_OR_RETURN(int64_t days, DaysOf(f.info.day));
    add.push_back(DataFileOf(f, f.info.key, days));
  }
  if (!remove.empty()) {
    DOTDO_RETURN_IF_ERROR(table->Rewrite(remove, add).status());
  } else if (!add.empty()) {
    DOTDO_RETURN_IF_ERROR(table->Append(add).status());
  }
  auto lock = conn.Lock();
  return ts.db().Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM tier_cold_rewrites WHERE key = ?1"));
    for (const std::string& k : old_keys) {
      del.Reset();
      del.Bind(1, k);
      DOTDO_RETURN_IF_ERROR(del.Run());
    }
    for (const FileEntry& f : new_files) {
      del.Reset();
      del.Bind(1, f.info.key);
      DOTDO_RETURN_IF_ERROR(del.Run());
    }
    return OkStatus();
  });
}

}  // namespace dotdo::tiering
