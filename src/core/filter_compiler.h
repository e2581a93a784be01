// FilterCompiler: the one filter language of every store ({"age": {"$gte": 18}, "$or": [...]}),
// compiled to a SQL boolean expression with bound parameters. A store describes its table through a
// FieldResolver — which user field names exist, and whether each lives in a typed column or at a
// JsonPath inside a JSON/JSONB column — and the compiler owns the operators, their type rules, the
// limits and the error messages, so the document store, the blob store and later stores accept and
// reject exactly the same filters. Stateless and thread-compatible; resolvers are immutable.
//
// Rules (MongoDB's, with the differences listed in docs/formats/document.md, "Filter semantics"):
//   - Operators on a field: $eq $ne $gt $gte $lt $lte $in $nin $exists $like $regex(+$options) $type
//     $size $all $elemMatch $not; a bare value (also an array or an object) is $eq.
//     Combinators: $and / $or / $nor (non-empty arrays of filter objects) and $not (one filter).
//   - Paths cross arrays: a key applied to an array applies to its elements that are objects; a
//     value that is an array matches when it, or one of its elements, matches ($eq, $in, ranges,
//     $like, $regex, $type). $ne, $nin and $not are the complements of $eq, $in and their operand.
//   - Type bracketing: numbers compare with numbers, strings with strings (by bytes), booleans with
//     booleans; `null` equals null and missing. Objects and arrays compare as whole values.
//   - Emitted SQL: a term on a JSON field is a plain comparison of FieldRef::Expression() (which an
//     expression index serves) when the path holds no array in the row; a CASE sends rows whose
//     path holds an array to dotdo_match (core/mql_match.h), unless the caller vouches the path is
//     array-free (scalar_paths), in which case only the plain comparison is emitted.
//   - A column field takes the values of its ValueKind (text: strings; integer and real: numbers;
//     time: ms since the epoch or an ISO-8601 string) and null; a column always exists; $like and
//     $regex need a text column; $type, $size, $all and $elemMatch need a JSON field.
//
// Invariants:
//   1. The SQL text holds only fixed keywords, column names declared by the store, and
//      JsonPath::ToSqlLiteral() of validated paths; every value is a bound "?" parameter.
//   2. A field is read through FieldRef::Expression() only, the same rendering a store uses for an
//      expression index on it, so the index and the compared expression are byte-identical (SQLite
//      uses an expression index only then).
//   3. Every rejected filter is kInvalidArgument with a message naming the operator and field.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_path.h"
#include "dotdo/database.h"
#include "sqlite/statement.h"

namespace dotdo::internal {

// The limits every store shares.
inline constexpr size_t kMaxFilterInValues = 100;  // values of one $in / $nin
inline constexpr int kMaxFilterDepth = 16;          // nesting of $and / $or / $not
inline constexpr size_t kMaxFilterTerms = 256;      // operator conditions in one filter

// What a column holds; decides which values a comparison with it accepts.
enum class ValueKind {
  kText,
  kInteger,
  kReal,
  kTime,  // ms since the epoch; filters may also give an ISO-8601 string
};

// How to read one user field: a column of the table, or a JsonPath inside a JSON column.
struct FieldRef {
  std::string name;               // canonical user-facing name ("age", "metadata.w", "size")
  std::string column;             // the column (a store-declared name, never user text)
  std::optional<JsonPath> path;   // set: the value is at this path inside `column`
  ValueKind kind = ValueKind::kText;  // for column fields

  bool is_json() const { return path.has_value(); }
  // `column`, or json_extract(<column>, '<canonical path>'): the one rendering of the field.
  std::string Expression() const;
  // json_type(<column>, '<canonical path>'). REQUIRES: is_json().
  std::string JsonTypeExpression() const;
};

// Maps user field names to FieldRefs. Implementations must be immutable after construction.
class FieldResolver {
 public:
  virtual ~FieldResolver() = default;
  // kInvalidArgument naming the field (and what is allowed) when there is no such field.
  virtual Result<FieldRef> Resolve(std::string_view name) const = 0;
};

// A field stored in its own column.
struct ColumnField {
  std::string field;   // user name ("size", "$id")
  std::string column;  // SQL column ("size", "id")
  ValueKind kind;
};

// The resolver for a table with declared columns and one JSON (or JSONB) column, e.g. a document
// table (system columns + the body) or blob metadata (fixed columns + `metadata.<path>`).
//   - A name equal to a ColumnField's `field` is that column.
//   - With an empty `json_prefix`, every other name is a JsonPath inside `json_column`, except
//     single-segment names starting with '$' (reserved for system fields): those must be listed in
//     `json_system_fields`.
//   - With a non-empty `json_prefix` (e.g. "metadata."), only names starting with it are paths (the
//     prefix is dropped); any other name is unknown.
class JsonColumnFields final : public FieldResolver {
 public:
  JsonColumnFields(std::vector<ColumnField> columns, std::string json_column, std::string json_prefix = "",
                   std::vector<std::string> json_system_fields = {});

  Result<FieldRef> Resolve(std::string_view name) const override;

 private:
  std::vector<ColumnField> columns_;
  std::string json_column_;
  std::string json_prefix_;
  std::vector<std::string> json_system_fields_;
};

// A top-level conjunct (not under $or or $not) on a JSON field that value statistics (bloom
// filters, min/max) can decide.
struct PrunableTerm {
  enum class Op { kEq, kIn, kGt, kGte, kLt, kLte };
  std::string path;  // canonical dotted path inside the JSON column
  Op op;
  std::vector<Json> values;  // one value, or the $in list
};

struct CompiledFilter {
  std::string sql;  // boolean expression; "1" for an empty or null filter
  std::vector<SqlValue> params;  // in the order of the "?" in `sql`
  std::vector<PrunableTerm> prunable;
};

// Compiles `where` (a JSON object, or null for "no filter") over the fields of `fields`.
// `scalar_paths`: canonical names of JSON fields the caller knows hold no array at any prefix in
// any row the query reads (e.g. an index path no document ever put an array on); their terms are
// plain comparisons an expression index serves, without the array check.
Result<CompiledFilter> CompileFilter(const Json& where, const FieldResolver& fields,
                                     const std::set<std::string>* scalar_paths = nullptr);

// A JSON scalar as a SQL parameter: booleans as 1/0, unsigned integers above INT64_MAX as reals,
// null (and anything else) as NULL.
SqlValue ToSqlValue(const Json& v);

}  // namespace dotdo::internal
