// QueryCompiler: turns a DocumentStore filter ({"age": {"$gte": 18}, "$or": [...]}) into a SQL
// boolean expression over doc_documents with bound parameters only. Paths are parsed by JsonPath
// and rendered by PathExpression(), the same function CreateIndex uses for the index DDL, so an
// index on a path is byte-identical to the expression a query compares (SQLite uses expression
// indexes only then). User text never reaches SQL: values are parameters, paths are re-rendered
// from validated segments, type names match [A-Za-z_][A-Za-z0-9_]*.
//
// Semantics (documented for users in docs/formats/document.md):
//   - a missing path and JSON null both read as SQL NULL; `$eq: null` matches both, `$exists`
//     tells them apart;
//   - booleans read as 1/0 in comparisons; `$eq: true` matches exactly JSON true;
//   - $gt/$gte/$lt/$lte with a number match numbers only, with a string match strings only;
//   - $ne and $nin also match documents where the path is missing; `$not` is two-valued
//     (a document for which the inner filter is unknown counts as "not matching", so $not keeps it).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/json_path.h"
#include "dotdo/database.h"
#include "sqlite/statement.h"

namespace dotdo::internal {

// A path of a filter, sort or index: a JsonPath or one of the system fields.
struct QueryPath {
  JsonPath path;
  std::string dotted;  // canonical form
  std::string column;  // "id" / "type" / "version" when the value lives in a column, else empty
};
Result<QueryPath> ParseQueryPath(std::string_view text);

// SQL expression yielding the value at `p`: a column, or json_extract(data, '<canonical path>').
std::string PathExpression(const QueryPath& p);

// "type = '<type>' AND deleted = 0". REQUIRES: ValidateType(type) passed (it is embedded as a literal
// so that per-type partial indexes apply).
std::string TypeClause(std::string_view type);

// A top-level conjunct the bloom / min-max stats can decide.
struct PrunableTerm {
  enum class Op { kEq, kIn, kGt, kGte, kLt, kLte };
  std::string path;  // canonical dotted path
  Op op;
  std::vector<Json> values;  // one value, or the $in list
};

struct CompiledFilter {
  std::string sql;  // boolean expression; "1" for an empty filter
  std::vector<SqlValue> params;
  std::vector<PrunableTerm> prunable;
};

// Compiles a filter; malformed filters are kInvalidArgument naming the offending operator or path.
Result<CompiledFilter> CompileFilter(const Json& where);

// A JSON scalar as a SQL parameter (booleans as 1/0).
SqlValue ToSqlValue(const Json& v);

}  // namespace dotdo::internal
