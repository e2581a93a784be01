// ColumnarColumn::Value and the appenders of columnar_result.h.
#include "columnar/columnar_result.h"

#include <cmath>

namespace dotdo {

Json ColumnarColumn::Value(size_t i) const {
  if (!nonnull[i]) return kind == ColumnarValueKind::kJson ? json[i] : Json(nullptr);
  switch (kind) {
    case ColumnarValueKind::kNone: return nullptr;
    case ColumnarValueKind::kBool: return ints[i] != 0;
    case ColumnarValueKind::kInt: return ints[i];
    case ColumnarValueKind::kDouble: return doubles[i];
    case ColumnarValueKind::kString: return strings[i];
    case ColumnarValueKind::kJson: return json[i];
  }
  return nullptr;
}

namespace internal {
namespace {

constexpr int64_t kExactDouble = int64_t{1} << 53;

bool ExactAsDouble(int64_t v) { return v >= -kExactDouble && v <= kExactDouble; }

// Every slot so far as JSON; the typed vectors are dropped.
void ToJson(ColumnarColumn& col) {
  if (col.kind == ColumnarValueKind::kJson) return;
  std::vector<Json> json(col.size());
  for (size_t i = 0; i < col.size(); ++i)
    if (col.nonnull[i]) json[i] = col.Value(i);
  col.kind = ColumnarValueKind::kJson;
  col.json = std::move(json);
  col.ints.clear();
  col.doubles.clear();
  col.strings.clear();
}

// Makes `kind` the column's kind if it can hold it (sized to the slots so far); false when the
// column is or became kJson.
bool Adopt(ColumnarColumn& col, ColumnarValueKind kind) {
  if (col.kind == kind) return true;
  if (col.kind == ColumnarValueKind::kNone) {
    col.kind = kind;
    switch (kind) {
      case ColumnarValueKind::kBool:
      case ColumnarValueKind::kInt: col.ints.resize(col.size()); break;
      case ColumnarValueKind::kDouble: col.doubles.resize(col.size()); break;
      case ColumnarValueKind::kString: col.strings.resize(col.size()); break;
      default: col.json.resize(col.size()); break;
    }
    return kind != ColumnarValueKind::kJson;
  }
  if (col.kind == ColumnarValueKind::kInt && kind == ColumnarValueKind::kDouble) {
    bool exact = true;
    for (size_t i = 0; i < col.size() && exact; ++i) exact = !col.nonnull[i] || ExactAsDouble(col.ints[i]);
    if (exact) {
      col.doubles.assign(col.ints.begin(), col.ints.end());
      col.ints.clear();
      col.kind = ColumnarValueKind::kDouble;
      return true;
    }
  }
  ToJson(col);
  return false;
}

// Pads the vector of the column's kind to the slot count after a slot without a value.
void PadValue(ColumnarColumn& col) {
  switch (col.kind) {
    case ColumnarValueKind::kNone: break;
    case ColumnarValueKind::kBool:
    case ColumnarValueKind::kInt: col.ints.emplace_back(); break;
    case ColumnarValueKind::kDouble: col.doubles.emplace_back(); break;
    case ColumnarValueKind::kString: col.strings.emplace_back(); break;
    case ColumnarValueKind::kJson: col.json.emplace_back(); break;
  }
}

void PushFlags(ColumnarColumn& col, bool present, bool nonnull) {
  col.present.push_back(present ? 1 : 0);
  col.nonnull.push_back(nonnull ? 1 : 0);
}

}  // namespace

void AppendMissing(ColumnarColumn& col) {
  PushFlags(col, false, false);
  PadValue(col);
}

void AppendNull(ColumnarColumn& col) {
  PushFlags(col, true, false);
  PadValue(col);
}

void AppendBool(ColumnarColumn& col, bool v) {
  if (!Adopt(col, ColumnarValueKind::kBool)) return AppendJson(col, v);
  PushFlags(col, true, true);
  col.ints.push_back(v ? 1 : 0);
}

void AppendInt(ColumnarColumn& col, int64_t v) {
  if (col.kind == ColumnarValueKind::kDouble && ExactAsDouble(v)) return AppendDouble(col, static_cast<double>(v));
  if (!Adopt(col, ColumnarValueKind::kInt)) {
    PushFlags(col, true, true);
    col.json.emplace_back(v);
    return;
  }
  PushFlags(col, true, true);
  col.ints.push_back(v);
}

void AppendDouble(ColumnarColumn& col, double v) {
  if (!Adopt(col, ColumnarValueKind::kDouble)) {
    PushFlags(col, true, true);
    col.json.emplace_back(v);
    return;
  }
  PushFlags(col, true, true);
  col.doubles.push_back(v);
}

void AppendString(ColumnarColumn& col, std::string_view v) {
  if (!Adopt(col, ColumnarValueKind::kString)) {
    PushFlags(col, true, true);
    col.json.emplace_back(std::string(v));
    return;
  }
  PushFlags(col, true, true);
  col.strings.emplace_back(v);
}

void AppendJson(ColumnarColumn& col, const Json& v) {
  if (v.is_null()) return AppendNull(col);
  if (col.kind != ColumnarValueKind::kJson) {
    if (v.is_boolean()) return AppendBool(col, v.get<bool>());
    if (v.is_number_unsigned() && v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) return AppendInt(col, v.get<int64_t>());
    if (v.is_number_integer() && !v.is_number_unsigned()) return AppendInt(col, v.get<int64_t>());
    if (v.is_number_float()) return AppendDouble(col, v.get<double>());
    if (v.is_string()) return AppendString(col, v.get_ref<const std::string&>());
    Adopt(col, ColumnarValueKind::kJson);
  }
  PushFlags(col, true, true);
  col.json.push_back(v);
}

void AppendColumnValue(ColumnarColumn& col, const ColumnData& c, size_t row) {
  if (!c.nonnull[row]) return AppendNull(col);
  switch (c.kind) {
    case ColumnKind::kBool: return AppendBool(col, c.ints[row] != 0);
    case ColumnKind::kInt: return AppendInt(col, c.ints[row]);
    case ColumnKind::kDouble:
      if (c.was_int[row]) return AppendInt(col, static_cast<int64_t>(c.doubles[row]));
      return AppendDouble(col, c.doubles[row]);
    case ColumnKind::kString: return AppendString(col, c.Str(row));
  }
}

}  // namespace internal
}  // namespace dotdo
