// Expression indexes on chosen metadata paths (VectorStoreOptions::indexed_metadata_paths) and the
// filter compilation that lets SQLite use them.
//
// An indexed path P gets `CREATE INDEX vec_ix_<n> ON vec_records(json_type(metadata, P),
// json_extract(metadata, P))`, registered in vec_indexes. Both expressions are rendered by
// FieldRef (JsonTypeExpression(), Expression()), the same text the filter compiler emits, so SQLite
// matches them. Leading with the JSON type serves every scalar form of the compiler: booleans
// (`json_type(..) = 'true'`), strings and numbers (`json_extract(..) = ? AND json_type(..) = 'text'`
// or `IN ('integer', 'real')`), ranges, $in and $exists.
//
// Invariants:
//   1. vec_indexes.multikey = 1 once any record's metadata (at index creation, or in a later write)
//      put an array on the path; it is set in the write's transaction and never cleared.
//   2. Only non-multikey indexed paths are given to the compiler as scalar paths, so a filter on a
//      path that holds an array somewhere keeps the array-aware CASE form and stays exact.
#include <set>

#include "core/mql_match.h"
#include "vector/vector_internal.h"

namespace dotdo::internal {

namespace {

inline constexpr size_t kMaxIndexedPaths = 32;

// Canonical path of a metadata path name; kInvalidArgument for $type/$id or a bad path.
Result<FieldRef> ResolveMetadataPath(std::string_view path) {
  DOTDO_ASSIGN_OR_RETURN(FieldRef f, VectorFields().Resolve(path));
  if (!f.is_json())
    return InvalidArgumentError("indexed_metadata_paths names metadata paths; " + f.name + " is always indexed");
  return f;
}

// The registered paths: canonical path -> multikey.
Result<std::map<std::string, bool>> IndexedPaths(Connection& conn) {
  std::map<std::string, bool> out;
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT path, multikey FROM vec_indexes"));
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out[st.ColumnString(0)] = st.ColumnInt64(1) != 0;
  }
  return out;
}

}  // namespace

Status ValidateIndexedPaths(const std::vector<std::string>& paths) {
  if (paths.size() > kMaxIndexedPaths)
    return InvalidArgumentError("indexed_metadata_paths holds at most " + std::to_string(kMaxIndexedPaths) + " paths");
  for (const std::string& p : paths) DOTDO_RETURN_IF_ERROR(ResolveMetadataPath(p).status());
  return OkStatus();
}

Result<bool> MetadataIndexesPresent(Database& db, const std::vector<std::string>& paths) {
  Connection& conn = DatabaseInternals::Conn(db);
  auto lock = conn.Lock();
  DOTDO_ASSIGN_OR_RETURN(auto existing, IndexedPaths(conn));
  for (const std::string& p : paths) {
    DOTDO_ASSIGN_OR_RETURN(FieldRef f, ResolveMetadataPath(p));
    if (!existing.count(f.name)) return false;
  }
  return true;
}

Status EnsureMetadataIndexes(Database& db, const std::vector<std::string>& paths) {
  if (paths.empty()) return OkStatus();
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(auto existing, IndexedPaths(conn));
  for (const std::string& p : paths) {
    DOTDO_ASSIGN_OR_RETURN(FieldRef f, ResolveMetadataPath(p));
    if (existing.count(f.name)) continue;
    DOTDO_ASSIGN_OR_RETURN(auto put, conn.Prepare(
        "INSERT INTO vec_indexes(path, name, multikey, created_at) VALUES (?1, '', 0, ?2)"));
    put.Bind(1, f.name).Bind(2, db.NowMillis());
    DOTDO_RETURN_IF_ERROR(put.Run());
    // Named by the registry row, never by user text.
    const std::string name = "vec_ix_" + std::to_string(conn.LastInsertRowId());
    DOTDO_RETURN_IF_ERROR(conn.Exec("CREATE INDEX " + name + " ON vec_records(" + f.JsonTypeExpression() + ", " +
                                    f.Expression() + ")"));
    DOTDO_ASSIGN_OR_RETURN(auto upd, conn.Prepare(
        "UPDATE vec_indexes SET name = ?2, multikey = EXISTS (SELECT 1 FROM vec_records WHERE "
        "dotdo_array_on_path(json(metadata), ?1)) WHERE path = ?1"));
    upd.Bind(1, f.name).Bind(2, name);
    DOTDO_RETURN_IF_ERROR(upd.Run());
    existing[f.name] = false;
  }
  return OkStatus();
}

Result<MetadataArrayTracker> MetadataArrayTracker::Load(Database& db) {
  MetadataArrayTracker t;
  DOTDO_ASSIGN_OR_RETURN(auto paths, IndexedPaths(DatabaseInternals::Conn(db)));
  for (const auto& [path, multikey] : paths) {
    if (multikey) continue;
    DOTDO_ASSIGN_OR_RETURN(JsonPath p, JsonPath::Parse(path));
    t.scalar_.emplace_back(path, std::move(p));
  }
  return t;
}

void MetadataArrayTracker::Note(const Json& metadata) {
  for (const auto& [name, path] : scalar_)
    if (!now_multikey_.count(name) && PathCrossesArray(metadata, path)) now_multikey_.insert(name);
}

Status MetadataArrayTracker::Flush(Database& db) {
  Connection& conn = DatabaseInternals::Conn(db);
  for (const std::string& name : now_multikey_) {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("UPDATE vec_indexes SET multikey = 1 WHERE path = ?1"));
    st.Bind(1, name);
    DOTDO_RETURN_IF_ERROR(st.Run());
  }
  now_multikey_.clear();
  return OkStatus();
}

Result<CompiledFilter> CompileVectorFilter(Database& db, const Json& where) {
  if (where.is_null() || (where.is_object() && where.empty())) return CompileFilter(where, VectorFields());
  std::set<std::string> scalar;
  DOTDO_ASSIGN_OR_RETURN(bool present, StoreSchemaPresent(db, kVectorSpec));
  if (present) {
    Connection& conn = DatabaseInternals::Conn(db);
    auto lock = conn.Lock();
    DOTDO_ASSIGN_OR_RETURN(auto paths, IndexedPaths(conn));
    for (const auto& [path, multikey] : paths)
      if (!multikey) scalar.insert(path);
  }
  return CompileFilter(where, VectorFields(), &scalar);
}

}  // namespace dotdo::internal
