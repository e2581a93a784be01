// The document store's fields for the shared filter compiler (core/filter_compiler.h): the system
// columns of doc_documents and every other path inside its JSONB `data` column. Filters, sort keys
// and CreateIndex all resolve paths through DocumentFields() and render them with
// FieldRef::Expression(), so an index on a path is byte-identical to the expression a query
// compares (SQLite uses expression indexes only then). User text never reaches SQL: values are
// parameters, paths are re-rendered from validated segments, type names match
// [A-Za-z_][A-Za-z0-9_]*.
//
// Semantics (documented for users in docs/formats/document.md; implemented by the compiler):
//   - a missing path and JSON null both read as SQL NULL; `$eq: null` matches both, `$exists`
//     tells them apart;
//   - booleans read as 1/0 in comparisons; `$eq: true` matches exactly JSON true;
//   - $gt/$gte/$lt/$lte with a number match numbers only, with a string match strings only;
//   - $ne and $nin also match documents where the path is missing; `$not` is two-valued
//     (a document for which the inner filter is unknown counts as "not matching", so $not keeps it);
//   - $like is SQLite LIKE (ASCII case-insensitive) and matches strings only.
#pragma once

#include <string>
#include <string_view>

#include "core/filter_compiler.h"

namespace dotdo::internal {

// $id, $type and $version are the columns id, type and version; $createdAt, $updatedAt and every
// path that does not start with '$' are JsonPaths inside `data`; other "$name"s are unknown.
const FieldResolver& DocumentFields();

// "type = '<type>' AND deleted = 0". REQUIRES: ValidateType(type) passed (it is embedded as a literal
// so that per-type partial indexes apply).
std::string TypeClause(std::string_view type);

}  // namespace dotdo::internal
