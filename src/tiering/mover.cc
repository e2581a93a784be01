// The mover: policies select whole documents, each (type, day) group becomes a Parquet file that is
// written, verified and registered, and the hot rows leave in the registering transaction. Also
// recovery of interrupted runs and compaction of small files.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

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

std::string DayOf(int64_t ms) { return FormatIso8601(ms).substr(0, 10); }

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

// The typed column of a hot path in one file: the type all current rows agree on, if any.
enum class ColumnKind { kNone, kNumber, kText, kBool };

ColumnKind KindOf(const std::vector<FileRow>& rows, const internal::JsonPath& path) {
  ColumnKind kind = ColumnKind::kNone;
  for (const FileRow& r : rows) {
    if (!r.current) continue;
    auto doc = internal::ParseJson(r.doc, "document");
    if (!doc.ok()) return ColumnKind::kNone;
    const Json* v = path.Find(*doc);
    if (v == nullptr || v->is_null()) continue;
    ColumnKind k = v->is_number() ? ColumnKind::kNumber : v->is_string() ? ColumnKind::kText
                                                      : v->is_boolean() ? ColumnKind::kBool : ColumnKind::kNone;
    if (k == ColumnKind::kNone || (kind != ColumnKind::kNone && kind != k)) return ColumnKind::kNone;
    kind = k;
  }
  return kind;
}

// Hot paths of a type: its configured stats paths and its index paths.
Result<std::vector<std::string>> HotPaths(Database& db, std::string_view type) {
  DOTDO_ASSIGN_OR_RETURN(internal::DocumentState * state, internal::DocumentState::Of(db));
  std::set<std::string> out;
  DOTDO_ASSIGN_OR_RETURN(const std::vector<std::string>* stats, state->StatsPaths(type));
  out.insert(stats->begin(), stats->end());
  DOTDO_ASSIGN_OR_RETURN(const auto* indexes, state->Indexes(type));
  for (const auto& [path, ix] : *indexes) out.insert(path);
  return std::vector<std::string>(out.begin(), out.end());
}

}  // namespace

Result<std::vector<FileRow>> LoadHotRows(Database& db, const std::vector<std::string>& ids) {
  Connection& conn = DatabaseInternals::Conn(db);
  std::vector<FileRow> rows;
  DOTDO_ASSIGN_OR_RETURN(auto cur, conn.Prepare("SELECT seq, id, type, version, created_at, updated_at, deleted, json(data) "
                                                "FROM doc_documents WHERE id = ?1"));
  DOTDO_ASSIGN_OR_RETURN(auto hist, conn.Prepare("SELECT version, valid_from, valid_to, deleted, json(data) FROM doc_history "
                                                 "WHERE id = ?1 ORDER BY version"));
  for (const std::string& id : ids) {
    cur.Reset();
    cur.Bind(1, id);
    DOTDO_ASSIGN_OR_RETURN(bool row, cur.Step());
    if (!row) continue;
    FileRow c;
    c.seq = cur.ColumnInt64(0);
    c.id = cur.ColumnString(1);
    c.type = cur.ColumnString(2);
    c.version = cur.ColumnInt64(3);
    c.created_at = cur.ColumnInt64(4);
    c.updated_at = cur.ColumnInt64(5);
    c.deleted = cur.ColumnInt64(6) != 0;
    c.current = true;
    c.valid_from = c.updated_at;
    c.doc = cur.ColumnString(7);
    hist.Reset();
    hist.Bind(1, id);
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool h, hist.Step());
      if (!h) break;
      FileRow v = c;
      v.current = false;
      v.version = hist.ColumnInt64(0);
      v.valid_from = hist.ColumnInt64(1);
      v.updated_at = v.valid_from;
      v.valid_to = hist.ColumnInt64(2);
      v.deleted = hist.ColumnInt64(3) != 0;
      v.doc = hist.ColumnString(4);
      rows.push_back(std::move(v));
    }
    rows.push_back(std::move(c));
  }
  return rows;
}

Result<PreparedFile> WriteFile(TierState& ts, std::string_view type, std::string_view day, std::vector<FileRow> rows,
                               const std::vector<std::string>& hot_paths) {
  PreparedFile pf;
  pf.type = std::string(type);
  pf.day = std::string(day);
  pf.key = "documents/type=" + pf.type + "/dt=" + pf.day + "/part-" + ts.db().NewId() + ".parquet";
  std::sort(rows.begin(), rows.end(), [](const FileRow& a, const FileRow& b) {
    return a.id != b.id ? a.id < b.id : a.version < b.version;
  });
  // Accelerator: id bloom, per-path stats + bloom, counts.
  size_t current = 0;
  for (const FileRow& r : rows) current += r.current ? 1 : 0;
  internal::BloomFilter id_bloom(std::max<size_t>(current, 1));
  std::map<std::string, FileEntry::PathEntry> paths;
  std::vector<std::pair<internal::JsonPath, ColumnKind>> columns;
  for (const std::string& p : hot_paths) {
    DOTDO_ASSIGN_OR_RETURN(internal::JsonPath path, internal::JsonPath::Parse(p));
    paths.emplace(p, FileEntry::PathEntry{internal::PathStats{}, internal::BloomFilter(std::max<size_t>(current, 1))});
    columns.emplace_back(path, KindOf(rows, path));
  }
  for (const FileRow& r : rows) {
    pf.max_seq = std::max(pf.max_seq, r.seq);
    if (!r.current) {
      ++pf.versions;
      continue;
    }
    pf.ids.push_back({r.id, r.version});
    ++pf.documents;
    if (r.deleted) continue;
    ++pf.live;
    id_bloom.Add(IdHash(r.id));
    if (hot_paths.empty()) continue;
    DOTDO_ASSIGN_OR_RETURN(Json doc, internal::ParseJson(r.doc, "document"));
    for (auto& [p, entry] : paths) {
      DOTDO_ASSIGN_OR_RETURN(internal::JsonPath path, internal::JsonPath::Parse(p));
      for (const internal::StatValue& sv : internal::RecordableValues(doc, path)) {
        auto& s = entry.stats;
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
        entry.bloom.Add(ValueHash(sv.bloom_key));
      }
    }
  }
  // Deleted current rows still hold their id: the bloom must find them (Current, bring-back).
  for (const FileRow& r : rows)
    if (r.current && r.deleted) id_bloom.Add(IdHash(r.id));
  pf.id_bloom = id_bloom.Serialize();
  Json pj = Json::object();
  for (auto& [p, entry] : paths) {
    Json s = Json::object();
    if (entry.stats.min_num) s["min_num"] = *entry.stats.min_num, s["max_num"] = *entry.stats.max_num;
    if (entry.stats.min_str) s["min_str"] = *entry.stats.min_str, s["max_str"] = *entry.stats.max_str;
    pj[p] = std::move(s);
    pf.path_blooms[p] = entry.bloom.Serialize();
  }
  pf.paths_json = internal::DumpJson(pj);

  // The Parquet file, through DuckDB.
  DOTDO_RETURN_IF_ERROR(ts.OpenDuck());
  DuckSession& duck = ts.duck();
  std::string ddl = "CREATE OR REPLACE TEMP TABLE stage (" + std::string(kDocumentColumns);
  for (const auto& [path, kind] : columns) {
    if (kind == ColumnKind::kNone) continue;
    ddl += ", " + DuckSession::Ident(path.ToDotted()) +
           (kind == ColumnKind::kNumber ? " DOUBLE" : kind == ColumnKind::kText ? " VARCHAR" : " BOOLEAN");
  }
  DOTDO_RETURN_IF_ERROR(duck.Exec(ddl + ")"));
  {
    DOTDO_ASSIGN_OR_RETURN(DuckSession::Appender app, duck.Append("stage"));
    for (const FileRow& r : rows) {
      app.Int(r.seq);
      app.Text(r.id);
      app.Text(r.type);
      app.Int(r.version);
      app.TimestampMs(r.created_at);
      app.TimestampMs(r.updated_at);
      app.Bool(r.deleted);
      app.Bool(r.current);
      app.Int(r.valid_from);
      if (r.current) app.Null(); else app.Int(r.valid_to);
      app.Text(r.doc);
      std::optional<Json> doc;
      for (const auto& [path, kind] : columns) {
        if (kind == ColumnKind::kNone) continue;
        if (!doc) {
          DOTDO_ASSIGN_OR_RETURN(doc, internal::ParseJson(r.doc, "document"));
        }
        const Json* v = path.Find(*doc);
        const bool fits = v != nullptr && ((kind == ColumnKind::kNumber && v->is_number()) ||
                                           (kind == ColumnKind::kText && v->is_string()) ||
                                           (kind == ColumnKind::kBool && v->is_boolean()));
        if (!fits) app.Null();
        else if (kind == ColumnKind::kNumber) app.Double(v->get<double>());
        else if (kind == ColumnKind::kText) app.Text(v->get_ref<const std::string&>());
        else app.Bool(v->get<bool>());
      }
      app.EndRow();
    }
    DOTDO_RETURN_IF_ERROR(app.Close());
  }
  TempFile tmp;
  DOTDO_RETURN_IF_ERROR(duck.Exec("COPY (SELECT * FROM stage ORDER BY \"$id\", \"$version\") TO " +
                                  DuckSession::Literal(tmp.path.string()) +
                                  " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384)"));
  DOTDO_RETURN_IF_ERROR(duck.Exec("DROP TABLE stage"));
  DOTDO_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(tmp.path));
  pf.sha256 = internal::Sha256::Hex(bytes);
  pf.bytes = static_cast<int64_t>(bytes.size());
  for (const FileRow& r : rows) pf.seq_sum += r.seq + r.version;
  pf.rows = static_cast<int64_t>(rows.size());
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
  DOTDO_ASSIGN_OR_RETURN(ObjectInfo info, ts.objects().Put(pf.key, bytes, put));
  (void)info;
  return pf;
}

Status VerifyFile(TierState& ts, const PreparedFile& pf) {
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
  DOTDO_ASSIGN_OR_RETURN(DuckResult r, ts.duck().Query("SELECT count(*), count(*) FILTER (WHERE _current), "
                                                       "coalesce(sum(_seq + \"$version\"), 0) FROM read_parquet(" +
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
                                       "sha256, max_seq, paths, created_at) VALUES (?1, 'document', ?2, ?3, 'warm', ?4, ?5, ?6, "
                                       "?7, ?8, ?9, ?10, ?11)"));
  ins.Bind(1, pf.key).Bind(2, pf.type).Bind(3, pf.day).Bind(4, pf.documents).Bind(5, pf.live).Bind(6, pf.versions);
  ins.Bind(7, pf.bytes).Bind(8, pf.sha256).Bind(9, pf.max_seq).Bind(10, pf.paths_json).Bind(11, db.NowMillis());
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

Result<int64_t> RegisterFile(TierState& ts, const PreparedFile& pf, int64_t* skipped_changed) {
  Database& db = ts.db();
  Connection& conn = DatabaseInternals::Conn(db);
  auto lock = conn.Lock();
  int64_t moved = 0;
  DOTDO_RETURN_IF_ERROR(db.Transaction([&]() -> Status {
    moved = 0;
    DOTDO_ASSIGN_OR_RETURN(const int64_t file_id, InsertFileRow(ts, pf));
    // A document written since the file was prepared stays hot; its copy in the file is masked.
    DOTDO_ASSIGN_OR_RETURN(auto check, conn.Prepare("SELECT version FROM doc_documents WHERE id = ?1"));
    DOTDO_ASSIGN_OR_RETURN(auto mask, conn.Prepare("INSERT INTO tier_masks(file_id, id, all_rows) VALUES (?1, ?2, 1)"));
    DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM doc_documents WHERE id = ?1"));
    DOTDO_ASSIGN_OR_RETURN(auto del_hist, conn.Prepare("DELETE FROM doc_history WHERE id = ?1"));
    int64_t changed = 0;
    for (const auto& [id, version] : pf.ids) {
      check.Reset();
      check.Bind(1, id);
      DOTDO_ASSIGN_OR_RETURN(bool row, check.Step());
      if (!row || check.ColumnInt64(0) != version) {
        ++changed;
        mask.Reset();
        mask.Bind(1, file_id).Bind(2, id);
        DOTDO_RETURN_IF_ERROR(mask.Run());
        continue;
      }
      del.Reset();
      del.Bind(1, id);
      DOTDO_RETURN_IF_ERROR(del.Run());
      del_hist.Reset();
      del_hist.Bind(1, id);
      DOTDO_RETURN_IF_ERROR(del_hist.Run());
      ++moved;
    }
    *skipped_changed += changed;
    DOTDO_ASSIGN_OR_RETURN(int64_t floor, ts.StateValue("seq_floor"));
    if (pf.max_seq > floor) DOTDO_RETURN_IF_ERROR(ts.SetStateValue("seq_floor", pf.max_seq));
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

Result<std::vector<MoveGroup>> SelectMoves(TierState& ts, const TieringOptions& options, int64_t now,
                                           int64_t reads_tracked_since) {
  Database& db = ts.db();
  Connection& conn = DatabaseInternals::Conn(db);
  auto lock = conn.Lock();
  std::map<std::pair<std::string, std::string>, MoveGroup> groups;
  std::set<std::string> chosen;
  std::vector<std::string> types;
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT DISTINCT type FROM doc_documents ORDER BY type"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      types.push_back(st.ColumnString(0));
    }
  }
  // The time of a document's last access: its last write, or its last recorded read when later.
  const bool reads = reads_tracked_since > 0 && conn.TableExists("doc_reads");
  const std::string from = reads ? "doc_documents d LEFT JOIN doc_reads r ON r.id = d.id" : "doc_documents d";
  const std::string last_access = reads ? "max(d.updated_at, coalesce(r.read_at, 0))" : "d.updated_at";
  // Runs `sql` (binding ?1 = type, ?2 = `bound`) and adds the selected (id, created_at) rows.
  auto select = [&](const std::string& sql, const std::string& type, int64_t bound) -> Status {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(sql));
    st.Bind(1, type).Bind(2, bound);
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return OkStatus();
      std::string id = st.ColumnString(0);
      const int64_t created_at = st.ColumnInt64(1);
      if (!chosen.insert(id).second) continue;
      MoveGroup& g = groups[{type, DayOf(created_at)}];
      g.type = type;
      g.day = DayOf(created_at);
      g.ids.push_back(std::move(id));
    }
  };
  for (const TieringPolicy& p : options.policies) {
    for (const std::string& type : types) {
      if (!p.type.empty() && p.type != type) continue;
      if (p.min_age_millis >= 0) {
        DOTDO_RETURN_IF_ERROR(select("SELECT id, created_at FROM doc_documents WHERE type = ?1 AND "
                                     "updated_at <= ?2 ORDER BY updated_at, seq",
                                     type, now - p.min_age_millis));
      }
      // The idle rule knows a document was not read only for the time reads were recorded.
      if (p.min_idle_millis >= 0 && reads && now - reads_tracked_since >= p.min_idle_millis) {
        DOTDO_RETURN_IF_ERROR(select("SELECT d.id, d.created_at FROM " + from + " WHERE d.type = ?1 AND " +
                                         last_access + " <= ?2 ORDER BY " + last_access + ", d.seq",
                                     type, now - p.min_idle_millis));
      }
      if (p.max_hot_documents >= 0) {
        int64_t hot = 0;
        {
          DOTDO_ASSIGN_OR_RETURN(auto count, conn.Prepare("SELECT count(*) FROM doc_documents WHERE type = ?1"));
          count.Bind(1, type);
          DOTDO_ASSIGN_OR_RETURN(bool row, count.Step());
          if (row) hot = count.ColumnInt64(0);
        }
        if (hot <= p.max_hot_documents) continue;
        DOTDO_RETURN_IF_ERROR(select("SELECT d.id, d.created_at FROM " + from + " WHERE d.type = ?1 ORDER BY " +
                                         last_access + ", d.seq LIMIT ?2",
                                     type, hot - p.max_hot_documents));
      }
    }
  }
  std::vector<MoveGroup> out;
  for (auto& [k, g] : groups) {
    for (size_t i = 0; i < g.ids.size(); i += static_cast<size_t>(options.max_documents_per_file)) {
      MoveGroup part{g.type, g.day, {}};
      const size_t end = std::min(g.ids.size(), i + static_cast<size_t>(options.max_documents_per_file));
      part.ids.assign(g.ids.begin() + static_cast<std::ptrdiff_t>(i), g.ids.begin() + static_cast<std::ptrdiff_t>(end));
      out.push_back(std::move(part));
    }
  }
  return out;
}

Result<std::vector<std::string>> HotPathsOf(Database& db, std::string_view type) { return HotPaths(db, type); }

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
                          int64_t epoch) {
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
      // The old object is removed after the commit (or by the next Run after a crash).
      DOTDO_ASSIGN_OR_RETURN(auto gone, conn.Prepare("INSERT OR REPLACE INTO tier_moves(key, started_at) VALUES (?1, ?2)"));
      gone.Bind(1, f->info.key).Bind(2, db.NowMillis());
      DOTDO_RETURN_IF_ERROR(gone.Run());
    }
    return ts.BumpEpoch();
  });
}

}  // namespace dotdo::tiering
