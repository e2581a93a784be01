// The columnar form of a query result (ColumnarColumns): appending one record's value of a
// projected path to its typed result column, widening the column's kind as values arrive.
//
// Invariants:
//   1. Every vector of a column that is in use (present, nonnull and the vector of its kind) has
//      size() slots; the vectors of other kinds are empty.
//   2. kind only widens: kNone -> one scalar kind -> (int with double: kDouble, when every integer
//      is exact as a double) -> kJson. A slot's Value() never changes by a widening, except that
//      integers in a kDouble column read as doubles (equal numbers).
#pragma once

#include <string_view>

#include "columnar/column_codec.h"
#include "dotdo/columnar.h"

namespace dotdo::internal {

// Appends one slot to `col`.
void AppendMissing(ColumnarColumn& col);
void AppendNull(ColumnarColumn& col);
void AppendBool(ColumnarColumn& col, bool v);
void AppendInt(ColumnarColumn& col, int64_t v);
void AppendDouble(ColumnarColumn& col, double v);
void AppendString(ColumnarColumn& col, std::string_view v);
// Any JSON value: scalars go to the typed vectors, the rest makes the column kJson.
void AppendJson(ColumnarColumn& col, const Json& v);
// Row `row` of a decoded chunk column (REQUIRES: c.present[row]).
void AppendColumnValue(ColumnarColumn& col, const ColumnData& c, size_t row);

}  // namespace dotdo::internal
