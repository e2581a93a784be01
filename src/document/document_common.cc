// DocumentStore schema, per-Database state, document parsing and validation, system fields and the
// change diff of cdc.update events.
#include <array>

#include "cdc/outbox.h"
#include "core/json.h"
#include "core/names.h"
#include "document/document_internal.h"

namespace dotdo {

Result<Json> ParseDocument(std::string_view text) {
  DOTDO_ASSIGN_OR_RETURN(Json doc, internal::ParseJson(text, "document", {.max_depth = internal::kMaxJsonDepth}));
  if (!doc.is_object())
    return InvalidArgumentError(std::string("a document must be a JSON object, got ") + doc.type_name());
  return doc;
}

namespace internal {
namespace {

constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE doc_documents (
  seq        INTEGER PRIMARY KEY,
  id         TEXT NOT NULL UNIQUE,
  type       TEXT NOT NULL,
  version    INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted    INTEGER NOT NULL DEFAULT 0,
  data       BLOB NOT NULL
);
CREATE INDEX doc_documents_type ON doc_documents(type) WHERE deleted = 0;
CREATE TABLE doc_history (
  id         TEXT NOT NULL,
  version    INTEGER NOT NULL,
  valid_from INTEGER NOT NULL,
  valid_to   INTEGER NOT NULL,
  deleted    INTEGER NOT NULL,
  data       BLOB NOT NULL,
  PRIMARY KEY (id, version)
) WITHOUT ROWID;
CREATE INDEX doc_history_valid_to ON doc_history(valid_to);
CREATE TABLE doc_indexes (
  type       TEXT NOT NULL,
  path       TEXT NOT NULL,
  name       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (type, path)
) WITHOUT ROWID;
CREATE TABLE doc_stats (
  type       TEXT NOT NULL,
  path       TEXT NOT NULL,
  blocks     INTEGER NOT NULL,
  min_num    REAL,
  max_num    REAL,
  min_str    TEXT,
  max_str    TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (type, path)
) WITHOUT ROWID;
CREATE TABLE doc_bloom (
  type  TEXT NOT NULL,
  path  TEXT NOT NULL,
  block INTEGER NOT NULL,
  bits  BLOB NOT NULL,
  PRIMARY KEY (type, path, block)
) WITHOUT ROWID;
)sql",
    // Bloom keys of numbers became canonical (equal for values SQLite compares equal). Filters
    // built with the old keys could miss such values: they are dropped, and blocks = 0 makes
    // lookups answer "may contain" (min/max pruning stays) until ConfigureStats rebuilds them.
    R"sql(
DELETE FROM doc_bloom;
UPDATE doc_stats SET blocks = 0;
)sql",
    // Filters match inside arrays. An index on a path that holds arrays cannot serve them
    // (multikey); statistics now record array elements and values reached through arrays, so the
    // old ones are dropped where a live document has an array on the path (ConfigureStats again).
    R"sql(
ALTER TABLE doc_indexes ADD COLUMN multikey INTEGER NOT NULL DEFAULT 0;
UPDATE doc_indexes SET multikey = EXISTS (SELECT 1 FROM doc_documents d WHERE d.type = doc_indexes.type AND
  d.deleted = 0 AND dotdo_array_on_path(json(d.data), doc_indexes.path));
DELETE FROM doc_bloom WHERE EXISTS (SELECT 1 FROM doc_documents d WHERE d.type = doc_bloom.type AND
  d.deleted = 0 AND dotdo_array_on_path(json(d.data), doc_bloom.path));
DELETE FROM doc_stats WHERE EXISTS (SELECT 1 FROM doc_documents d WHERE d.type = doc_stats.type AND
  d.deleted = 0 AND dotdo_array_on_path(json(d.data), doc_stats.path));
)sql"};

constexpr std::array<std::string_view, 5> kSystemFields = {"$id", "$type", "$createdAt", "$updatedAt", "$version"};

}  // namespace

DocumentState::DocumentState(Database& db) : db_(db) { DatabaseInternals::AddObserver(db_, this); }
DocumentState::~DocumentState() { DatabaseInternals::RemoveObserver(db_, this); }

const StoreSpec kDocumentSpec{.name = "document", .table_prefix = "doc_", .migrations = kMigrations};

Result<DocumentState*> DocumentState::Of(Database& db) { return StoreStateOf<DocumentState>(db, kDocumentSpec); }

Result<DocumentState*> DocumentState::ForRead(Database& db) {
  auto lock = DatabaseInternals::Conn(db).Lock();
  DOTDO_ASSIGN_OR_RETURN(bool present, StoreSchemaPresent(db, kDocumentSpec));
  if (!present) return static_cast<DocumentState*>(nullptr);
  return &DatabaseInternals::Extension<DocumentState>(db);
}

void DocumentState::InvalidateStatsCache() {
  stats_loaded_ = false;
  stats_paths_.clear();
}

Result<const std::vector<std::string>*> DocumentState::StatsPaths(std::string_view type) {
  static const std::vector<std::string> kNone;
  if (!stats_loaded_) {
    stats_paths_.clear();
    DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db_).Prepare("SELECT type, path FROM doc_stats"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      stats_paths_[st.ColumnString(0)].push_back(st.ColumnString(1));
    }
    stats_loaded_ = true;
  }
  auto it = stats_paths_.find(type);
  return it == stats_paths_.end() ? &kNone : &it->second;
}

void DocumentState::InvalidateIndexCache() {
  indexes_loaded_ = false;
  indexes_.clear();
}

Result<const std::map<std::string, DocumentState::Index>*> DocumentState::Indexes(std::string_view type) {
  static const std::map<std::string, Index> kNone;
  if (!indexes_loaded_) {
    indexes_.clear();
    scalar_paths_.clear();
    DOTDO_ASSIGN_OR_RETURN(auto st,
                           DatabaseInternals::Conn(db_).Prepare("SELECT type, path, name, multikey FROM doc_indexes"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      const bool multikey = st.ColumnInt64(3) != 0;
      indexes_[st.ColumnString(0)][st.ColumnString(1)] = Index{st.ColumnString(2), multikey};
      if (!multikey) scalar_paths_[st.ColumnString(0)].insert(st.ColumnString(1));
    }
    indexes_loaded_ = true;
  }
  auto it = indexes_.find(type);
  return it == indexes_.end() ? &kNone : &it->second;
}

Result<const std::set<std::string>*> DocumentState::ScalarIndexPaths(std::string_view type) {
  static const std::set<std::string> kNone;
  DOTDO_RETURN_IF_ERROR(Indexes(type).status());
  auto it = scalar_paths_.find(type);
  return it == scalar_paths_.end() ? &kNone : &it->second;
}

Result<std::optional<StoredRow>> LoadRow(Connection& conn, std::string_view id) {
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT seq, type, version, created_at, updated_at, deleted, json(data) "
                                               "FROM doc_documents WHERE id = ?1"));
  st.Bind(1, id);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<StoredRow>();
  StoredRow r;
  r.seq = st.ColumnInt64(0);
  r.type = st.ColumnString(1);
  r.version = st.ColumnInt64(2);
  r.created_at = st.ColumnInt64(3);
  r.updated_at = st.ColumnInt64(4);
  r.deleted = st.ColumnInt64(5) != 0;
  DOTDO_ASSIGN_OR_RETURN(r.doc, ParseStoredDocument(st.ColumnText(6), "stored document '" + std::string(id) + "'"));
  return std::optional<StoredRow>(std::move(r));
}

namespace {

// Which DocumentTier serves a Database (set by Tiering::Attach).
struct DocumentTierSlot {
  explicit DocumentTierSlot(Database&) {}
  DocumentTier* tier = nullptr;
};

}  // namespace

void SetDocumentTier(Database& db, DocumentTier* tier) {
  auto lock = DatabaseInternals::Conn(db).Lock();
  DatabaseInternals::Extension<DocumentTierSlot>(db).tier = tier;
}

Result<DocumentTier*> TierOf(Database& db) {
  Connection& conn = DatabaseInternals::Conn(db);
  auto lock = conn.Lock();
  DocumentTier* tier = DatabaseInternals::Extension<DocumentTierSlot>(db).tier;
  if (tier != nullptr) return tier;
  // Moved rows exist only once the tiering tables do; without a tier a read would miss them.
  if (!conn.TableExists("tier_files")) return static_cast<DocumentTier*>(nullptr);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT 1 FROM tier_files WHERE store = 'document' LIMIT 1"));
  DOTDO_ASSIGN_OR_RETURN(bool moved, st.Step());
  if (moved)
    return FailedPreconditionError("this namespace has documents in the warm tier: open it through its NamespaceHost "
                                   "or attach its object store with Tiering::Attach before reading documents");
  return static_cast<DocumentTier*>(nullptr);
}

Result<std::optional<StoredRow>> LoadRowForWrite(Database& db, Connection& conn, std::string_view id) {
  DOTDO_ASSIGN_OR_RETURN(DocumentTier * tier, TierOf(db));
  if (tier != nullptr) DOTDO_RETURN_IF_ERROR(tier->BringBack(id));
  return LoadRow(conn, id);
}

Status ValidateType(std::string_view type) { return ValidateTypeName(type, "$type"); }

Status ValidateId(std::string_view id) { return ValidateRecordId(id, "$id"); }

Result<Json> ParseStoredDocument(std::string_view text, std::string_view what) {
  // Stored bodies passed ValidateBody (64 levels) and come from SQLite's json(), whose own depth
  // limit (1000) bounds a corrupted one, so the per-element depth callback is skipped: reads are
  // the hot path (Get, Query).
  auto doc = ParseJson(text, what, {.max_depth = internal::kNoDepthCheck});
  if (!doc.ok() && doc.status().code() == StatusCode::kInvalidArgument) return DataLossError(doc.status().message());
  return doc;
}

bool IsSystemField(std::string_view key) {
  for (auto f : kSystemFields)
    if (f == key) return true;
  return false;
}

Status ValidateBody(const Json& doc) {
  if (!doc.is_object())
    return InvalidArgumentError(std::string("a document must be a JSON object, got ") + doc.type_name());
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& k = it.key();
    if (!k.empty() && k[0] == '$' && !IsSystemField(k))
      return InvalidArgumentError("top-level key '" + k.substr(0, 80) +
                                  "' is reserved: keys starting with '$' are system fields "
                                  "($id, $type, $createdAt, $updatedAt, $version)");
  }
  // Nesting deeper than kMaxJsonDepth is refused everywhere (ParseDocument does the same), so
  // serializing and destroying documents never recurses deeply.
  return CheckJsonDepth(doc, kMaxJsonDepth, "document");
}

Json BodyOf(const Json& doc) {
  Json body = Json::object();
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (!IsSystemField(it.key())) body[it.key()] = it.value();
  return body;
}

void SetSystemFields(Json& doc, std::string_view id, std::string_view type, int64_t version, int64_t created_at,
                     int64_t updated_at) {
  doc["$id"] = id;
  doc["$type"] = type;
  doc["$version"] = version;
  std::string created = FormatIso8601(created_at);
  doc["$updatedAt"] = created_at == updated_at ? created : FormatIso8601(updated_at);
  doc["$createdAt"] = std::move(created);
}

void DiffObjects(const Json& a, const Json& b, Json& before, Json& after) {
  for (auto it = a.begin(); it != a.end(); ++it) {
    auto other = b.find(it.key());
    if (other == b.end()) {
      before[it.key()] = it.value();
    } else if (*other != it.value()) {
      if (other->is_object() && it.value().is_object()) {
        Json sub_before = Json::object(), sub_after = Json::object();
        DiffObjects(it.value(), *other, sub_before, sub_after);
        // On both sides even when one is empty: a key on both sides with objects on both means
        // "still an object, changed inside"; on the before side only it would mean "removed".
        before[it.key()] = std::move(sub_before);
        after[it.key()] = std::move(sub_after);
      } else {
        before[it.key()] = it.value();
        after[it.key()] = *other;
      }
    }
  }
  for (auto it = b.begin(); it != b.end(); ++it)
    if (!a.contains(it.key())) after[it.key()] = it.value();
}

}  // namespace internal
}  // namespace dotdo
