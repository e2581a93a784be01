// ColumnarFilter: the platform filter language (core/filter_compiler.h) evaluated over decoded
// columns instead of SQL. CompileFilter validates the filter (so the store accepts and rejects
// exactly what every other store does); this file then builds a predicate tree with the same
// semantics as the compiled SQL over json_extract/json_type, and evaluates it a chunk at a time.
//
// SQL semantics reproduced: a data value reads as SQL NULL when missing or JSON null, booleans read
// as the integers 1/0, numbers compare numerically (integers against reals exactly), text compares
// bytewise, a number never equals text; NULL is false at the top and under $not (NOT IFNULL(x, 0)),
// so two-valued evaluation gives the same rows as SQL's three-valued logic.
#include <cmath>
#include <variant>

#include "columnar/columnar_internal.h"
#include "core/json.h"
#include "dotdo/clock.h"

namespace dotdo::internal {

enum class TermOp { kIsNull, kNotNull, kIsBool, kNotBool, kEq, kNe, kGt, kGte, kLt, kLte, kIn, kNin, kExists, kNotExists, kLike, kTrue, kFalse };
enum class FieldKind { kId, kCreated, kPath };

struct ColumnarFilter::Node {
  enum class Kind { kAnd, kOr, kNot, kTerm } kind = Kind::kAnd;
  std::vector<Node> kids;
  FieldKind field = FieldKind::kPath;
  std::string path;
  std::optional<JsonPath> json_path;
  TermOp op = TermOp::kTrue;
  std::vector<SqlValue> values;
  bool flag = false;  // kIsBool / kNotBool: the boolean
};

namespace {

using Node = ColumnarFilter::Node;

// A value as SQL sees it: kind plus payload.
struct Sql {
  enum class T { kNull, kInt, kReal, kText, kOtherText } t = T::kNull;
  int64_t i = 0;
  double d = 0;
  std::string_view s;
  std::string owned;  // container text
  // json_type: 0 missing, 1 null, 2 true, 3 false, 4 other
  int jtype = 0;
};

Sql FromJson(const Json* v) {
  Sql out;
  if (v == nullptr) return out;
  if (v->is_null()) {
    out.jtype = 1;
    return out;
  }
  out.jtype = 4;
  if (v->is_boolean()) {
    out.jtype = v->get<bool>() ? 2 : 3;
    out.t = Sql::T::kInt;
    out.i = v->get<bool>() ? 1 : 0;
  } else if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    out.t = Sql::T::kReal;
    out.d = static_cast<double>(v->get<uint64_t>());
  } else if (v->is_number_integer()) {
    out.t = Sql::T::kInt;
    out.i = v->get<int64_t>();
  } else if (v->is_number_float()) {
    out.t = Sql::T::kReal;
    out.d = v->get<double>();
  } else if (v->is_string()) {
    out.t = Sql::T::kText;
    out.s = v->get_ref<const std::string&>();
  } else {
    out.t = Sql::T::kOtherText;
    out.owned = DumpJson(*v);
    out.s = out.owned;
  }
  return out;
}

int CmpIntReal(int64_t i, double r) {
  if (r < -9223372036854775808.0) return 1;
  if (r >= 9223372036854775808.0) return -1;
  const auto y = static_cast<int64_t>(r);
  if (i != y) return i < y ? -1 : 1;
  const double t = std::trunc(r);
  return r > t ? -1 : (r < t ? 1 : 0);
}

// Compares a non-null value with a bound parameter: nullopt when SQL would not order them by
// value (number vs text: never equal; the range operators guard the classes themselves).
std::optional<int> Compare(const Sql& a, const SqlValue& b) {
  const bool a_num = a.t == Sql::T::kInt || a.t == Sql::T::kReal;
  if (const auto* bi = std::get_if<int64_t>(&b)) {
    if (!a_num) return std::nullopt;
    if (a.t == Sql::T::kInt) return a.i < *bi ? -1 : (a.i > *bi ? 1 : 0);
    return -CmpIntReal(*bi, a.d);
  }
  if (const auto* bd = std::get_if<double>(&b)) {
    if (!a_num) return std::nullopt;
    if (a.t == Sql::T::kInt) return CmpIntReal(a.i, *bd);
    return a.d < *bd ? -1 : (a.d > *bd ? 1 : 0);
  }
  if (const auto* bs = std::get_if<std::string>(&b)) {
    if (a_num) return std::nullopt;
    const int c = a.s.compare(*bs);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return std::nullopt;
}

bool Equal(const Sql& a, const SqlValue& b) {
  auto c = Compare(a, b);
  return c && *c == 0;
}

// One UTF-8 character starting at s[i]; advances i.
uint32_t NextChar(std::string_view s, size_t& i) {
  const auto c = static_cast<uint8_t>(s[i++]);
  if (c < 0x80) return c;
  int extra = c >= 0xf0 ? 3 : (c >= 0xe0 ? 2 : 1);
  uint32_t cp = c & (0x3f >> extra);
  while (extra-- > 0 && i < s.size()) cp = (cp << 6) | (static_cast<uint8_t>(s[i++]) & 0x3f);
  return cp;
}

uint32_t Fold(uint32_t c) { return c < 0x80 && c >= 'A' && c <= 'Z' ? c + 32 : c; }

// SQLite's LIKE without ESCAPE: '%' any run, '_' one character, ASCII case-insensitive.
bool Like(std::string_view pattern, std::string_view text) {
  std::vector<uint32_t> p, t;
  for (size_t i = 0; i < pattern.size();) p.push_back(NextChar(pattern, i));
  for (size_t i = 0; i < text.size();) t.push_back(NextChar(text, i));
  size_t pi = 0, ti = 0, star = std::string::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '%') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && (p[pi] == '_' || Fold(p[pi]) == Fold(t[ti]))) {
      ++pi;
      ++ti;
    } else if (star != std::string::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '%') ++pi;
  return pi == p.size();
}

bool Match(const Node& n, const Sql& v) {
  const bool null = v.t == Sql::T::kNull;
  switch (n.op) {
    case TermOp::kTrue: return true;
    case TermOp::kFalse: return false;
    case TermOp::kIsNull: return null;
    case TermOp::kNotNull: return !null;
    case TermOp::kIsBool: return v.jtype == (n.flag ? 2 : 3);
    case TermOp::kNotBool: return v.jtype != (n.flag ? 2 : 3);
    case TermOp::kEq: return !null && Equal(v, n.values[0]);
    case TermOp::kNe: return null || !Equal(v, n.values[0]);
    case TermOp::kGt:
    case TermOp::kGte:
    case TermOp::kLt:
    case TermOp::kLte: {
      if (null) return false;
      const bool number_bound = !std::holds_alternative<std::string>(n.values[0]);
      const bool is_number = v.t == Sql::T::kInt || v.t == Sql::T::kReal;
      if (number_bound != is_number) return false;
      if (!number_bound && n.field == FieldKind::kPath && v.t != Sql::T::kText) return false;
      auto c = Compare(v, n.values[0]);
      if (!c) return false;
      if (n.op == TermOp::kGt) return *c > 0;
      if (n.op == TermOp::kGte) return *c >= 0;
      if (n.op == TermOp::kLt) return *c < 0;
      return *c <= 0;
    }
    case TermOp::kIn:
      if (null) return false;
      for (const SqlValue& x : n.values)
        if (Equal(v, x)) return true;
      return false;
    case TermOp::kNin:
      if (null) return true;
      for (const SqlValue& x : n.values)
        if (Equal(v, x)) return false;
      return true;
    case TermOp::kExists: return v.jtype != 0;
    case TermOp::kNotExists: return v.jtype == 0;
    case TermOp::kLike: return v.t == Sql::T::kText && Like(std::get<std::string>(n.values[0]), v.s);
  }
  return false;
}

Result<SqlValue> Bound(FieldKind field, const Json& v) {
  if (field == FieldKind::kCreated && v.is_string()) {
    DOTDO_ASSIGN_OR_RETURN(int64_t ms, ParseIso8601(v.get<std::string>()));
    return SqlValue(ms);
  }
  return ToSqlValue(v);
}

Result<Node> Term(const FieldRef& f, const std::string& op, const Json& v) {
  Node n;
  n.kind = Node::Kind::kTerm;
  if (f.is_json()) {
    n.field = FieldKind::kPath;
    n.path = f.path->ToDotted();
    n.json_path = *f.path;
  } else {
    n.field = f.column == "id" ? FieldKind::kId : FieldKind::kCreated;
  }
  auto bind = [&](const Json& x) -> Status {
    DOTDO_ASSIGN_OR_RETURN(SqlValue b, Bound(n.field, x));
    n.values.push_back(std::move(b));
    return OkStatus();
  };
  if (op == "$eq" || op == "$ne") {
    const bool eq = op == "$eq";
    if (v.is_null()) {
      n.op = eq ? TermOp::kIsNull : TermOp::kNotNull;
    } else if (f.is_json() && v.is_boolean()) {
      n.op = eq ? TermOp::kIsBool : TermOp::kNotBool;
      n.flag = v.get<bool>();
    } else {
      n.op = eq ? TermOp::kEq : TermOp::kNe;
      DOTDO_RETURN_IF_ERROR(bind(v));
    }
  } else if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
    n.op = op == "$gt" ? TermOp::kGt : op == "$gte" ? TermOp::kGte : op == "$lt" ? TermOp::kLt : TermOp::kLte;
    DOTDO_RETURN_IF_ERROR(bind(v));
  } else if (op == "$in" || op == "$nin") {
    n.op = op == "$in" ? TermOp::kIn : TermOp::kNin;
    for (const Json& x : v) DOTDO_RETURN_IF_ERROR(bind(x));
  } else if (op == "$exists") {
    if (!f.is_json()) n.op = v.get<bool>() ? TermOp::kTrue : TermOp::kFalse;
    else n.op = v.get<bool>() ? TermOp::kExists : TermOp::kNotExists;
  } else if (op == "$like") {
    n.op = TermOp::kLike;
    n.values.emplace_back(v.get<std::string>());
  } else {
    return InvalidArgumentError("unknown operator '" + op + "'");
  }
  return n;
}

// REQUIRES: obj was accepted by CompileFilter.
Result<Node> Build(const Json& obj) {
  Node and_node;
  and_node.kind = Node::Kind::kAnd;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& key = it.key();
    const Json& v = it.value();
    if (key == "$and" || key == "$or") {
      Node group;
      group.kind = key == "$and" ? Node::Kind::kAnd : Node::Kind::kOr;
      for (const Json& sub : v) {
        DOTDO_ASSIGN_OR_RETURN(Node child, Build(sub));
        group.kids.push_back(std::move(child));
      }
      and_node.kids.push_back(std::move(group));
    } else if (key == "$not") {
      Node neg;
      neg.kind = Node::Kind::kNot;
      DOTDO_ASSIGN_OR_RETURN(Node child, Build(v));
      neg.kids.push_back(std::move(child));
      and_node.kids.push_back(std::move(neg));
    } else {
      DOTDO_ASSIGN_OR_RETURN(FieldRef f, ColumnarFields().Resolve(key));
      if (!v.is_object()) {
        DOTDO_ASSIGN_OR_RETURN(Node t, Term(f, "$eq", v));
        and_node.kids.push_back(std::move(t));
      } else {
        for (auto op = v.begin(); op != v.end(); ++op) {
          DOTDO_ASSIGN_OR_RETURN(Node t, Term(f, op.key(), op.value()));
          and_node.kids.push_back(std::move(t));
        }
      }
    }
  }
  return and_node;
}

// Values of the node's field for every row of the chunk.
Status FieldValues(const Node& n, ChunkReader& chunk, std::vector<Sql>& out, std::vector<Json>& keep) {
  const size_t rows = chunk.rows();
  out.assign(rows, Sql{});
  if (n.field != FieldKind::kPath) {
    DOTDO_ASSIGN_OR_RETURN(const ColumnData* c, chunk.Column(n.field == FieldKind::kId ? kIdColumn : kCreatedColumn));
    if (c == nullptr) return DataLossError("columnar chunk lacks its system columns");
    for (size_t i = 0; i < rows; ++i) {
      out[i].jtype = 4;
      if (n.field == FieldKind::kId) {
        out[i].t = Sql::T::kText;
        out[i].s = c->Str(i);
      } else {
        out[i].t = Sql::T::kInt;
        out[i].i = c->ints[i];
      }
    }
    return OkStatus();
  }
  const ColumnStats* stats = chunk.meta().Column(n.path);
  const ColumnData* col = nullptr;
  if (stats != nullptr) {
    DOTDO_ASSIGN_OR_RETURN(col, chunk.Column(n.path));
  }
  keep.assign(rows, Json());
  for (size_t i = 0; i < rows; ++i) {
    if (col != nullptr && col->present[i]) {
      Sql& s = out[i];
      if (!col->nonnull[i]) {
        s.jtype = 1;
        continue;
      }
      s.jtype = 4;
      switch (col->kind) {
        case ColumnKind::kBool:
          s.t = Sql::T::kInt;
          s.i = col->ints[i];
          s.jtype = s.i ? 2 : 3;
          break;
        case ColumnKind::kInt:
          s.t = Sql::T::kInt;
          s.i = col->ints[i];
          break;
        case ColumnKind::kDouble:
          if (col->was_int[i]) {
            s.t = Sql::T::kInt;
            s.i = static_cast<int64_t>(col->doubles[i]);
          } else {
            s.t = Sql::T::kReal;
            s.d = col->doubles[i];
          }
          break;
        case ColumnKind::kString:
          s.t = Sql::T::kText;
          s.s = col->Str(i);
          break;
      }
      continue;
    }
    if (col != nullptr && stats->rest_count == 0) continue;  // missing: nothing of the path in _rest
    DOTDO_ASSIGN_OR_RETURN(const Json* v, chunk.Value(*n.json_path, n.path, i, keep[i]));
    if (v != nullptr && v != &keep[i]) keep[i] = *v;
    out[i] = FromJson(v == nullptr ? nullptr : &keep[i]);
  }
  return OkStatus();
}

Status Eval(const Node& n, ChunkReader& chunk, std::vector<uint8_t>& match) {
  const size_t rows = chunk.rows();
  switch (n.kind) {
    case Node::Kind::kTerm: {
      if (n.op == TermOp::kTrue) return OkStatus();
      if (n.op == TermOp::kFalse) {
        std::fill(match.begin(), match.end(), 0);
        return OkStatus();
      }
      std::vector<Sql> values;
      std::vector<Json> keep;
      DOTDO_RETURN_IF_ERROR(FieldValues(n, chunk, values, keep));
      for (size_t i = 0; i < rows; ++i)
        if (match[i] && !Match(n, values[i])) match[i] = 0;
      return OkStatus();
    }
    case Node::Kind::kAnd:
      for (const Node& k : n.kids) DOTDO_RETURN_IF_ERROR(Eval(k, chunk, match));
      return OkStatus();
    case Node::Kind::kOr: {
      std::vector<uint8_t> any(rows, 0);
      for (const Node& k : n.kids) {
        std::vector<uint8_t> m = match;
        DOTDO_RETURN_IF_ERROR(Eval(k, chunk, m));
        for (size_t i = 0; i < rows; ++i) any[i] |= m[i];
      }
      for (size_t i = 0; i < rows; ++i) match[i] &= any[i];
      return OkStatus();
    }
    case Node::Kind::kNot: {
      std::vector<uint8_t> m(rows, 1);
      DOTDO_RETURN_IF_ERROR(Eval(n.kids[0], chunk, m));
      for (size_t i = 0; i < rows; ++i) match[i] &= !m[i];
      return OkStatus();
    }
  }
  return OkStatus();
}

// Could some value in [lo, hi] of the column satisfy the range term? (number bounds only)
bool RangeMay(TermOp op, int cmp_lo_bound, int cmp_hi_bound) {
  // cmp_x_bound = sign(x - bound)
  switch (op) {
    case TermOp::kGt: return cmp_hi_bound > 0;
    case TermOp::kGte: return cmp_hi_bound >= 0;
    case TermOp::kLt: return cmp_lo_bound < 0;
    case TermOp::kLte: return cmp_lo_bound <= 0;
    default: return true;
  }
}

int CmpStatNum(const ColumnStats& s, bool hi, const SqlValue& b) {
  Sql v;
  if (s.kind == ColumnKind::kDouble) {
    v.t = Sql::T::kReal;
    v.d = hi ? s.max_d : s.min_d;
  } else {
    v.t = Sql::T::kInt;
    v.i = hi ? s.max_i : s.min_i;
  }
  return *Compare(v, b);
}

// True when the chunk has a bloom on `name` and none of `values` may be in it.
bool BloomMiss(const ChunkAccel* accel, std::string_view name, const std::vector<SqlValue>& values) {
  if (accel == nullptr) return false;
  auto it = accel->blooms.find(std::string(name));
  if (it == accel->blooms.end()) return false;
  const BloomFilter bf = BloomFilter::Parse(it->second);
  for (const SqlValue& v : values)
    if (auto h = ValueHash(v); !h || bf.MayContain(*h)) return false;
  return true;
}

// False when the chunk statistics prove the term false for every row.
bool TermMay(const Node& n, const ChunkMeta& meta, const ChunkAccel* accel) {
  if (n.op == TermOp::kFalse) return false;
  if (n.field == FieldKind::kId) {
    return !((n.op == TermOp::kEq || n.op == TermOp::kIn) && BloomMiss(accel, kIdColumn, n.values));
  }
  const bool range = n.op == TermOp::kGt || n.op == TermOp::kGte || n.op == TermOp::kLt || n.op == TermOp::kLte;
  if (n.field == FieldKind::kCreated) {
    if (!range && n.op != TermOp::kEq) return true;
    ColumnStats s;
    s.kind = ColumnKind::kInt;
    s.min_i = meta.min_ts;
    s.max_i = meta.max_ts;
    if (n.op == TermOp::kEq) return CmpStatNum(s, false, n.values[0]) <= 0 && CmpStatNum(s, true, n.values[0]) >= 0;
    return RangeMay(n.op, CmpStatNum(s, false, n.values[0]), CmpStatNum(s, true, n.values[0]));
  }
  const ColumnStats* s = meta.Column(n.path);
  if (s == nullptr || s->rest_count > 0 || s->kind == ColumnKind::kBool) return true;
  if (n.op == TermOp::kIsNull || n.op == TermOp::kExists) return true;
  if (!(range || n.op == TermOp::kEq || n.op == TermOp::kIn)) return true;
  if (s->nonnull == 0) return false;  // every row null or missing: no comparison holds
  const bool numeric = s->kind != ColumnKind::kString;
  auto may_one = [&](const SqlValue& b, TermOp op) {
    const bool num_bound = !std::holds_alternative<std::string>(b);
    if (num_bound != numeric) return false;  // numbers never equal or order against text
    if (!s->has_minmax) return true;
    int lo, hi;
    if (numeric) {
      lo = CmpStatNum(*s, false, b);
      hi = CmpStatNum(*s, true, b);
    } else {
      const std::string& x = std::get<std::string>(b);
      lo = s->min_s.compare(x) < 0 ? -1 : (s->min_s == x ? 0 : 1);
      hi = s->max_s.compare(x) < 0 ? -1 : (s->max_s == x ? 0 : 1);
    }
    if (op == TermOp::kEq || op == TermOp::kIn) return lo <= 0 && hi >= 0;
    return RangeMay(op, lo, hi);
  };
  bool any = false;
  for (const SqlValue& b : n.values) any |= may_one(b, n.op);
  if (!any) return false;
  return !((n.op == TermOp::kEq || n.op == TermOp::kIn) && BloomMiss(accel, n.path, n.values));
}

bool NodeMay(const Node& n, const ChunkMeta& meta, const ChunkAccel* accel) {
  switch (n.kind) {
    case Node::Kind::kTerm: return TermMay(n, meta, accel);
    case Node::Kind::kAnd:
      for (const Node& k : n.kids)
        if (!NodeMay(k, meta, accel)) return false;
      return true;
    case Node::Kind::kOr:
      for (const Node& k : n.kids)
        if (NodeMay(k, meta, accel)) return true;
      return n.kids.empty();
    case Node::Kind::kNot: return true;
  }
  return true;
}

bool UsesBloom(const Node& n) {
  if (n.kind == Node::Kind::kTerm) return n.op == TermOp::kEq || n.op == TermOp::kIn;
  if (n.kind == Node::Kind::kNot) return false;
  for (const Node& k : n.kids)
    if (UsesBloom(k)) return true;
  return false;
}

void CollectPaths(const Node& n, std::vector<std::string>& out) {
  if (n.kind == Node::Kind::kTerm && n.field == FieldKind::kPath) out.push_back(n.path);
  for (const Node& k : n.kids) CollectPaths(k, out);
}

}  // namespace

ColumnarFilter::ColumnarFilter() = default;
ColumnarFilter::~ColumnarFilter() = default;
ColumnarFilter::ColumnarFilter(ColumnarFilter&&) noexcept = default;
ColumnarFilter& ColumnarFilter::operator=(ColumnarFilter&&) noexcept = default;

const FieldResolver& ColumnarFields() {
  static const JsonColumnFields fields(
      {{"$id", "id", ValueKind::kText}, {"$createdAt", "created_at", ValueKind::kTime}}, "data");
  return fields;
}

Result<ColumnarFilter> ColumnarFilter::Compile(const Json& where) {
  DOTDO_RETURN_IF_ERROR(CompileFilter(where, ColumnarFields()).status());
  ColumnarFilter f;
  if (where.is_null() || where.empty()) return f;
  Result<Node> root = CatchAll("invalid filter", [&] { return Build(where); });
  DOTDO_RETURN_IF_ERROR(root.status());
  f.root_ = std::make_unique<Node>(std::move(*root));
  return f;
}

bool ColumnarFilter::empty() const { return root_ == nullptr; }

Status ColumnarFilter::Apply(ChunkReader& chunk, std::vector<uint8_t>& match) const {
  if (!root_) return OkStatus();
  return Eval(*root_, chunk, match);
}

bool ColumnarFilter::MayMatch(const ChunkMeta& meta, const ChunkAccel* accel) const {
  return !root_ || NodeMay(*root_, meta, accel);
}

bool ColumnarFilter::NeedsAccel() const { return root_ && UsesBloom(*root_); }

std::vector<std::string> ColumnarFilter::Paths() const {
  std::vector<std::string> out;
  if (root_) CollectPaths(*root_, out);
  return out;
}

}  // namespace dotdo::internal
