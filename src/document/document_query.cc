// DocumentStore reads over many documents (Query, List, Count) and their accelerators
// (CreateIndex, ConfigureStats). Pagination is keyset-based: the cursor carries the sort values and
// the insertion sequence of the last row returned, so pages stay stable under concurrent writes
// (no row is skipped or repeated that existed, unchanged, for the whole scan).
#include <algorithm>
#include <cstdio>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/cursor.h"
#include "core/encoding.h"
#include "core/json.h"
#include "core/mql_match.h"
#include "document/document_internal.h"
#include "document/document_reads.h"
#include "document/document_stats.h"
#include "document/query_compiler.h"

namespace dotdo {

using internal::CompiledFilter;
using internal::Connection;
using internal::DatabaseInternals;
using internal::DocumentState;
using internal::PrunableTerm;
using internal::FieldRef;
using internal::SqlValue;

namespace {

constexpr size_t kMaxSortKeys = 8;
constexpr int64_t kMaxBloomBlocks = 1 << 20;

std::string Hash64(std::string_view s) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(XXH3_64bits(s.data(), s.size())));
  return buf;
}

Json ColumnJson(const internal::Statement& st, int i) {
  switch (st.GetColumnType(i)) {
    case internal::ColumnType::kInteger: return st.ColumnInt64(i);
    case internal::ColumnType::kFloat: return st.ColumnDouble(i);
    case internal::ColumnType::kText: return st.ColumnString(i);
    case internal::ColumnType::kBlob: return internal::HexEncode(st.ColumnBlob(i));
    case internal::ColumnType::kNull: break;
  }
  return nullptr;
}

struct SortTerm {
  FieldRef path;
  bool descending;
};

struct Cursor {
  std::vector<Json> values;
  int64_t seq = 0;
};

// The position of a query cursor: {"q": fingerprint of the query shape, "k": the sort values of the
// last row, "s": its seq}; the fingerprint binds the cursor to its query.
constexpr std::string_view kCursorKind = "document.query";

Result<std::string> EncodeCursor(const std::string& fingerprint, const Cursor& last) {
  return internal::EncodeCursor(kCursorKind, Json{{"q", fingerprint}, {"k", last.values}, {"s", last.seq}});
}

Result<std::optional<Cursor>> DecodeCursor(std::string_view text, const std::string& fingerprint, size_t keys) {
  if (text.empty()) return std::optional<Cursor>();
  DOTDO_ASSIGN_OR_RETURN(Json j, internal::DecodeCursor(text, kCursorKind));
  if (!j.is_object() || !j.contains("q") || !j.contains("k") || !j.contains("s") || !j["k"].is_array() ||
      !j["s"].is_number_integer() || !j["q"].is_string())
    return InvalidArgumentError("invalid cursor: not a document query position; pass back next_cursor exactly as returned");
  if (j["q"] != fingerprint)
    return InvalidArgumentError("this cursor belongs to a different query (type, filter or sort changed); "
                                "start again without a cursor");
  if (j["k"].size() != keys) return InvalidArgumentError("invalid cursor: wrong number of sort values for this query");
  Cursor c;
  for (const Json& v : j["k"]) {
    if (v.is_object() || v.is_array() || v.is_boolean()) return InvalidArgumentError("invalid cursor: a sort value is not a string, number or null");
    c.values.push_back(v);
  }
  c.seq = j["s"].get<int64_t>();
  return std::optional<Cursor>(std::move(c));
}

// Appends the keyset condition "row comes after the cursor" for sort terms [i..] to sql/params.
void Keyset(const std::vector<SortTerm>& sort, const Cursor& c, size_t i, bool tie_desc, std::string& sql,
            std::vector<SqlValue>& params) {
  if (i == sort.size()) {
    sql += tie_desc ? "seq < ?" : "seq > ?";
    params.emplace_back(c.seq);
    return;
  }
  const std::string e = sort[i].path.Expression();
  const Json& v = c.values[i];
  const bool desc = sort[i].descending;
  sql += "(";
  if (!desc && v.is_null()) {
    sql += e + " IS NOT NULL OR ";
  } else if (!desc) {
    sql += e + " > ? OR ";
    params.push_back(internal::ToSqlValue(v));
  } else if (!v.is_null()) {
    sql += e + " < ? OR " + e + " IS NULL OR ";
    params.push_back(internal::ToSqlValue(v));
  }
  if (v.is_null()) {
    sql += "(" + e + " IS NULL AND ";
  } else {
    sql += "(" + e + " = ? AND ";
    params.push_back(internal::ToSqlValue(v));
  }
  Keyset(sort, c, i + 1, tie_desc, sql, params);
  sql += "))";
}

// True when the stats prove that no document of `type` matches one of the top-level terms.
Result<bool> StatsExcludeAll(Database& db, std::string_view type, const std::vector<PrunableTerm>& terms) {
  if (terms.empty()) return false;
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::ForRead(db));
  if (state == nullptr) return false;
  DOTDO_ASSIGN_OR_RETURN(const std::vector<std::string>* configured, state->StatsPaths(type));
  if (configured->empty()) return false;
  for (const PrunableTerm& t : terms) {
    if (std::find(configured->begin(), configured->end(), t.path) == configured->end()) continue;
    DOTDO_ASSIGN_OR_RETURN(auto stats, internal::LoadStats(db, type, t.path));
    if (!stats) continue;
    const auto may_contain = [&](const std::string& key) {
      return internal::BloomMayContain(db, type, t.path, stats->blocks, key);
    };
    DOTDO_ASSIGN_OR_RETURN(bool all_absent, internal::StatsExclude(t, *stats, may_contain));
    if (all_absent) return true;
  }
  return false;
}

Result<Json> Project(Json doc, const std::vector<internal::JsonPath>& projection) {
  if (projection.empty()) return doc;
  Json out = Json::object();
  out["$id"] = doc["$id"];
  out["$type"] = doc["$type"];
  for (const auto& p : projection) {
    const Json* v = p.Find(doc);
    if (v != nullptr) DOTDO_RETURN_IF_ERROR(p.Set(out, *v));
  }
  return out;
}

}  // namespace

namespace {

// " INDEXED BY <name>" for the most selective indexed top-level term, else for the first sort key;
// empty when no index applies. Without ANALYZE statistics SQLite may prefer the type index to an
// expression index (e.g. for $in), so the store names the index it created for the path.
Result<std::string> IndexHint(Database& db, std::string_view type, const std::vector<PrunableTerm>& terms,
                              const FieldRef* first_sort) {
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::ForRead(db));
  if (state == nullptr) return std::string();
  DOTDO_ASSIGN_OR_RETURN(const auto* indexes, state->Indexes(type));
  if (indexes->empty()) return std::string();
  // A multikey index cannot serve a filter (the filter matches inside arrays); it still orders.
  for (auto op : {PrunableTerm::Op::kEq, PrunableTerm::Op::kIn, PrunableTerm::Op::kGt, PrunableTerm::Op::kGte,
                  PrunableTerm::Op::kLt, PrunableTerm::Op::kLte}) {
    for (const PrunableTerm& t : terms) {
      auto it = indexes->find(t.path);
      if (t.op == op && it != indexes->end() && !it->second.multikey) return " INDEXED BY " + it->second.name;
    }
  }
  if (first_sort != nullptr) {
    auto it = indexes->find(first_sort->name);
    if (it != indexes->end()) return " INDEXED BY " + it->second.name;
  }
  return std::string();
}

// The filter of a query on `type`: index paths no document put an array on compile to plain
// comparisons the index serves. Validates even when the namespace has no document tables.
Result<CompiledFilter> CompileTypeFilter(Database& db, std::string_view type, const Json& where) {
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::ForRead(db));
  const std::set<std::string>* scalar_paths = nullptr;
  if (state != nullptr) {
    DOTDO_ASSIGN_OR_RETURN(scalar_paths, state->ScalarIndexPaths(type));
  }
  return internal::CompileFilter(where, internal::DocumentFields(), scalar_paths);
}

// A query compiled to one SELECT: seq, json(data), then the sort expressions.
struct CompiledQuery {
  std::string sql;
  std::vector<SqlValue> params;
  std::string fingerprint;
  std::vector<SortTerm> sort;
  std::vector<internal::JsonPath> projection;
  bool excluded = false;  // the stats prove the result is empty
  // sql[unhinted_from, hint_end) is the " INDEXED BY ..." clause, if any.
  size_t unhinted_from = std::string::npos, hint_end = 0;

  // The statement, without the index hint when SQLite cannot use the hinted index for it.
  Result<internal::Statement> Prepare(Connection& conn) const {
    auto st = conn.Prepare(sql);
    if (st.ok() || unhinted_from == std::string::npos) return st;
    return conn.Prepare(sql.substr(0, unhinted_from) + sql.substr(hint_end));
  }
};

// REQUIRES: the connection lock is held (stats are read). With a tier, moved rows that may match
// are staged and the query reads hot and staged rows together.
Result<CompiledQuery> CompileQuery(Database& db, const DocumentQueryOptions& q, internal::DocumentTier* tier) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateType(q.type));
  if (q.limit < 1 || q.limit > 1000)
    return InvalidArgumentError("limit must be between 1 and 1000, got " + std::to_string(q.limit));
  DOTDO_ASSIGN_OR_RETURN(CompiledFilter filter, CompileTypeFilter(db, q.type, q.where));
  if (q.sort.size() > kMaxSortKeys) return InvalidArgumentError("at most 8 sort keys");
  CompiledQuery out;
  std::string shape = q.type + '\n' + internal::DumpJson(q.where) + '\n';
  for (const DocumentSortKey& k : q.sort) {
    DOTDO_ASSIGN_OR_RETURN(FieldRef p, internal::DocumentFields().Resolve(k.path));
    shape += p.name + (k.descending ? " desc," : " asc,");
    out.sort.push_back({std::move(p), k.descending});
  }
  for (const std::string& text : q.projection) {
    DOTDO_ASSIGN_OR_RETURN(internal::JsonPath p, internal::JsonPath::Parse(text));
    for (const auto& seg : p.segments())
      if (!std::holds_alternative<std::string>(seg))
        return InvalidArgumentError("projection path '" + p.ToDotted() + "' has an array index; project the whole array");
    out.projection.push_back(std::move(p));
  }
  out.fingerprint = Hash64(shape);
  DOTDO_ASSIGN_OR_RETURN(std::optional<Cursor> cursor, DecodeCursor(q.cursor, out.fingerprint, out.sort.size()));
  DOTDO_ASSIGN_OR_RETURN(out.excluded, StatsExcludeAll(db, q.type, filter.prunable));

  const auto& sort = out.sort;
  const bool tie_desc = !sort.empty() && sort.back().descending;
  std::string& sql = out.sql;
  sql = "SELECT seq, json(data)";
  for (const SortTerm& t : sort) sql += ", " + t.path.Expression();
  std::string source;
  if (tier != nullptr) {
    // The namespace's stats cover hot rows only after a rebuild; moved rows are pruned per file.
    DOTDO_ASSIGN_OR_RETURN(source, tier->StageQuery(q.type, filter.prunable));
    if (!source.empty()) out.excluded = false;
  }
  sql += " FROM " + (source.empty() ? std::string("doc_documents") : source);
  std::string hint;
  if (source.empty()) {
    DOTDO_ASSIGN_OR_RETURN(hint, IndexHint(db, q.type, filter.prunable, sort.empty() ? nullptr : &sort[0].path));
  }
  if (!hint.empty()) {
    out.unhinted_from = sql.size();
    sql += hint;
  }
  out.hint_end = sql.size();
  sql += " WHERE " + internal::TypeClause(q.type);
  if (filter.sql != "1") sql += " AND " + filter.sql;
  out.params = std::move(filter.params);
  if (cursor) {
    sql += " AND ";
    if (!sort.empty() && !sort[0].descending && !cursor->values[0].is_null()) {
      // A lower bound on the first key lets an index seek instead of scanning from the start.
      sql += sort[0].path.Expression() + " >= ? AND ";
      out.params.push_back(internal::ToSqlValue(cursor->values[0]));
    }
    Keyset(sort, *cursor, 0, tie_desc, sql, out.params);
  }
  sql += " ORDER BY ";
  for (const SortTerm& t : sort) sql += t.path.Expression() + (t.descending ? " DESC, " : ", ");
  sql += tie_desc ? "seq DESC" : "seq";
  sql += internal::LimitClause(q.limit + 1);  // q.limit was validated (1..1000)
  return out;
}

}  // namespace

Result<DocumentPage> DocumentStore::Query(const DocumentQueryOptions& q) {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::ForRead(db_));
  internal::DocumentTier* tier = nullptr;
  if (state != nullptr) {
    DOTDO_ASSIGN_OR_RETURN(tier, internal::TierOf(db_));
  }
  internal::ReadSnapshot snapshot(conn, tier != nullptr);
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  DOTDO_ASSIGN_OR_RETURN(CompiledQuery cq, CompileQuery(db_, q, tier));  // validates even with no tables
  DocumentPage page;
  if (cq.excluded || state == nullptr) return page;
  DOTDO_ASSIGN_OR_RETURN(auto st, cq.Prepare(conn));
  st.BindValues(cq.params);
  internal::DocumentReadLog& reads = internal::ReadLogOf(db_);
  const bool track_reads = reads.Tracking();
  bool reads_due = false;
  Cursor last;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (static_cast<int64_t>(page.items.size()) == q.limit) {
      DOTDO_ASSIGN_OR_RETURN(page.next_cursor, EncodeCursor(cq.fingerprint, last));
      break;
    }
    last.seq = st.ColumnInt64(0);
    last.values.clear();
    for (size_t i = 0; i < cq.sort.size(); ++i) last.values.push_back(ColumnJson(st, static_cast<int>(i) + 2));
    DOTDO_ASSIGN_OR_RETURN(Json doc, internal::ParseStoredDocument(st.ColumnText(1), "a stored document"));
    if (track_reads) {
      auto id = doc.find("$id");
      if (id != doc.end() && id->is_string()) reads_due = reads.Record(id->get_ref<const std::string&>());
    }
    DOTDO_ASSIGN_OR_RETURN(Json item, Project(std::move(doc), cq.projection));
    page.items.push_back(std::move(item));
  }
  if (reads_due) {
    st.Reset();
    reads.FlushIfDue();
  }
  return page;
}

Result<std::string> DocumentStore::Explain(const DocumentQueryOptions& q) {
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::ForRead(db_));
  DOTDO_ASSIGN_OR_RETURN(CompiledQuery cq, CompileQuery(db_, q, nullptr));
  if (cq.excluded) return std::string("SKIP DOCUMENTS (stats prove no match)");
  if (state == nullptr) return std::string("SKIP DOCUMENTS (no document was ever written in this namespace)");
  auto prepared = conn.PrepareUncached("EXPLAIN QUERY PLAN " + cq.sql);
  if (!prepared.ok() && cq.unhinted_from != std::string::npos)
    prepared = conn.PrepareUncached("EXPLAIN QUERY PLAN " + cq.sql.substr(0, cq.unhinted_from) + cq.sql.substr(cq.hint_end));
  DOTDO_ASSIGN_OR_RETURN(auto st, std::move(prepared));
  st.BindValues(cq.params);
  std::string out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (!out.empty()) out += '\n';
    out += st.ColumnText(3);
  }
  return out;
}

Result<DocumentPage> DocumentStore::List(std::string_view type, int64_t limit, std::string_view cursor) {
  DocumentQueryOptions q;
  q.type = std::string(type);
  q.limit = limit;
  q.cursor = std::string(cursor);
  return Query(q);
}

Result<int64_t> DocumentStore::Count(std::string_view type, const Json& where) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateType(type));
  Connection& conn = DatabaseInternals::Conn(db_);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(CompiledFilter filter, CompileTypeFilter(db_, type, where));
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::ForRead(db_));
  if (state == nullptr) return int64_t{0};
  DOTDO_ASSIGN_OR_RETURN(bool excluded, StatsExcludeAll(db_, type, filter.prunable));
  DOTDO_ASSIGN_OR_RETURN(internal::DocumentTier * tier, internal::TierOf(db_));
  if (excluded && tier == nullptr) return int64_t{0};
  internal::ReadSnapshot snapshot(conn, tier != nullptr);
  DOTDO_RETURN_IF_ERROR(snapshot.status());
  // Moved rows: counted from the file accelerator without a filter, else staged and counted.
  int64_t moved = 0;
  std::string source = "doc_documents";
  if (tier != nullptr) {
    std::optional<int64_t> known;
    if (filter.sql == "1") {
      DOTDO_ASSIGN_OR_RETURN(known, tier->CountWithoutFiles(type));
    }
    if (known) {
      moved = *known;
    } else {
      DOTDO_ASSIGN_OR_RETURN(std::string staged, tier->StageQuery(type, filter.prunable));
      if (!staged.empty()) source = staged;
    }
    // The stats speak for the hot rows only (see Query).
    if (excluded && source == "doc_documents") return moved;
  }
  std::string hint;
  if (source == "doc_documents") {
    DOTDO_ASSIGN_OR_RETURN(hint, IndexHint(db_, type, filter.prunable, nullptr));
  }
  std::string clause = " WHERE " + internal::TypeClause(type);
  if (filter.sql != "1") clause += " AND " + filter.sql;
  auto prepared = conn.Prepare("SELECT count(*) FROM " + source + hint + clause);
  if (!prepared.ok() && !hint.empty()) prepared = conn.Prepare("SELECT count(*) FROM " + source + clause);
  DOTDO_ASSIGN_OR_RETURN(auto st, std::move(prepared));
  st.BindValues(filter.params);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return InternalError("count returned no row");
  return st.ColumnInt64(0) + moved;
}

Status DocumentStore::CreateIndex(std::string_view type, std::string_view path) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateType(type));
  DOTDO_ASSIGN_OR_RETURN(FieldRef p, internal::DocumentFields().Resolve(path));
  Connection& conn = DatabaseInternals::Conn(db_);
  // "$id" is the primary key and "$type" is the partition itself: both are indexed already.
  if (!p.is_json() && (p.column == "id" || p.column == "type")) return OkStatus();
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::Of(db_));
  const std::string name = "doc_ix_" + std::string(type) + "_" + Hash64(p.name);
  return db_.Transaction([&]() -> Status {
    // Partial per type, and led by the type column too: then a query's "type = 'T'" is one more
    // constraint the index satisfies, so the planner prefers it over doc_documents_type for ranges.
    DOTDO_RETURN_IF_ERROR(conn.Exec("CREATE INDEX IF NOT EXISTS " + name + " ON doc_documents(type, " +
                                    p.Expression() + ") WHERE " + internal::TypeClause(type)));
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("INSERT INTO doc_indexes(type, path, name, created_at) VALUES (?1, ?2, ?3, ?4) "
                                                 "ON CONFLICT(type, path) DO NOTHING"));
    st.Bind(1, type).Bind(2, p.name).Bind(3, name).Bind(4, db_.NowMillis());
    DOTDO_RETURN_IF_ERROR(st.Run());
    if (p.is_json()) {
      DOTDO_ASSIGN_OR_RETURN(auto mk, conn.Prepare(
                                          "UPDATE doc_indexes SET multikey = EXISTS (SELECT 1 FROM doc_documents WHERE "
                                          "type = ?1 AND deleted = 0 AND dotdo_array_on_path(json(data), ?2)) "
                                          "WHERE type = ?1 AND path = ?2"));
      mk.Bind(1, type).Bind(2, p.name);
      DOTDO_RETURN_IF_ERROR(mk.Run());
    }
    state->InvalidateIndexCache();
    return OkStatus();
  });
}

namespace internal {

Status NoteIndexArrays(Database& db, std::string_view type, const Json& doc) {
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::Of(db));
  DOTDO_ASSIGN_OR_RETURN(const auto* indexes, state->Indexes(type));
  std::vector<std::string> now_multikey;
  for (const auto& [path, index] : *indexes) {
    if (index.multikey || path.empty() || path[0] == '$') continue;
    DOTDO_ASSIGN_OR_RETURN(JsonPath p, JsonPath::Parse(path));
    if (PathCrossesArray(doc, p)) now_multikey.push_back(path);
  }
  if (now_multikey.empty()) return OkStatus();
  Connection& conn = DatabaseInternals::Conn(db);
  for (const std::string& path : now_multikey) {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("UPDATE doc_indexes SET multikey = 1 WHERE type = ?1 AND path = ?2"));
    st.Bind(1, type).Bind(2, path);
    DOTDO_RETURN_IF_ERROR(st.Run());
  }
  state->InvalidateIndexCache();
  return OkStatus();
}

}  // namespace internal

Status DocumentStore::ConfigureStats(std::string_view type, std::string_view path) {
  DOTDO_RETURN_IF_ERROR(internal::ValidateType(type));
  DOTDO_ASSIGN_OR_RETURN(FieldRef p, internal::DocumentFields().Resolve(path));
  if (!p.is_json())
    return InvalidArgumentError("stats on '" + p.name + "' are not needed: it is a column of the documents table");
  if (options_.bloom_blocks < 1 || options_.bloom_blocks > kMaxBloomBlocks)
    return InvalidArgumentError("DocumentStoreOptions::bloom_blocks must be between 1 and 1048576");
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::Of(db_));
  DOTDO_RETURN_IF_ERROR(db_.Transaction([&]() -> Status {
    DOTDO_RETURN_IF_ERROR(internal::RebuildStats(db_, type, p, options_.bloom_blocks));
    state->InvalidateStatsCache();
    return OkStatus();
  }));
  return OkStatus();
}

}  // namespace dotdo
