// DocumentStore schema, per-Database state, document parsing and validation, system fields and the
// change diff of cdc.update events.
#include <array>

#include "cdc/outbox.h"
#include "document/document_internal.h"

namespace dotdo {

namespace {
constexpr int kMaxDepth = 64;
}  // namespace

Result<Json> ParseDocument(std::string_view text) {
  bool too_deep = false;
  Json doc;
  try {
    doc = Json::parse(
        text.begin(), text.end(),
        [&](int depth, Json::parse_event_t, Json&) {
          if (depth > kMaxDepth) too_deep = true;
          return true;
        },
        /*allow_exceptions=*/true);
  } catch (const Json::parse_error& e) {
    return InvalidArgumentError("invalid JSON document at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const Json::exception& e) {
    return InvalidArgumentError(std::string("invalid JSON document: ") + e.what());
  }
  if (too_deep) return InvalidArgumentError("document nests deeper than 64 levels");
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
)sql"};

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == ':' || c == '@' || c == '~' || c == '+' || c == '=' || c == '-';
}

constexpr std::array<std::string_view, 5> kSystemFields = {"$id", "$type", "$createdAt", "$updatedAt", "$version"};

}  // namespace

DocumentState::DocumentState(Database& db) : db_(db) { DatabaseInternals::AddObserver(db_, this); }
DocumentState::~DocumentState() { DatabaseInternals::RemoveObserver(db_, this); }

const StoreSpec kDocumentSpec{.name = "document", .table_prefix = "doc_", .migrations = kMigrations};

Result<DocumentState*> DocumentState::Of(Database& db) { return StoreStateOf<DocumentState>(db, kDocumentSpec); }

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

Result<const std::map<std::string, std::string>*> DocumentState::Indexes(std::string_view type) {
  static const std::map<std::string, std::string> kNone;
  if (!indexes_loaded_) {
    indexes_.clear();
    DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db_).Prepare("SELECT type, path, name FROM doc_indexes"));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      indexes_[st.ColumnString(0)][st.ColumnString(1)] = st.ColumnString(2);
    }
    indexes_loaded_ = true;
  }
  auto it = indexes_.find(type);
  return it == indexes_.end() ? &kNone : &it->second;
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
  try {
    r.doc = Json::parse(st.ColumnText(6));
  } catch (const Json::exception& e) {
    return DataLossError("stored document '" + std::string(id) + "' is not valid JSON: " + e.what());
  }
  return std::optional<StoredRow>(std::move(r));
}

Status ValidateType(std::string_view type) {
  auto bad = [&](std::string why) {
    return InvalidArgumentError("invalid $type '" + std::string(type.substr(0, 80)) + "': " + why);
  };
  if (type.empty()) return bad("empty");
  if (type.size() > 128) return bad("longer than 128 characters");
  auto start = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!start(type[0])) return bad("must start with a letter or '_'");
  for (char c : type)
    if (!start(c) && !(c >= '0' && c <= '9')) return bad("use only letters, digits and '_'");
  return OkStatus();
}

Status ValidateId(std::string_view id) {
  auto bad = [&](std::string why) {
    return InvalidArgumentError("invalid $id '" + std::string(id.substr(0, 80)) + "': " + why);
  };
  if (id.empty()) return bad("empty");
  if (id.size() > 128) return bad("longer than 128 characters");
  for (char c : id)
    if (!IsIdChar(c)) return bad("use only letters, digits and _ . : @ ~ + = -");
  return OkStatus();
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
  // Depth limit, checked without recursion: nesting deeper than kMaxDepth is refused everywhere
  // (ParseDocument does the same), so serializing and destroying documents never recurses deeply.
  std::vector<std::pair<const Json*, int>> stack = {{&doc, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (depth > kMaxDepth) return InvalidArgumentError("document nests deeper than 64 levels");
    if (node->is_structured())
      for (const Json& child : *node)
        if (child.is_structured()) stack.emplace_back(&child, depth + 1);
  }
  return OkStatus();
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
        if (!sub_before.empty()) before[it.key()] = std::move(sub_before);
        if (!sub_after.empty()) after[it.key()] = std::move(sub_after);
      } else {
        before[it.key()] = it.value();
        after[it.key()] = *other;
      }
    }
  }
  for (auto it = b.begin(); it != b.end(); ++it)
    if (!a.contains(it.key())) after[it.key()] = it.value();
}

Status JsonError(std::string_view what, const std::exception& e) {
  return InvalidArgumentError(std::string(what) + ": " + e.what());
}

}  // namespace internal
}  // namespace dotdo
