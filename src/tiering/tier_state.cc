// The accelerator tables and the per-Database tier state: reads of moved documents (Current,
// History, the staged rows of a query), bring-back on write, masks for hard deletes.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/json.h"
#include "core/sha256.h"
#include "tiering/tiering_internal.h"

namespace dotdo::tiering {

using internal::Connection;
using internal::DatabaseInternals;

namespace {

constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE tier_files (
  file_id    INTEGER PRIMARY KEY,
  key        TEXT NOT NULL UNIQUE,
  store      TEXT NOT NULL,
  tbl        TEXT NOT NULL,
  day        TEXT NOT NULL,
  tier       TEXT NOT NULL,
  documents  INTEGER NOT NULL,
  live       INTEGER NOT NULL,
  versions   INTEGER NOT NULL,
  bytes      INTEGER NOT NULL,
  sha256     TEXT NOT NULL,
  max_seq    INTEGER NOT NULL,
  paths      TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX tier_files_table ON tier_files(store, tbl, day);
CREATE TABLE tier_blooms (
  file_id INTEGER NOT NULL,
  path    TEXT NOT NULL,
  bits    BLOB NOT NULL,
  PRIMARY KEY (file_id, path)
) WITHOUT ROWID;
CREATE TABLE tier_masks (
  file_id  INTEGER NOT NULL,
  id       TEXT NOT NULL,
  all_rows INTEGER NOT NULL,
  PRIMARY KEY (file_id, id)
) WITHOUT ROWID;
CREATE TABLE tier_moves (
  key        TEXT PRIMARY KEY,
  started_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE tier_state (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO tier_state(key, value) VALUES ('epoch', 1), ('seq_floor', 0), ('history_pruned_before', -9223372036854775808);
)sql",
    // A rewrite of cold files registered here and not yet committed to the store's Iceberg table:
    // added = 1 for a new data file, 0 for one it replaces.
    R"sql(
CREATE TABLE tier_cold_rewrites (
  store TEXT NOT NULL,
  key   TEXT PRIMARY KEY,
  added INTEGER NOT NULL
) WITHOUT ROWID;
)sql"};

std::optional<double> OptNum(const Json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}
std::optional<std::string> OptStr(const Json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

internal::StoredRow StoredFrom(FileRow r) {
  internal::StoredRow out;
  out.seq = r.seq;
  out.type = std::move(r.type);
  out.version = r.version;
  out.created_at = r.created_at;
  out.updated_at = r.updated_at;
  out.deleted = r.deleted;
  return out;
}

}  // namespace

Status EnsureTieringSchema(Database& db) { return DatabaseInternals::EnsureSchema(db, kComponent, kMigrations); }

FileRow RowFrom(const DuckResult& r, size_t i) {
  FileRow row;
  row.seq = r.Int(i, 0);
  row.id = r.Text(i, 1);
  row.type = r.Text(i, 2);
  row.version = r.Int(i, 3);
  row.created_at = r.Int(i, 4);
  row.updated_at = r.Int(i, 5);
  row.deleted = r.Int(i, 6) != 0;
  row.current = r.Int(i, 7) != 0;
  row.valid_from = r.Int(i, 8);
  row.valid_to = r.Int(i, 9);
  row.doc = r.Text(i, 10);
  return row;
}

uint64_t IdHash(std::string_view id) { return internal::HashBytes(id); }
uint64_t ValueHash(std::string_view key) { return internal::HashBytes(key); }

TierReadReport& ThreadReport() {
  thread_local TierReadReport report;
  return report;
}

TierState::TierState(Database& db, ObjectStore& objects) : db_(db), objects_(objects) {
  DatabaseInternals::AddObserver(db_, this);
}

TierState::~TierState() { DatabaseInternals::RemoveObserver(db_, this); }

Status TierState::OpenDuck() {
  if (duck_) return OkStatus();
  DOTDO_ASSIGN_OR_RETURN(duck_, DuckSession::Open());
  return OkStatus();
}

void TierState::OnRollback(int) {
  epoch_ = -1;
  staged_valid_ = false;
}

Result<std::string> TierState::LocalFile(const TierFileInfo& file) {
  if (auto* local = dynamic_cast<LocalObjectStore*>(&objects_)) return local->DataPath(file.key).string();
  // Other stores: a verified copy in the temp directory, named by content hash.
  const auto dir = std::filesystem::temp_directory_path() / "dotdo-tier-cache";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  // Without a recorded SHA-256 (a replaced cold file read as of an older snapshot) the copy is
  // fetched each time and named by the hash of what was read.
  if (!file.sha256.empty()) {
    const auto cached = dir / (file.sha256 + ".parquet");
    if (std::filesystem::exists(cached, ec)) return cached.string();
  }
  DOTDO_ASSIGN_OR_RETURN(std::string bytes, objects_.Get(file.key));
  const std::string sha256 = internal::Sha256::Hex(bytes);
  if (!file.sha256.empty() && sha256 != file.sha256)
    return DataLossError("warm file '" + file.key + "' does not match its recorded SHA-256");
  const auto path = dir / (sha256 + ".parquet");
  const auto tmp = path.string() + ".tmp" + internal::RandomHex(8);
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return InternalError("cannot write the local copy of '" + file.key + "'");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return InternalError("cannot place the local copy of '" + file.key + "': " + ec.message());
  return path.string();
}

Result<int64_t> TierState::StateValue(std::string_view key) {
  DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db_).Prepare("SELECT value FROM tier_state WHERE key = ?1"));
  st.Bind(1, key);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return DataLossError("tier_state has no '" + std::string(key) + "' row");
  return st.ColumnInt64(0);
}

Status TierState::SetStateValue(std::string_view key, int64_t value) {
  DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db_).Prepare("UPDATE tier_state SET value = ?2 WHERE key = ?1"));
  st.Bind(1, key).Bind(2, value);
  return st.Run();
}

Status TierState::BumpEpoch() {
  DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db_).Prepare(
                                      "UPDATE tier_state SET value = value + 1 WHERE key = 'epoch'"));
  return st.Run();
}

Result<const std::vector<FileEntry>*> TierState::Files() {
  Connection& conn = DatabaseInternals::Conn(db_);
  DOTDO_ASSIGN_OR_RETURN(int64_t epoch, StateValue("epoch"));
  if (epoch == epoch_) return &files_;
  files_.clear();
  mask_counts_.clear();
  staged_valid_ = false;
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(
                                        "SELECT file_id, key, store, tbl, day, tier, documents, live, versions, bytes, sha256, "
                                        "max_seq, paths, created_at FROM tier_files ORDER BY tbl, day, key"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      FileEntry f;
      f.file_id = st.ColumnInt64(0);
      f.info.key = st.ColumnString(1);
      f.info.store = st.ColumnString(2);
      f.info.table = st.ColumnString(3);
      f.info.day = st.ColumnString(4);
      f.info.tier = st.ColumnString(5);
      f.info.documents = st.ColumnInt64(6);
      f.info.live = st.ColumnInt64(7);
      f.info.versions = st.ColumnInt64(8);
      f.info.bytes = st.ColumnInt64(9);
      f.info.sha256 = st.ColumnString(10);
      f.max_seq = st.ColumnInt64(11);
      DOTDO_ASSIGN_OR_RETURN(Json paths, internal::ParseJson(st.ColumnText(12), "tier_files.paths"));
      for (auto& [path, s] : paths.items()) {
        FileEntry::PathEntry pe;
        pe.stats.blocks = 1;
        pe.stats.min_num = OptNum(s, "min_num");
        pe.stats.max_num = OptNum(s, "max_num");
        pe.stats.min_str = OptStr(s, "min_str");
        pe.stats.max_str = OptStr(s, "max_str");
        f.paths.emplace(path, std::move(pe));
      }
      f.info.created_at = st.ColumnInt64(13);
      files_.push_back(std::move(f));
    }
  }
  std::map<int64_t, FileEntry*> by_id;
  for (FileEntry& f : files_) by_id[f.file_id] = &f;
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT file_id, path, bits FROM tier_blooms"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      auto it = by_id.find(st.ColumnInt64(0));
      if (it == by_id.end()) continue;
      const std::string path = st.ColumnString(1);
      auto bloom = internal::BloomFilter::Parse(st.ColumnBlob(2));
      if (path == "$id") {
        it->second->id_bloom = std::move(bloom);
      } else if (auto p = it->second->paths.find(path); p != it->second->paths.end()) {
        p->second.bloom = std::move(bloom);
      }
    }
  }
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT file_id, count(*) FROM tier_masks GROUP BY file_id"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      mask_counts_[st.ColumnInt64(0)] = st.ColumnInt64(1);
      if (auto it = by_id.find(st.ColumnInt64(0)); it != by_id.end()) it->second->info.masked = st.ColumnInt64(1);
    }
  }
  epoch_ = epoch;
  return &files_;
}

Result<int> TierState::MaskOf(int64_t file_id, std::string_view id) {
  if (mask_counts_.find(file_id) == mask_counts_.end()) return -1;
  DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db_).Prepare(
                                      "SELECT all_rows FROM tier_masks WHERE file_id = ?1 AND id = ?2"));
  st.Bind(1, file_id).Bind(2, id);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? static_cast<int>(st.ColumnInt64(0)) : -1;
}

Result<std::vector<FileRow>> TierState::ReadRowsById(const FileEntry& f, std::string_view id) {
  DOTDO_RETURN_IF_ERROR(OpenDuck());
  DOTDO_ASSIGN_OR_RETURN(std::string path, LocalFile(f.info));
  DOTDO_ASSIGN_OR_RETURN(DuckResult r, duck_->Query("SELECT " + std::string(kRowSelect) + " FROM read_parquet(" +
                                                        DuckSession::Literal(path) + ") WHERE \"$id\" = $1",
                                                    {std::string(id)}));
  ThreadReport().files_read++;
  std::vector<FileRow> rows;
  for (size_t i = 0; i < r.rows(); ++i) rows.push_back(RowFrom(r, i));
  return rows;
}

void NoteTier(const FileEntry& f) {
  if (f.info.tier == kTierCold) {
    ThreadReport().cold = true;
  } else {
    ThreadReport().warm = true;
  }
}

Result<std::optional<std::pair<const FileEntry*, FileRow>>> TierState::FindWarmCurrent(std::string_view id) {
  using Found = std::optional<std::pair<const FileEntry*, FileRow>>;
  DOTDO_ASSIGN_OR_RETURN(const std::vector<FileEntry>* files, Files());
  const uint64_t h = IdHash(id);
  for (const FileEntry& f : *files) {
    if (f.info.store != "document") continue;  // another store's file: not a candidate
    if (!f.id_bloom.MayContain(h)) {
      ThreadReport().files_skipped++;
      continue;
    }
    DOTDO_ASSIGN_OR_RETURN(int mask, MaskOf(f.file_id, id));
    if (mask >= 0) continue;
    NoteTier(f);
    DOTDO_ASSIGN_OR_RETURN(std::vector<FileRow> rows, ReadRowsById(f, id));
    for (FileRow& r : rows)
      if (r.current) return Found(std::make_pair(&f, std::move(r)));
  }
  return Found();
}

Result<std::optional<internal::StoredRow>> TierState::Current(std::string_view id) {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  ThreadReport() = TierReadReport{};
  ThreadReport().hot = true;
  internal::ReadSnapshot snapshot(conn, true);
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  DOTDO_ASSIGN_OR_RETURN(auto hot, internal::LoadRow(conn, id));
  if (hot) return hot;
  DOTDO_ASSIGN_OR_RETURN(auto found, FindWarmCurrent(id));
  if (!found) return std::optional<internal::StoredRow>();
  std::string text = std::move(found->second.doc);
  internal::StoredRow row = StoredFrom(std::move(found->second));
  DOTDO_ASSIGN_OR_RETURN(row.doc, internal::ParseStoredDocument(text, "warm document '" + std::string(id) + "'"));
  return std::optional<internal::StoredRow>(std::move(row));
}

Result<std::vector<internal::HistoryRow>> TierState::History(std::string_view id) {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(int64_t pruned_before, StateValue("history_pruned_before"));
  DOTDO_ASSIGN_OR_RETURN(const std::vector<FileEntry>* files, Files());
  std::vector<internal::HistoryRow> out;
  const uint64_t h = IdHash(id);
  for (const FileEntry& f : *files) {
    if (f.info.store != "document" || f.info.versions == 0 || !f.id_bloom.MayContain(h)) continue;
    DOTDO_ASSIGN_OR_RETURN(int mask, MaskOf(f.file_id, id));
    if (mask == 1) continue;
    DOTDO_ASSIGN_OR_RETURN(std::vector<FileRow> rows, ReadRowsById(f, id));
    for (FileRow& r : rows) {
      if (r.current || r.valid_to <= pruned_before) continue;
      DOTDO_ASSIGN_OR_RETURN(Json doc, internal::ParseStoredDocument(r.doc, "warm version of document '" + std::string(id) + "'"));
      out.push_back({r.version, r.valid_from, r.valid_to, r.deleted, std::move(doc)});
    }
  }
  return out;
}

Status TierState::BringBack(std::string_view id) {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  if (!conn.InTransaction()) return InternalError("BringBack outside a transaction");
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT 1 FROM doc_documents WHERE id = ?1"));
    st.Bind(1, id);
    DOTDO_ASSIGN_OR_RETURN(bool hot, st.Step());
    if (hot) return OkStatus();
  }
  DOTDO_ASSIGN_OR_RETURN(auto found, FindWarmCurrent(id));
  if (!found) return OkStatus();
  const FileRow& r = found->second;
  DOTDO_ASSIGN_OR_RETURN(auto ins, conn.Prepare("INSERT INTO doc_documents(seq, id, type, version, created_at, updated_at, "
                                                "deleted, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, jsonb(?8))"));
  ins.Bind(1, r.seq).Bind(2, r.id).Bind(3, r.type).Bind(4, r.version).Bind(5, r.created_at).Bind(6, r.updated_at);
  ins.Bind(7, int64_t{r.deleted ? 1 : 0}).Bind(8, r.doc);
  DOTDO_RETURN_IF_ERROR(ins.Run());
  DOTDO_ASSIGN_OR_RETURN(auto mask, conn.Prepare("INSERT OR IGNORE INTO tier_masks(file_id, id, all_rows) VALUES (?1, ?2, 0)"));
  mask.Bind(1, found->first->file_id).Bind(2, id);
  DOTDO_RETURN_IF_ERROR(mask.Run());
  return BumpEpoch();
}

Status TierState::Forget(std::string_view id) {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(const std::vector<FileEntry>* files, Files());
  const uint64_t h = IdHash(id);
  bool changed = false;
  for (const FileEntry& f : *files) {
    if (f.info.store != "document" || !f.id_bloom.MayContain(h)) continue;
    DOTDO_ASSIGN_OR_RETURN(std::vector<FileRow> rows, ReadRowsById(f, id));
    if (rows.empty()) continue;
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("INSERT INTO tier_masks(file_id, id, all_rows) VALUES (?1, ?2, 1) "
                                                 "ON CONFLICT(file_id, id) DO UPDATE SET all_rows = 1"));
    st.Bind(1, f.file_id).Bind(2, id);
    DOTDO_RETURN_IF_ERROR(st.Run());
    changed = true;
  }
  return changed ? BumpEpoch() : OkStatus();
}

Status TierState::PruneHistory(int64_t before) {
  auto lock = DatabaseInternals::Conn(db_).Lock();
  DOTDO_ASSIGN_OR_RETURN(int64_t old, StateValue("history_pruned_before"));
  return before > old ? SetStateValue("history_pruned_before", before) : OkStatus();
}

Result<int64_t> TierState::SeqFloor() {
  auto lock = DatabaseInternals::Conn(db_).Lock();
  return StateValue("seq_floor");
}

Result<std::optional<int64_t>> TierState::CountWithoutFiles(std::string_view type) {
  auto lock = DatabaseInternals::Conn(db_).Lock();
  ThreadReport() = TierReadReport{};
  ThreadReport().hot = true;
  DOTDO_ASSIGN_OR_RETURN(const std::vector<FileEntry>* files, Files());
  int64_t n = 0;
  for (const FileEntry& f : *files) {
    if (f.info.store != "document" || f.info.table != type) continue;
    if (f.info.masked > 0) return std::optional<int64_t>();
    n += f.info.live;
    if (f.info.live > 0) NoteTier(f);
  }
  return std::optional<int64_t>(n);
}

Result<std::string> TierState::StageQuery(std::string_view type, const std::vector<internal::PrunableTerm>& terms) {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  ThreadReport() = TierReadReport{};
  ThreadReport().hot = true;
  DOTDO_ASSIGN_OR_RETURN(const std::vector<FileEntry>* files, Files());
  std::set<int64_t> want;
  for (const FileEntry& f : *files) {
    if (f.info.store != "document" || f.info.table != type || f.info.live == 0) continue;
    bool excluded = false;
    for (const internal::PrunableTerm& t : terms) {
      auto p = f.paths.find(t.path);
      if (p == f.paths.end()) continue;
      const auto may = [&](const std::string& key) -> Result<bool> { return p->second.bloom.MayContain(ValueHash(key)); };
      DOTDO_ASSIGN_OR_RETURN(excluded, internal::StatsExclude(t, p->second.stats, may));
      if (excluded) break;
    }
    if (excluded) {
      ThreadReport().files_skipped++;
      continue;
    }
    want.insert(f.file_id);
  }
  if (want.empty()) return std::string();
  for (const FileEntry& f : *files)
    if (want.count(f.file_id) != 0) NoteTier(f);
  DOTDO_RETURN_IF_ERROR(conn.Exec("CREATE TEMP TABLE IF NOT EXISTS doc_warm (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, "
                                  "type TEXT NOT NULL, version INTEGER NOT NULL, created_at INTEGER NOT NULL, "
                                  "updated_at INTEGER NOT NULL, deleted INTEGER NOT NULL, data BLOB NOT NULL, "
                                  "file_id INTEGER NOT NULL)"));
  if (!staged_valid_) {
    DOTDO_RETURN_IF_ERROR(conn.Exec("DELETE FROM temp.doc_warm"));
    staged_.clear();
    staged_valid_ = true;
  }
  for (auto it = staged_.begin(); it != staged_.end();) {
    if (want.count(*it) != 0) {
      ++it;
      continue;
    }
    DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM temp.doc_warm WHERE file_id = ?1"));
    del.Bind(1, *it);
    DOTDO_RETURN_IF_ERROR(del.Run());
    it = staged_.erase(it);
  }
  DOTDO_RETURN_IF_ERROR(OpenDuck());
  for (const FileEntry& f : *files) {
    if (want.count(f.file_id) == 0 || staged_.count(f.file_id) != 0) continue;
    std::set<std::string> masked;
    if (f.info.masked > 0) {
      DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT id FROM tier_masks WHERE file_id = ?1"));
      st.Bind(1, f.file_id);
      for (;;) {
        DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        masked.insert(st.ColumnString(0));
      }
    }
    DOTDO_ASSIGN_OR_RETURN(std::string path, LocalFile(f.info));
    DOTDO_ASSIGN_OR_RETURN(DuckResult r, duck_->Query("SELECT " + std::string(kRowSelect) + " FROM read_parquet(" +
                                                          DuckSession::Literal(path) + ") WHERE _current AND NOT _deleted"));
    ThreadReport().files_read++;
    DOTDO_ASSIGN_OR_RETURN(auto ins, conn.Prepare("INSERT INTO temp.doc_warm(seq, id, type, version, created_at, updated_at, "
                                                  "deleted, data, file_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, jsonb(?7), ?8)"));
    for (size_t i = 0; i < r.rows(); ++i) {
      FileRow row = RowFrom(r, i);
      if (masked.count(row.id) != 0) continue;
      ins.Reset();
      ins.Bind(1, row.seq).Bind(2, row.id).Bind(3, row.type).Bind(4, row.version).Bind(5, row.created_at);
      ins.Bind(6, row.updated_at).Bind(7, row.doc).Bind(8, f.file_id);
      DOTDO_RETURN_IF_ERROR(ins.Run());
    }
    staged_.insert(f.file_id);
  }
  return std::string(
      "(SELECT seq, id, type, version, created_at, updated_at, deleted, data FROM main.doc_documents UNION ALL "
      "SELECT seq, id, type, version, created_at, updated_at, deleted, data FROM temp.doc_warm) AS doc_documents");
}

}  // namespace dotdo::tiering

namespace dotdo {
TierReadReport LastTierRead() { return tiering::ThreadReport(); }
}  // namespace dotdo
