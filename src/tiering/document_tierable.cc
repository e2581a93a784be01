// The DocumentStore as a TierableStore: a unit is a document (its current row in doc_documents and
// its superseded versions in doc_history), partitioned by `$type` and the UTC day of `$createdAt`;
// a file holds the system columns, typed columns for the type's hot paths (its stats paths and
// index paths, where every current row agrees on the JSON type) and the whole document as JSON.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>

#include "core/json.h"
#include "core/json_path.h"
#include "tiering/tierable_store.h"
#include "tiering/tiering_internal.h"
#include "tiering/tiering_mover.h"

namespace dotdo::tiering {

using internal::Connection;
using internal::DatabaseInternals;

const std::vector<TierColumn>& DocumentSystemColumns() {
  static const std::vector<TierColumn> columns = {
      {"_seq", "BIGINT"},         {"$id", "VARCHAR"},         {"$type", "VARCHAR"},   {"$version", "BIGINT"},
      {"$createdAt", "TIMESTAMP"}, {"$updatedAt", "TIMESTAMP"}, {"_deleted", "BOOLEAN"}, {"_current", "BOOLEAN"},
      {"_valid_from", "BIGINT"},  {"_valid_to", "BIGINT"},    {"doc", "JSON"}};
  return columns;
}

std::string ColumnsDdl(const std::vector<TierColumn>& columns) {
  std::string out;
  for (const TierColumn& c : columns) out += (out.empty() ? "" : ", ") + DuckSession::Ident(c.name) + " " + c.type;
  return out;
}

namespace {

std::string DayOf(int64_t ms) { return FormatIso8601(ms).substr(0, 10); }

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

// The current rows and superseded versions of `ids` (missing ids are skipped).
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

// The batch of a file of `rows` (every row of each of their ids).
Result<TierBatch> BatchOf(std::vector<FileRow> rows, std::vector<std::string> hot_paths) {
  std::sort(rows.begin(), rows.end(), [](const FileRow& a, const FileRow& b) {
    return a.id != b.id ? a.id < b.id : a.version < b.version;
  });
  TierBatch batch;
  batch.columns = DocumentSystemColumns();
  batch.order_by = "\"$id\", \"$version\"";
  std::vector<std::pair<internal::JsonPath, ColumnKind>> typed;
  for (const std::string& p : hot_paths) {
    DOTDO_ASSIGN_OR_RETURN(internal::JsonPath path, internal::JsonPath::Parse(p));
    const ColumnKind kind = KindOf(rows, path);
    if (kind != ColumnKind::kNone)
      batch.columns.push_back({path.ToDotted(), kind == ColumnKind::kNumber ? "DOUBLE" : kind == ColumnKind::kText ? "VARCHAR" : "BOOLEAN"});
    typed.emplace_back(std::move(path), kind);
  }
  for (const FileRow& r : rows) {
    batch.max_seq = std::max(batch.max_seq, r.seq);
    batch.checksum += r.seq + r.version;
    ++batch.rows;
    if (!r.current) {
      ++batch.versions;
      continue;
    }
    TierUnit u{r.id, r.version, !r.deleted, {}};
    if (u.live && !typed.empty()) {
      DOTDO_ASSIGN_OR_RETURN(Json doc, internal::ParseJson(r.doc, "document"));
      for (size_t i = 0; i < typed.size(); ++i)
        for (internal::StatValue& sv : internal::RecordableValues(doc, typed[i].first)) u.values.emplace_back(i, std::move(sv));
    }
    batch.units.push_back(std::move(u));
  }
  batch.hot_paths = std::move(hot_paths);
  auto shared = std::make_shared<std::vector<FileRow>>(std::move(rows));
  batch.append = [shared, typed = std::move(typed)](DuckSession::Appender& app) -> Status {
    for (const FileRow& r : *shared) {
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
      for (const auto& [path, kind] : typed) {
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
    return OkStatus();
  };
  return batch;
}

class DocumentTierable final : public TierableStore {
 public:
  explicit DocumentTierable(Database& db) : db_(db) {}

  std::string_view Name() const override { return "document"; }
  std::string_view KeyPrefix() const override { return "documents"; }
  std::string_view RowChecksumSql() const override { return "_seq + \"$version\""; }
  std::string_view CurrentRowSql() const override { return "_current"; }

  Result<std::vector<std::pair<std::string, int64_t>>> HotTables() override {
    Connection& conn = DatabaseInternals::Conn(db_);
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT type, count(*) FILTER (WHERE deleted = 0) FROM doc_documents "
                                                 "GROUP BY type ORDER BY type"));
    std::vector<std::pair<std::string, int64_t>> out;
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.emplace_back(st.ColumnString(0), st.ColumnInt64(1));
    }
  }

  Result<std::vector<MovableUnit>> SelectMovable(const TieringPolicy& p, std::string_view type, int64_t now,
                                                 int64_t reads_tracked_since) override {
    Connection& conn = DatabaseInternals::Conn(db_);
    std::vector<MovableUnit> out;
    // The time of a document's last access: its last write, or its last recorded read when later.
    const bool reads = reads_tracked_since > 0 && conn.TableExists("doc_reads");
    const std::string from = reads ? "doc_documents d LEFT JOIN doc_reads r ON r.id = d.id" : "doc_documents d";
    const std::string last_access = reads ? "max(d.updated_at, coalesce(r.read_at, 0))" : "d.updated_at";
    // Runs `sql` (binding ?1 = type, ?2 = `bound`) and adds the selected (id, created_at) rows.
    auto select = [&](const std::string& sql, int64_t bound) -> Status {
      DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare(sql));
      st.Bind(1, type).Bind(2, bound);
      for (;;) {
        DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) return OkStatus();
        out.push_back({st.ColumnString(0), DayOf(st.ColumnInt64(1))});
      }
    };
    if (p.min_age_millis >= 0) {
      DOTDO_RETURN_IF_ERROR(select("SELECT id, created_at FROM doc_documents WHERE type = ?1 AND "
                                   "updated_at <= ?2 ORDER BY updated_at, seq",
                                   now - p.min_age_millis));
    }
    // The idle rule knows a document was not read only for the time reads were recorded.
    if (p.min_idle_millis >= 0 && reads && now - reads_tracked_since >= p.min_idle_millis) {
      DOTDO_RETURN_IF_ERROR(select("SELECT d.id, d.created_at FROM " + from + " WHERE d.type = ?1 AND " + last_access +
                                       " <= ?2 ORDER BY " + last_access + ", d.seq",
                                   now - p.min_idle_millis));
    }
    if (p.max_hot_documents >= 0) {
      int64_t hot = 0;
      {
        DOTDO_ASSIGN_OR_RETURN(auto count, conn.Prepare("SELECT count(*) FROM doc_documents WHERE type = ?1"));
        count.Bind(1, type);
        DOTDO_ASSIGN_OR_RETURN(bool row, count.Step());
        if (row) hot = count.ColumnInt64(0);
      }
      if (hot > p.max_hot_documents) {
        DOTDO_RETURN_IF_ERROR(select("SELECT d.id, d.created_at FROM " + from + " WHERE d.type = ?1 ORDER BY " + last_access +
                                         ", d.seq LIMIT ?2",
                                     hot - p.max_hot_documents));
      }
    }
    return out;
  }

  Result<TierBatch> LoadHot(std::string_view type, const std::vector<std::string>& keys) override {
    DOTDO_ASSIGN_OR_RETURN(std::vector<FileRow> rows, LoadHotRows(db_, keys));
    DOTDO_ASSIGN_OR_RETURN(std::vector<std::string> hot_paths, HotPaths(db_, type));
    return BatchOf(std::move(rows), std::move(hot_paths));
  }

  Result<std::vector<TierBatch>> LoadFiles(TierState& ts, std::string_view type, const std::vector<const FileEntry*>& files,
                                           int64_t max_units) override {
    std::vector<FileRow> rows;
    for (const FileEntry* f : files) {
      DOTDO_ASSIGN_OR_RETURN(std::vector<FileRow> file_rows, ReadUnmaskedRows(ts, *f));
      for (auto& r : file_rows) rows.push_back(std::move(r));
    }
    DOTDO_ASSIGN_OR_RETURN(std::vector<std::string> hot_paths, HotPaths(db_, type));
    // Rows of one id stay together; a batch holds at most max_units ids.
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    std::vector<TierBatch> out;
    std::vector<FileRow> chunk;
    int64_t ids = 0;
    auto flush = [&]() -> Status {
      if (chunk.empty()) return OkStatus();
      DOTDO_ASSIGN_OR_RETURN(TierBatch b, BatchOf(std::move(chunk), hot_paths));
      out.push_back(std::move(b));
      chunk.clear();
      ids = 0;
      return OkStatus();
    };
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i == 0 || rows[i].id != rows[i - 1].id) {
        if (ids == max_units) DOTDO_RETURN_IF_ERROR(flush());
        ++ids;
      }
      chunk.push_back(std::move(rows[i]));
    }
    DOTDO_RETURN_IF_ERROR(flush());
    return out;
  }

  Result<std::vector<std::string>> DeleteHot(TierState& ts, const std::vector<TierUnit>& units, int64_t max_seq) override {
    Connection& conn = DatabaseInternals::Conn(db_);
    DOTDO_ASSIGN_OR_RETURN(auto check, conn.Prepare("SELECT version FROM doc_documents WHERE id = ?1"));
    DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM doc_documents WHERE id = ?1"));
    DOTDO_ASSIGN_OR_RETURN(auto del_hist, conn.Prepare("DELETE FROM doc_history WHERE id = ?1"));
    std::vector<std::string> changed;
    for (const TierUnit& u : units) {
      check.Reset();
      check.Bind(1, u.key);
      DOTDO_ASSIGN_OR_RETURN(bool row, check.Step());
      // A document written (or purged) since the file was prepared stays as it is hot.
      if (!row || check.ColumnInt64(0) != u.version) {
        changed.push_back(u.key);
        continue;
      }
      del.Reset();
      del.Bind(1, u.key);
      DOTDO_RETURN_IF_ERROR(del.Run());
      del_hist.Reset();
      del_hist.Bind(1, u.key);
      DOTDO_RETURN_IF_ERROR(del_hist.Run());
    }
    // Sequence numbers below the floor may live in files (DocumentTier::SeqFloor).
    DOTDO_ASSIGN_OR_RETURN(int64_t floor, ts.StateValue("seq_floor"));
    if (max_seq > floor) DOTDO_RETURN_IF_ERROR(ts.SetStateValue("seq_floor", max_seq));
    return changed;
  }

 private:
  Database& db_;
};

struct Registry {
  std::mutex mu;
  std::map<std::string, TierableStoreFactory> factories = {
      {"document", [](Database& db) { return MakeDocumentTierable(db); }}};
};

Registry& TheRegistry() {
  static Registry* r = new Registry();
  return *r;
}

}  // namespace

std::unique_ptr<TierableStore> MakeDocumentTierable(Database& db) { return std::make_unique<DocumentTierable>(db); }

void RegisterTierableStore(std::string name, TierableStoreFactory factory) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.factories[std::move(name)] = std::move(factory);
}

std::vector<std::string> TierableStoreNames() {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> out;
  for (const auto& [name, f] : r.factories) out.push_back(name);
  return out;
}

std::vector<std::unique_ptr<TierableStore>> MakeTierableStores(Database& db) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::unique_ptr<TierableStore>> out;
  for (const auto& [name, f] : r.factories) out.push_back(f(db));
  return out;
}

}  // namespace dotdo::tiering
