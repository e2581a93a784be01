// BlobStore::Query: a small where-language over blob metadata, compiled to SQL with bound
// parameters. Field names map to fixed column names; metadata paths go through JsonPath, whose
// canonical rendering is the only user-derived text that reaches SQL.
#include <string>
#include <vector>

#include "blob/blob_store_impl.h"
#include "core/json_path.h"

namespace dotdo {

using internal::SqlValue;

namespace {

struct Field {
  std::string expr;        // SQL expression of the value
  std::string exists_expr; // non-empty for metadata paths: json_type(...)
  bool is_time = false;    // accepts ISO-8601 strings
};

Result<Field> ResolveField(const std::string& name) {
  static const std::pair<const char*, const char*> kColumns[] = {
      {"key", "key"},
      {"size", "size"},
      {"hash", "sha256"},
      {"contentType", "content_type"},
      {"storageClass", "storage_class"},
      {"createdAt", "created_at"},
      {"updatedAt", "updated_at"},
      {"lastAccessedAt", "last_accessed_at"}};
  for (const auto& [field, column] : kColumns) {
    if (name == field) return Field{column, "", std::string(column).find("_at") != std::string::npos};
  }
  constexpr std::string_view kMeta = "metadata.";
  if (name.compare(0, kMeta.size(), kMeta) == 0) {
    auto path = internal::JsonPath::Parse(std::string_view(name).substr(kMeta.size()));
    if (!path.ok()) return InvalidArgumentError("invalid metadata path in '" + name + "': " + path.status().message());
    const std::string lit = path->ToSqlLiteral();
    return Field{"json_extract(metadata, " + lit + ")", "json_type(metadata, " + lit + ")", false};
  }
  return InvalidArgumentError("unknown query field '" + name.substr(0, 64) +
                              "': use key, size, hash, contentType, storageClass, createdAt, updatedAt, "
                              "lastAccessedAt or metadata.<path>");
}

Result<SqlValue> ToSql(const Field& f, const std::string& field, const Json& v) {
  if (v.is_string()) {
    if (f.is_time) {
      auto ms = ParseIso8601(v.get<std::string>());
      if (!ms.ok()) return InvalidArgumentError("'" + field + "' compares with ms since epoch or an ISO-8601 time: " +
                                                ms.status().message());
      return SqlValue(*ms);
    }
    return SqlValue(v.get<std::string>());
  }
  if (v.is_boolean()) return SqlValue(static_cast<int64_t>(v.get<bool>()));
  if (v.is_number_integer()) return SqlValue(v.get<int64_t>());
  if (v.is_number()) return SqlValue(v.get<double>());
  return InvalidArgumentError("'" + field + "' must be compared with a string, number or boolean, not " +
                              std::string(v.type_name()));
}

Status AppendCondition(const Field& f, const std::string& field, const std::string& op, const Json& v,
                       std::string& sql, std::vector<SqlValue>& params) {
  auto bind = [&](const Json& value) -> Result<std::string> {
    DOTDO_ASSIGN_OR_RETURN(SqlValue p, ToSql(f, field, value));
    params.push_back(std::move(p));
    return "?" + std::to_string(params.size());
  };
  if (op == "$eq" || op == "$ne") {
    if (v.is_null()) {
      sql += " AND " + f.expr + (op == "$eq" ? " IS NULL" : " IS NOT NULL");
      return OkStatus();
    }
    DOTDO_ASSIGN_OR_RETURN(std::string p, bind(v));
    // IS NOT: a blob without the metadata field is "not equal".
    sql += " AND " + f.expr + (op == "$eq" ? " = " : " IS NOT ") + p;
    return OkStatus();
  }
  static const std::pair<const char*, const char*> kCompare[] = {{"$gt", ">"}, {"$gte", ">="}, {"$lt", "<"}, {"$lte", "<="}};
  for (const auto& [name, sym] : kCompare) {
    if (op == name) {
      if (!v.is_number() && !v.is_string()) return InvalidArgumentError(op + " on '" + field + "' needs a number or string");
      DOTDO_ASSIGN_OR_RETURN(std::string p, bind(v));
      sql += " AND " + f.expr + " " + sym + " " + p;
      return OkStatus();
    }
  }
  if (op == "$in") {
    if (!v.is_array() || v.empty() || v.size() > 100)
      return InvalidArgumentError("$in on '" + field + "' needs an array of 1..100 values");
    std::string list;
    for (const Json& item : v) {
      DOTDO_ASSIGN_OR_RETURN(std::string p, bind(item));
      list += (list.empty() ? "" : ", ") + p;
    }
    sql += " AND " + f.expr + " IN (" + list + ")";
    return OkStatus();
  }
  if (op == "$exists") {
    if (!v.is_boolean()) return InvalidArgumentError("$exists on '" + field + "' needs true or false");
    const bool want = v.get<bool>();
    if (f.exists_expr.empty()) sql += want ? "" : " AND 0";  // top-level fields always exist
    else sql += " AND " + f.exists_expr + (want ? " IS NOT NULL" : " IS NULL");
    return OkStatus();
  }
  if (op == "$like") {
    if (!v.is_string()) return InvalidArgumentError("$like on '" + field + "' needs a string pattern");
    DOTDO_ASSIGN_OR_RETURN(std::string p, bind(v));
    sql += " AND " + f.expr + " LIKE " + p;
    return OkStatus();
  }
  return InvalidArgumentError("unknown operator '" + op.substr(0, 32) +
                              "' on '" + field + "': use $eq $ne $gt $gte $lt $lte $in $exists $like");
}

}  // namespace

Result<std::vector<BlobInfo>> BlobStore::Query(const BlobQuery& query) {
  if (query.limit < 1 || query.limit > 1000)
    return InvalidArgumentError("query limit " + std::to_string(query.limit) + " is outside 1..1000");
  if (!query.where.is_object()) return InvalidArgumentError("query where must be a JSON object");
  if (query.where.size() > 32) return InvalidArgumentError("query where has more than 32 fields");
  std::string sql = std::string("SELECT ") + internal::kBlobColumns + " FROM blob_blobs WHERE 1";
  std::vector<SqlValue> params;
  for (const auto& [field, cond] : query.where.items()) {
    DOTDO_ASSIGN_OR_RETURN(Field f, ResolveField(field));
    bool operators = cond.is_object() && !cond.empty();
    if (operators) {
      for (const auto& [op, v] : cond.items()) operators &= !op.empty() && op[0] == '$';
    }
    if (!operators) {
      DOTDO_RETURN_IF_ERROR(AppendCondition(f, field, "$eq", cond, sql, params));
      continue;
    }
    for (const auto& [op, v] : cond.items()) DOTDO_RETURN_IF_ERROR(AppendCondition(f, field, op, v, sql, params));
  }
  sql += " ORDER BY key" + internal::LimitClause(query.limit);
  auto& conn = internal::DatabaseInternals::Conn(impl_->db_);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.PrepareUncached(sql));
  st.BindValues(params);
  std::vector<BlobInfo> out;
  for (;;) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    DOTDO_ASSIGN_OR_RETURN(auto info, impl_->FromRow(st));
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace dotdo
