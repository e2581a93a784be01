// The mover: the stores' policies select units of rows (whole documents for the DocumentStore),
// each (store, type, day) group becomes a Parquet file that is written, verified and registered,
// and the hot rows leave in the registering transaction. Also recovery of interrupted runs and the
// registration of compactions. What is store-specific is the TierableStore's.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>

#include "core/json.h"
#include "core/json_path.h"
#include "core/sha256.h"
#include "tiering/cold.h"
#include "tiering/tiering_internal.h"
#include "tiering/tiering_mover.h"

namespace dotdo::tiering {

using internal::Connection;
using internal::DatabaseInternals;

namespace {

// A temp file removed when it goes out of scope.
struct TempFile {
  std::filesystem::path path;
  TempFile() {
    path = std::filesystem::temp_directory_path() / ("dotdo-tier-" + internal::RandomHex(12) + ".parquet");
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

Result<std::string> ReadFileBytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return InternalError("cannot read '" + p.string() + "'");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

Result<PreparedFile> WriteFile(TierState& ts, const TierableStore& store, std::string_view type, std::string_view day,
                               TierBatch batch, std::string_view tier) {
  PreparedFile pf;
  pf.store = std::string(store.Name());
  pf.tier = std::string(tier);
  pf.type = std::string(type);
  pf.day = std::string(day);
  const std::string prefix = tier == kTierCold ? ColdDataPrefixOf(store) : std::string(store.KeyPrefix());
  pf.key = prefix + "/type=" + pf.type + "/dt=" + pf.day + "/part-" + ts.db().NewId() + ".parquet";
  // Accelerator: id bloom (tombstones included: reads and bring-back must find them), per-path
  // stats + bloom over the live units, counts.
  internal::BloomFilter id_bloom(std::max<size_t>(batch.units.size(), 1));
  std::vector<FileEntry::PathEntry> paths;
  for (size_t i = 0; i < batch.hot_paths.size(); ++i)
    paths.push_back(FileEntry::PathEntry{internal::PathStats{}, internal::BloomFilter(std::max<size_t>(batch.units.size(), 1))});
  for (const TierUnit& u : batch.units) {
    id_bloom.Add(IdHash(u.key));
    ++pf.documents;
    if (!u.live) continue;
    ++pf.live;
    for (const auto& [i, sv] : u.values) {
      auto& s = paths[i].stats;
      if (sv.is_number) {
        double lo = sv.number, hi = sv.number;
        if (!sv.exact) {
          lo = std::nextafter(lo, -INFINITY);
          hi = std::nextafter(hi, INFINITY);
        }
        s.min_num = s.min_num ? std::min(*s.min_num, lo) : lo;
        s.max_num = s.max_num ? std::max(*s.max_num, hi) : hi;
      } else {
        s.min_str = s.min_str ? std::min(*s.min_str, sv.text) : sv.text;
        s.max_str = s.max_str ? std::max(*s.max_str, sv.text) : sv.text;
      }
      paths[i].bloom.Add(ValueHash(sv.bloom_key));
    }
  }
  pf.id_bloom = id_bloom.Serialize();
  Json pj = Json::object();
  for (size_t i = 0; i < batch.hot_paths.size(); ++i) {
    const auto& entry = paths[i];
    Json s = Json::object();
    if (entry.stats.min_num) s["min_num"] = *entry.stats.min_num, s["max_num"] = *entry.stats.max_num;
    if (entry.stats.min_str) s["min_str"] = *entry.stats.min_str, s["max_str"] = *entry.stats.max_str;
    pj[batch.hot_paths[i]] = std::move(s);
    pf.path_blooms[batch.hot_paths[i]] = entry.bloom.Serialize();
  }
  pf.paths_json = internal::DumpJson(pj);
  pf.versions = batch.versions;
  pf.rows = batch.rows;
  pf.max_seq = batch.max_seq;
  pf.seq_sum = batch.checksum;

  // The Parquet file, through DuckDB: the store appends its rows into a staging table.
  DOTDO_RETURN_IF_ERROR(ts.OpenDuck());
  DuckSession& duck = ts.duck();
  DOTDO_RETURN_IF_ERROR(duck.Exec("CREATE OR REPLACE TEMP TABLE stage (" + ColumnsDdl(batch.columns) + ")"));
  {
    DOTDO_ASSIGN_OR_RETURN(DuckSession::Appender app, duck.Append("stage"));
    Status appended = batch.append(app);
    Status closed = app.Close();
    DOTDO_RETURN_IF_ERROR(appended);
    DOTDO_RETURN_IF_ERROR(closed);
  }
  pf.units = std::move(batch.units);
  TempFile tmp;
  DOTDO_RETURN_IF_ERROR(duck.Exec("COPY (SELECT * FROM stage ORDER BY " + batch.order_by + ") TO " +
                                  DuckSession::Literal(tmp.path.string()) +
                                  " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384)"));
  DOTDO_RETURN_IF_ERROR(duck.Exec("DROP TABLE stage"));
  DOTDO_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(tmp.path));
  pf.sha256 = internal::Sha256::Hex(bytes);
  pf.bytes = static_cast<int64_t>(bytes.size());
  // The intent first: a crash from here on leaves a key the next Run removes unless registered.
  {
    auto lock = DatabaseInternals::Conn(ts.db()).Lock();
    DOTDO_RETURN_IF_ERROR(ts.db().Transaction([&]() -> Status {
      DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(ts.db()).Prepare(
                                          "INSERT OR REPLACE INTO tier_moves(key, started_at) VALUES (?1, ?2)"));
      st.Bind(1, pf.key).Bind(2, ts.db().NowMillis());
      return st.Run();
    }));
  }
  ObjectPutOptions put;
  put.content_type = "application/vnd.apache.parquet";
  if (tier == kTierCold) put.storage_class = std::string(kStorageClassInfrequentAccess);
  DOTDO_ASSIGN_OR_RETURN(ObjectInfo info, ts.objects().Put(pf.key, bytes, put));
  (void)info;
  return pf;
}

Status VerifyFile(TierState& ts, const TierableStore& store, const PreparedFile& pf) {
  DOTDO_ASSIGN_OR_RETURN(ObjectInfo head, ts.objects().Head(pf.key));
  if (static_cast<int64_t>(head.size) != pf.bytes)
    return DataLossError("warm file '" + pf.key + "' has " + std::to_string(head.size) + " bytes, wrote " +
                         std::to_string(pf.bytes));
  TierFileInfo f;
  f.key = pf.key;
  f.sha256 = pf.sha256;
  DOTDO_ASSIGN_OR_RETURN(std::string path, ts.LocalFile(f));
  if (dynamic_cast<LocalObjectStore*>(&ts.objects()) != nullptr) {
    DOTDO_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path));
    if (internal::Sha256::Hex(bytes) != pf.sha256)
      return DataLossError("warm file '" + pf.key + "' does not read back with the SHA-256 written");
  }
  DOTDO_ASSIGN_OR_RETURN(DuckResult r, ts.duck().Query("SELECT count(*), count(*) FILTER (WHERE " +
                                                       std::string(store.CurrentRowSql()) + "), coalesce(sum(" +
                                                       std::string(store.RowChecksumSql()) + "), 0) FROM read_parquet(" +
                                                       DuckSession::Literal(path) + ")"));
  if (r.rows() != 1 || r.Int(0, 0) != pf.rows || r.Int(0, 1) != pf.documents || r.Int(0, 2) != pf.seq_sum)
    return DataLossError("warm file '" + pf.key + "' does not read back as written (row count or checksum)");
  return OkStatus();
}

namespace {

// Inserts the accelerator rows of a verified file; returns its file_id. REQUIRES: in a transaction.
Result<int64_t> InsertFileRow(TierState& ts, const PreparedFile& pf) {
  Database& db = ts.db();
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(auto ins, conn.Prepare(
                                       "INSERT INTO tier_files(key, store, tbl, day, tier, documents, live, versions, bytes, "
                                       "sha256, max_seq, paths, created_at) VALUES (?1, ?12, ?2, ?3, ?13, ?4, ?5, ?6, "
                                       "?7, ?8, ?9, ?10, ?11)"));
  ins.Bind(1, pf.key).Bind(2, pf.type).Bind(3, pf.day).Bind(4, pf.documents).Bind(5, pf.live).Bind(6, pf.versions);
  ins.Bind(7, pf.bytes).Bind(8, pf.sha256).Bind(9, pf.max_seq).Bind(10, pf.paths_json).Bind(11, db.NowMillis());
  ins.Bind(12, pf.store).Bind(13, pf.tier);
  DOTDO_RETURN_IF_ERROR(ins.Run());
  const int64_t file_id = conn.LastInsertRowId();
  DOTDO_ASSIGN_OR_RETURN(auto bloom, conn.Prepare("INSERT INTO tier_blooms(file_id, path, bits) VALUES (?1, ?2, ?3)"));
  bloom.Bind(1, file_id).Bind(2, "$id").BindBlob(3, pf.id_bloom);
  DOTDO_RETURN_IF_ERROR(bloom.Run());
  for (const auto& [path, bits] : pf.path_blooms) {
    bloom.Reset();
    bloom.Bind(1, file_id).Bind(2, path).BindBlob(3, bits);
    DOTDO_RETURN_IF_ERROR(bloom.Run());
  }
  DOTDO_ASSIGN_OR_RETURN(auto done, conn.Prepare("DELETE FROM tier_moves WHERE key = ?1"));
  done.Bind(1, pf.key);
  DOTDO_RETURN_IF_ERROR(done.Run());
  return file_id;
}

}  // namespace

Result<int64_t> RegisterFile(TierState& ts, TierableStore& store, const PreparedFile& pf, int64_t* skipped_changed) {
  Database& db = ts.db();
  Connection& conn = DatabaseInternals::Conn(db);
  auto lock = conn.Lock();
  int64_t moved = 0;
  DOTDO_RETURN_IF_ERROR(db.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(const int64_t file_id, InsertFileRow(ts, pf));
    // A unit written since the file was prepared stays hot; its copy in the file is masked.
    DOTDO_ASSIGN_OR_RETURN(std::vector<std::string> changed, store.DeleteHot(ts, pf.units, pf.max_seq));
    DOTDO_ASSIGN_OR_RETURN(auto mask, conn.Prepare("INSERT INTO tier_masks(file_id, id, all_rows) VALUES (?1, ?2, 1)"));
    for (const std::string& key : changed) {
      mask.Reset();
      mask.Bind(1, file_id).Bind(2, key);
      DOTDO_RETURN_IF_ERROR(mask.Run());
    }
    moved = static_cast<int64_t>(pf.units.size() - changed.size());
    *skipped_changed += static_cast<int64_t>(changed.size());
    return ts.BumpEpoch();
  }));
  return moved;
}

Result<int64_t> RecoverMoves(TierState& ts) {
  Database& db = ts.db();
  Connection& conn = DatabaseInternals::Conn(db);
  std::vector<std::string> keys;
  {
    auto lock = conn.Lock();
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT m.key, f.file_id IS NOT NULL FROM tier_moves m "
                                                 "LEFT JOIN tier_files f ON f.key = m.key ORDER BY m.key"));
    DOTDO_ASSIGN_OR_RETURN(auto registered, conn.Prepare("SELECT 1 FROM tier_files WHERE key = ?1"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (st.ColumnInt64(1) != 0) continue;
      const std::string key = st.ColumnString(0);
      // A cold copy whose warm source is still registered belongs to a cold move in progress: only
      // RecoverColdMoves can tell (from the Iceberg table) whether it must stay.
      if (std::optional<std::string> warm = WarmKeyOf(key)) {
        registered.Reset();
        registered.Bind(1, *warm);
        DOTDO_ASSIGN_OR_RETURN(bool pending_cold, registered.Step());
        if (pending_cold) continue;
      }
      keys.push_back(key);
    }
  }
  for (const std::string& key : keys) {
    Status st = ts.objects().Delete(key);
    if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
  }
  auto lock = conn.Lock();
  DOTDO_RETURN_IF_ERROR(db.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM tier_moves WHERE key = ?1"));
    for (const std::string& key : keys) {
      del.Reset();
      del.Bind(1, key);
      DOTDO_RETURN_IF_ERROR(del.Run());
    }
    // Intents of registered keys are finished moves.
    return conn.Exec("DELETE FROM tier_moves WHERE key IN (SELECT key FROM tier_files)");
  }));
  return static_cast<int64_t>(keys.size());
}

Result<std::vector<MoveGroup>> SelectMoves(TierState& ts, const std::vector<std::unique_ptr<TierableStore>>& stores,
                                           const TieringOptions& options, int64_t now, int64_t reads_tracked_since) {
  auto lock = DatabaseInternals::Conn(ts.db()).Lock();
  std::map<std::tuple<std::string, std::string, std::string>, MoveGroup> groups;
  std::set<std::pair<std::string, std::string>> chosen;  // (store, key)
  for (const auto& store : stores) {
    DOTDO_ASSIGN_OR_RETURN(auto tables, store->HotTables());
    for (const TieringPolicy& p : options.policies) {
      if (p.store != store->Name()) continue;
      for (const auto& [type, hot] : tables) {
        if (!p.type.empty() && p.type != type) continue;
        DOTDO_ASSIGN_OR_RETURN(std::vector<MovableUnit> units, store->SelectMovable(p, type, now, reads_tracked_since));
        for (MovableUnit& u : units) {
          if (!chosen.insert({std::string(store->Name()), u.key}).second) continue;
          MoveGroup& g = groups[{std::string(store->Name()), type, u.day}];
          g.store = store.get();
          g.type = type;
          g.day = u.day;
          g.ids.push_back(std::move(u.key));
        }
      }
    }
  }
  std::vector<MoveGroup> out;
  for (auto& [k, g] : groups) {
    for (size_t i = 0; i < g.ids.size(); i += static_cast<size_t>(options.max_documents_per_file)) {
      MoveGroup part{g.store, g.type, g.day, {}};
      const size_t end = std::min(g.ids.size(), i + static_cast<size_t>(options.max_documents_per_file));
      part.ids.assign(g.ids.begin() + static_cast<std::ptrdiff_t>(i), g.ids.begin() + static_cast<std::ptrdiff_t>(end));
      out.push_back(std::move(part));
    }
  }
  return out;
}

Result<std::vector<FileRow>> ReadUnmaskedRows(TierState& ts, const FileEntry& f) {
  Connection& conn = DatabaseInternals::Conn(ts.db());
  std::map<std::string, int64_t> masks;
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT id, all_rows FROM tier_masks WHERE file_id = ?1"));
    st.Bind(1, f.file_id);
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      masks[st.ColumnString(0)] = st.ColumnInt64(1);
    }
  }
  DOTDO_RETURN_IF_ERROR(ts.OpenDuck());
  DOTDO_ASSIGN_OR_RETURN(std::string path, ts.LocalFile(f.info));
  DOTDO_ASSIGN_OR_RETURN(DuckResult r, ts.duck().Query("SELECT " + std::string(kRowSelect) + " FROM read_parquet(" +
                                                       DuckSession::Literal(path) + ")"));
  std::vector<FileRow> rows;
  for (size_t i = 0; i < r.rows(); ++i) {
    FileRow row = RowFrom(r, i);
    auto m = masks.find(row.id);
    // all_rows: the id was hard-deleted or rewritten hot; otherwise only its current row went back.
    if (m != masks.end() && (m->second == 1 || row.current)) continue;
    rows.push_back(std::move(row));
  }
  return rows;
}

Status RegisterCompaction(TierState& ts, const std::vector<PreparedFile>& added, const std::vector<const FileEntry*>& removed,
                          int64_t epoch, std::string_view tier) {
  Database& db = ts.db();
  Connection& conn = DatabaseInternals::Conn(db);
  auto lock = conn.Lock();
  return db.Transaction([&]() -> Status {
    DOTDO_ASSIGN_OR_RETURN(int64_t now_epoch, ts.StateValue("epoch"));
    if (now_epoch != epoch) return AbortedError("the warm files changed while they were compacted; run Compact again");
    for (const PreparedFile& pf : added) DOTDO_RETURN_IF_ERROR(InsertFileRow(ts, pf).status());
    for (const FileEntry* f : removed) {
      for (const char* sql : {"DELETE FROM tier_files WHERE file_id = ?1", "DELETE FROM tier_blooms WHERE file_id = ?1",
                              "DELETE FROM tier_masks WHERE file_id = ?1"}) {
        DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(sql));
        st.Bind(1, f->file_id);
        DOTDO_RETURN_IF_ERROR(st.Run());
      }
      if (tier == kTierCold) {
        // The Iceberg table still lists the old cold files (older snapshots keep them for time travel;
        // snapshot expiry deletes them): the pending rewrite replaces them in its current snapshot.
        DOTDO_ASSIGN_OR_RETURN(auto pending, conn.Prepare("INSERT OR IGNORE INTO tier_cold_rewrites(store, key, added) "
                                                          "VALUES (?1, ?2, 0)"));
        pending.Bind(1, f->info.store).Bind(2, f->info.key);
        DOTDO_RETURN_IF_ERROR(pending.Run());
        continue;
      }
      // The old object is removed after the commit (or by the next Run after a crash).
      DOTDO_ASSIGN_OR_RETURN(auto gone, conn.Prepare("INSERT OR REPLACE INTO tier_moves(key, started_at) VALUES (?1, ?2)"));
      gone.Bind(1, f->info.key).Bind(2, db.NowMillis());
      DOTDO_RETURN_IF_ERROR(gone.Run());
    }
    if (tier == kTierCold) {
      DOTDO_ASSIGN_OR_RETURN(auto pending, conn.Prepare("INSERT OR IGNORE INTO tier_cold_rewrites(store, key, added) "
                                                        "VALUES (?1, ?2, 1)"));
      for (const PreparedFile& pf : added) {
        pending.Reset();
        pending.Bind(1, pf.store).Bind(2, pf.key);
        DOTDO_RETURN_IF_ERROR(pending.Run());
      }
    }
    return ts.BumpEpoch();
  });
}

}  // namespace dotdo::tiering
