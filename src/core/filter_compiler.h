// FilterCompiler: the one filter language of every store ({"age": {"$gte": 18}, "$or": [...]}),
// compiled to a SQL boolean expression with bound parameters. A store describes its table through a
// FieldResolver — which user field names exist, and whether each lives in a typed column or at a
// JsonPath inside a JSON/JSONB column — and the compiler owns the operators, their type rules, the
// limits and the error messages, so the document store, the blob store and later stores accept and
// reject exactly the same filters. Stateless and thread-compatible; resolvers are immutable.
//
// Rules (documented for users in docs/formats/document.md and docs/formats/blob.md):
//   - Operators on a field: $eq $ne $gt $gte $lt $lte $in $nin $exists $like; a bare value is $eq.
//     Combinators: $and / $or (non-empty arrays of filter objects) and $not (one filter object).
//   - A JSON field reads as SQL NULL when missing or JSON null: `$eq: null` matches both, `$exists`
//     tells them apart. `$eq: true/false` matches exactly that JSON boolean.
//   - $gt/$gte/$lt/$lte take a number or a string, never a boolean or null: with a number they match
//     numbers only, with a string strings only.
//   - $in/$nin take 1..kMaxFilterInValues strings or numbers; $ne and $nin also match a missing field.
//   - $like takes a string pattern (SQLite LIKE, ASCII case-insensitive) and matches strings only.
//   - $not is two-valued: NOT IFNULL(inner, 0), so a row for which the inner filter is unknown is kept.
//   - A column field takes the values of its ValueKind (text: strings; integer and real: numbers;
//     time: ms since the epoch or an ISO-8601 string); null is accepted by $eq/$ne only; $like needs
//     a text column. A column always exists ($exists: true matches every row).
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
Result<CompiledFilter> CompileFilter(const Json& where, const FieldResolver& fields);

// A JSON scalar as a SQL parameter: booleans as 1/0, unsigned integers above INT64_MAX as reals,
// null (and anything else) as NULL.
SqlValue ToSqlValue(const Json& v);

}  // namespace dotdo::internal
