// ColumnarFilter: the platform filter language (core/filter_compiler.h) evaluated a chunk at a time
// over decoded columns instead of SQL, with the semantics of docs/formats/document.md, "Filter
// semantics". CompileFilter validates the filter (so the store accepts and rejects exactly what every
// other store does); this file builds a predicate tree from it and evaluates it per chunk.
//
// How a term on a data path is decided, per row:
//   - the path is exactly a typed subcolumn and the row's value is in it (then the value is a scalar
//     or null and no prefix of the path is an array): the operators with a scalar form ($eq $ne $in
//     $nin ranges $exists $like $regex, with type bracketing) are evaluated on the decoded value;
//     any other operator goes to the platform evaluator (MatchesFieldCondition) on that value;
//   - otherwise the platform evaluator decides on the row's `_rest` JSON, or on the whole rebuilt
//     data when a subcolumn lies below the path (part of the value is in subcolumns).
// `$id` and `$createdAt` are columns (they always exist and hold scalars): the compiler's column
// rules apply (`null` matches nothing, `$in` ignores null, ISO-8601 strings are times).
//
// Chunk skipping (MayMatch) uses a column's min/max and bloom only when its rest_count is 0: then
// every row's values of the path are the column's (a row with an array on the path or on a prefix
// counts in rest_count, columnar_chunk.cc), so a term whose scalar form fails on all of them fails.
#include <cmath>
#include <variant>

#include "columnar/columnar_internal.h"
#include "core/json.h"
#include "core/mql_match.h"
#include "dotdo/clock.h"

namespace dotdo::internal {

// Column terms ($id, $createdAt) and the scalar forms of data-path operators.
enum class TermOp { kEq, kNe, kGt, kGte, kLt, kLte, kIn, kNin, kExists, kLike, kRegex, kTrue, kFalse };
enum class FieldKind { kId, kCreated, kPath };

// A value under type bracketing: a column's decoded value or an operand.
struct BracketValue {
  enum class B { kNull, kBool, kNum, kStr, kOther } b = B::kNull;
  bool flag = false;
  SqlValue num;          // kNum: int64_t or double
  std::string str;       // kStr operand
  std::string_view view; // kStr column value
  std::optional<uint64_t> hash;  // operands: the bloom hash (ValueHash), computed once per filter
};

// One operator of a data-path condition in scalar form.
struct ScalarOp {
  TermOp op = TermOp::kTrue;
  std::vector<BracketValue> operands;
  bool flag = false;            // $exists
  std::string pattern, options; // $like, $regex
};

struct ColumnarFilter::Node {
  enum class Kind { kAnd, kOr, kNot, kTerm } kind = Kind::kAnd;
  std::vector<Node> kids;
  FieldKind field = FieldKind::kPath;
  // Column terms.
  TermOp op = TermOp::kTrue;
  std::vector<SqlValue> values;
  std::vector<std::optional<uint64_t>> hashes;  // ValueHash of each value, for the blooms
  std::string options;
  // Data-path terms: the whole condition (an operator object) and, when every operator has one,
  // its scalar form.
  std::string path;
  std::optional<JsonPath> json_path;
  Json condition;
  bool scalar_ok = false;
  std::vector<ScalarOp> scalar;
};

namespace {

using Node = ColumnarFilter::Node;

// A column value as SQL sees it.
struct Sql {
  enum class T { kNull, kInt, kReal, kText } t = T::kNull;
  int64_t i = 0;
  double d = 0;
  std::string_view s;
};

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

// A range operator given sign(value - bound); nullopt (not ordered against the bound) is false.
bool RangeHolds(TermOp op, std::optional<int> c) {
  if (!c) return false;
  if (op == TermOp::kGt) return *c > 0;
  if (op == TermOp::kGte) return *c >= 0;
  if (op == TermOp::kLt) return *c < 0;
  return *c <= 0;
}

bool MatchColumn(const Node& n, const Sql& v) {
  switch (n.op) {
    case TermOp::kTrue: return true;
    case TermOp::kFalse: return false;
    case TermOp::kEq: return Equal(v, n.values[0]);
    case TermOp::kNe: return !Equal(v, n.values[0]);
    case TermOp::kGt:
    case TermOp::kGte:
    case TermOp::kLt:
    case TermOp::kLte: {
      return RangeHolds(n.op, Compare(v, n.values[0]));
    }
    case TermOp::kIn:
    case TermOp::kNin: {
      bool any = false;
      for (const SqlValue& x : n.values) any = any || Equal(v, x);
      return n.op == TermOp::kIn ? any : !any;
    }
    case TermOp::kExists: return true;
    case TermOp::kLike: return v.t == Sql::T::kText && LikeMatches(std::get<std::string>(n.values[0]), v.s);
    case TermOp::kRegex:
      return v.t == Sql::T::kText && RegexMatches(std::get<std::string>(n.values[0]), n.options, v.s);
  }
  return false;
}

// The order of two values of one bracket, nullopt across brackets (or for null / containers).
std::optional<int> CompareBracket(const BracketValue& x, const BracketValue& o) {
  if (x.b != o.b) return std::nullopt;
  switch (x.b) {
    case BracketValue::B::kBool: return x.flag == o.flag ? 0 : (x.flag ? 1 : -1);
    case BracketValue::B::kNum: {
      Sql s;
      if (const auto* i = std::get_if<int64_t>(&x.num)) {
        s.t = Sql::T::kInt;
        s.i = *i;
      } else {
        s.t = Sql::T::kReal;
        s.d = std::get<double>(x.num);
      }
      return Compare(s, o.num);
    }
    case BracketValue::B::kStr: {
      const int c = x.view.compare(o.str);
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    default: return std::nullopt;
  }
}

bool EqualBracket(const BracketValue& x, const BracketValue& o) {
  if (o.b == BracketValue::B::kNull) return x.b == BracketValue::B::kNull;
  auto c = CompareBracket(x, o);
  return c && *c == 0;
}

BracketValue OperandOf(const Json& v) {
  BracketValue o;
  if (v.is_null()) return o;
  if (v.is_boolean()) {
    o.b = BracketValue::B::kBool;
    o.flag = v.get<bool>();
  } else if (v.is_number()) {
    o.b = BracketValue::B::kNum;
    o.num = ToSqlValue(v);
    o.hash = ValueHash(o.num);
  } else if (v.is_string()) {
    o.b = BracketValue::B::kStr;
    o.str = v.get<std::string>();
    o.hash = ValueHash(SqlValue(o.str));
  } else {
    o.b = BracketValue::B::kOther;
  }
  return o;
}

// The value of a present row of a typed column.
BracketValue ColumnBracket(const ColumnData& c, size_t i) {
  BracketValue x;
  if (!c.nonnull[i]) return x;
  switch (c.kind) {
    case ColumnKind::kBool:
      x.b = BracketValue::B::kBool;
      x.flag = c.ints[i] != 0;
      break;
    case ColumnKind::kInt:
      x.b = BracketValue::B::kNum;
      x.num = c.ints[i];
      break;
    case ColumnKind::kDouble:
      x.b = BracketValue::B::kNum;
      if (c.was_int[i]) x.num = static_cast<int64_t>(c.doubles[i]);
      else x.num = c.doubles[i];
      break;
    case ColumnKind::kString:
      x.b = BracketValue::B::kStr;
      x.view = c.Str(i);
      break;
  }
  return x;
}

// Whether a scalar (or null) that the path reaches as its only value satisfies the operator.
bool MatchScalar(const ScalarOp& s, const BracketValue& x) {
  switch (s.op) {
    case TermOp::kEq: return EqualBracket(x, s.operands[0]);
    case TermOp::kNe: return !EqualBracket(x, s.operands[0]);
    case TermOp::kGt:
    case TermOp::kGte:
    case TermOp::kLt:
    case TermOp::kLte: {
      return RangeHolds(s.op, CompareBracket(x, s.operands[0]));
    }
    case TermOp::kIn:
    case TermOp::kNin: {
      bool any = false;
      for (const BracketValue& o : s.operands) any = any || EqualBracket(x, o);
      return s.op == TermOp::kIn ? any : !any;
    }
    case TermOp::kExists: return s.flag;  // the value is there (null included)
    case TermOp::kLike: return x.b == BracketValue::B::kStr && LikeMatches(s.pattern, x.view);
    case TermOp::kRegex: return x.b == BracketValue::B::kStr && RegexMatches(s.pattern, s.options, x.view);
    default: return false;
  }
}

std::optional<TermOp> RangeOp(const std::string& op) {
  if (op == "$gt") return TermOp::kGt;
  if (op == "$gte") return TermOp::kGte;
  if (op == "$lt") return TermOp::kLt;
  if (op == "$lte") return TermOp::kLte;
  return std::nullopt;
}

// The scalar form of an operator object; false when an operator has none ($type, $size, $all,
// $elemMatch, $not: the platform evaluator decides those).
bool ScalarForm(const Json& condition, std::vector<ScalarOp>& out) {
  for (auto it = condition.begin(); it != condition.end(); ++it) {
    const std::string& op = it.key();
    const Json& v = it.value();
    ScalarOp s;
    if (op == "$options") continue;
    if (op == "$eq" || op == "$ne") {
      s.op = op == "$eq" ? TermOp::kEq : TermOp::kNe;
      s.operands.push_back(OperandOf(v));
    } else if (auto r = RangeOp(op)) {
      s.op = *r;
      s.operands.push_back(OperandOf(v));
    } else if (op == "$in" || op == "$nin") {
      s.op = op == "$in" ? TermOp::kIn : TermOp::kNin;
      for (const Json& x : v) s.operands.push_back(OperandOf(x));
    } else if (op == "$exists") {
      s.op = TermOp::kExists;
      s.flag = v.get<bool>();
    } else if (op == "$like") {
      s.op = TermOp::kLike;
      s.pattern = v.get<std::string>();
    } else if (op == "$regex") {
      s.op = TermOp::kRegex;
      s.pattern = v.get<std::string>();
      s.options = condition.value("$options", std::string());
    } else {
      return false;
    }
    out.push_back(std::move(s));
  }
  return true;
}

Result<SqlValue> ColumnBound(FieldKind field, const Json& v) {
  if (field == FieldKind::kCreated && v.is_string()) {
    DOTDO_ASSIGN_OR_RETURN(int64_t ms, ParseIso8601(v.get<std::string>()));
    return SqlValue(ms);
  }
  return ToSqlValue(v);
}

Node Leaf(FieldKind field, TermOp op) {
  Node n;
  n.kind = Node::Kind::kTerm;
  n.field = field;
  n.op = op;
  return n;
}

// A column field's condition (a value, or an operator object) as nodes. The compiler's column
// rules: a column is never null nor missing.
Result<Node> ColumnCondition(FieldKind field, const Json& cond) {
  Node all;
  all.kind = Node::Kind::kAnd;
  const Json wrapped = cond.is_object() ? cond : Json{{"$eq", cond}};
  for (auto it = wrapped.begin(); it != wrapped.end(); ++it) {
    const std::string& op = it.key();
    const Json& v = it.value();
    if (op == "$options") continue;
    if (op == "$not") {
      Node neg;
      neg.kind = Node::Kind::kNot;
      DOTDO_ASSIGN_OR_RETURN(Node inner, ColumnCondition(field, v));
      neg.kids.push_back(std::move(inner));
      all.kids.push_back(std::move(neg));
      continue;
    }
    Node n = Leaf(field, TermOp::kTrue);
    if (op == "$eq" || op == "$ne") {
      if (v.is_null()) {
        n.op = op == "$eq" ? TermOp::kFalse : TermOp::kTrue;
      } else {
        n.op = op == "$eq" ? TermOp::kEq : TermOp::kNe;
        DOTDO_ASSIGN_OR_RETURN(SqlValue b, ColumnBound(field, v));
        n.values.push_back(std::move(b));
      }
    } else if (auto r = RangeOp(op)) {
      n.op = *r;
      DOTDO_ASSIGN_OR_RETURN(SqlValue b, ColumnBound(field, v));
      n.values.push_back(std::move(b));
    } else if (op == "$in" || op == "$nin") {
      n.op = op == "$in" ? TermOp::kIn : TermOp::kNin;
      for (const Json& x : v) {
        if (x.is_null()) continue;  // a column never holds null
        DOTDO_ASSIGN_OR_RETURN(SqlValue b, ColumnBound(field, x));
        n.values.push_back(std::move(b));
      }
    } else if (op == "$exists") {
      n.op = v.get<bool>() ? TermOp::kTrue : TermOp::kFalse;
    } else if (op == "$like" || op == "$regex") {
      n.op = op == "$like" ? TermOp::kLike : TermOp::kRegex;
      n.values.emplace_back(v.get<std::string>());
      n.options = wrapped.value("$options", std::string());
    } else {
      return InvalidArgumentError("unknown operator '" + op + "'");
    }
    for (const SqlValue& x : n.values) n.hashes.push_back(ValueHash(x));
    all.kids.push_back(std::move(n));
  }
  return all;
}

bool IsOperatorObject(const Json& v) {
  return v.is_object() && !v.empty() && !v.begin().key().empty() && v.begin().key()[0] == '$';
}

// REQUIRES: obj was accepted by CompileFilter.
Result<Node> Build(const Json& obj) {
  Node and_node;
  and_node.kind = Node::Kind::kAnd;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& key = it.key();
    const Json& v = it.value();
    if (key == "$and" || key == "$or" || key == "$nor") {
      Node group;
      group.kind = key == "$and" ? Node::Kind::kAnd : Node::Kind::kOr;
      for (const Json& sub : v) {
        DOTDO_ASSIGN_OR_RETURN(Node child, Build(sub));
        group.kids.push_back(std::move(child));
      }
      if (key == "$nor") {
        Node neg;
        neg.kind = Node::Kind::kNot;
        neg.kids.push_back(std::move(group));
        and_node.kids.push_back(std::move(neg));
      } else {
        and_node.kids.push_back(std::move(group));
      }
    } else if (key == "$not") {
      Node neg;
      neg.kind = Node::Kind::kNot;
      DOTDO_ASSIGN_OR_RETURN(Node child, Build(v));
      neg.kids.push_back(std::move(child));
      and_node.kids.push_back(std::move(neg));
    } else {
      DOTDO_ASSIGN_OR_RETURN(FieldRef f, ColumnarFields().Resolve(key));
      if (!f.is_json()) {
        DOTDO_ASSIGN_OR_RETURN(Node t, ColumnCondition(f.column == "id" ? FieldKind::kId : FieldKind::kCreated, v));
        and_node.kids.push_back(std::move(t));
        continue;
      }
      Node t;
      t.kind = Node::Kind::kTerm;
      t.field = FieldKind::kPath;
      t.path = f.path->ToDotted();
      t.json_path = *f.path;
      t.condition = IsOperatorObject(v) ? v : Json{{"$eq", v}};
      t.scalar_ok = ScalarForm(t.condition, t.scalar);
      and_node.kids.push_back(std::move(t));
    }
  }
  return and_node;
}

Status EvalColumnTerm(const Node& n, ChunkReader& chunk, std::vector<uint8_t>& match) {
  if (n.op == TermOp::kTrue) return OkStatus();
  if (n.op == TermOp::kFalse) {
    std::fill(match.begin(), match.end(), 0);
    return OkStatus();
  }
  DOTDO_ASSIGN_OR_RETURN(const ColumnData* c, chunk.Column(n.field == FieldKind::kId ? kIdColumn : kCreatedColumn));
  if (c == nullptr) return DataLossError("columnar chunk lacks its system columns");
  Sql v;
  for (size_t i = 0; i < chunk.rows(); ++i) {
    if (!match[i]) continue;
    if (n.field == FieldKind::kId) {
      v.t = Sql::T::kText;
      v.s = c->Str(i);
    } else {
      v.t = Sql::T::kInt;
      v.i = c->ints[i];
    }
    if (!MatchColumn(n, v)) match[i] = 0;
  }
  return OkStatus();
}

const JsonPath& ValuePath() {
  static const JsonPath kPath = *JsonPath::Parse("v");
  return kPath;
}

Status EvalPathTerm(const Node& n, ChunkReader& chunk, std::vector<uint8_t>& match) {
  const ColumnData* col = nullptr;
  const ColumnStats* stats = chunk.meta().Column(n.path);
  if (stats != nullptr) {
    DOTDO_ASSIGN_OR_RETURN(col, chunk.Column(n.path));
  }
  // With rest_count 0, a row outside the column has nothing at the path (no value in `_rest`, no
  // array on a prefix): the condition's answer for a missing value.
  const bool absent_is_missing = col != nullptr && stats->rest_count == 0;
  const bool on_missing = absent_is_missing && MatchesFieldCondition(Json::object(), *n.json_path, n.condition);
  // Part of the path's value lives in subcolumns below it: rebuild the whole data.
  bool whole = false;
  const std::string prefix = n.path + ".";
  for (const ColumnStats& cs : chunk.meta().columns) whole = whole || cs.name.compare(0, prefix.size(), prefix) == 0;
  for (size_t i = 0; i < chunk.rows(); ++i) {
    if (!match[i]) continue;
    bool ok = false;
    if (col != nullptr && col->present[i]) {
      if (n.scalar_ok) {
        const BracketValue x = ColumnBracket(*col, i);
        ok = true;
        for (const ScalarOp& s : n.scalar) ok = ok && MatchScalar(s, x);
      } else {
        const Json doc = {{"v", ColumnValueJson(*col, i)}};
        ok = MatchesFieldCondition(doc, ValuePath(), n.condition);
      }
    } else if (absent_is_missing && !whole) {
      ok = on_missing;
    } else if (whole) {
      DOTDO_ASSIGN_OR_RETURN(Json data, chunk.Data(i));
      ok = MatchesFieldCondition(data, *n.json_path, n.condition);
    } else {
      DOTDO_ASSIGN_OR_RETURN(const Json* rest, chunk.Rest(i));
      ok = MatchesFieldCondition(*rest, *n.json_path, n.condition);
    }
    if (!ok) match[i] = 0;
  }
  return OkStatus();
}

Status Eval(const Node& n, ChunkReader& chunk, std::vector<uint8_t>& match) {
  const size_t rows = chunk.rows();
  switch (n.kind) {
    case Node::Kind::kTerm:
      return n.field == FieldKind::kPath ? EvalPathTerm(n, chunk, match) : EvalColumnTerm(n, chunk, match);
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
      std::vector<uint8_t> m = match;
      DOTDO_RETURN_IF_ERROR(Eval(n.kids[0], chunk, m));
      for (size_t i = 0; i < rows; ++i) match[i] &= !m[i];
      return OkStatus();
    }
  }
  return OkStatus();
}

// Could some value in [lo, hi] satisfy the range? cmp_x_bound = sign(x - bound).
bool RangeMay(TermOp op, int cmp_lo_bound, int cmp_hi_bound) {
  switch (op) {
    case TermOp::kGt: return cmp_hi_bound > 0;
    case TermOp::kGte: return cmp_hi_bound >= 0;
    case TermOp::kLt: return cmp_lo_bound < 0;
    case TermOp::kLte: return cmp_lo_bound <= 0;
    case TermOp::kEq:
    case TermOp::kIn: return cmp_lo_bound <= 0 && cmp_hi_bound >= 0;
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

// True when the chunk (or group) has a bloom on `name` and none of the hashed values may be in it
// (a value without a hash may be anywhere).
bool BloomMiss(const ChunkAccel* accel, std::string_view name, const std::vector<std::optional<uint64_t>>& hashes) {
  if (accel == nullptr) return false;
  auto it = accel->blooms.find(name);
  if (it == accel->blooms.end()) return false;
  for (const std::optional<uint64_t>& h : hashes)
    if (!h || BloomFilter::MayContain(it->second, *h)) return false;
  return true;
}

bool ColumnTermMay(const Node& n, const ChunkMeta& meta, const ChunkAccel* accel) {
  if (n.op == TermOp::kFalse) return false;
  if (n.field == FieldKind::kId)
    return !((n.op == TermOp::kEq || n.op == TermOp::kIn) && BloomMiss(accel, kIdColumn, n.hashes));
  if (n.op == TermOp::kIn && n.values.empty()) return false;
  if (n.op != TermOp::kEq && n.op != TermOp::kGt && n.op != TermOp::kGte && n.op != TermOp::kLt &&
      n.op != TermOp::kLte)
    return true;
  ColumnStats s;
  s.kind = ColumnKind::kInt;
  s.min_i = meta.min_ts;
  s.max_i = meta.max_ts;
  return RangeMay(n.op, CmpStatNum(s, false, n.values[0]), CmpStatNum(s, true, n.values[0]));
}

// Could one of the column's non-null values satisfy the scalar operator? Only for the operators
// that no null or missing value satisfies; true otherwise.
bool ScalarOpMay(const ScalarOp& op, const ColumnStats& s, const ChunkAccel* accel) {
  const bool eq = op.op == TermOp::kEq || op.op == TermOp::kIn;
  const bool range = op.op == TermOp::kGt || op.op == TermOp::kGte || op.op == TermOp::kLt || op.op == TermOp::kLte;
  if (!eq && !range) return true;
  const BracketValue::B column_bracket = s.kind == ColumnKind::kString ? BracketValue::B::kStr : BracketValue::B::kNum;
  bool any = false;
  for (const BracketValue& o : op.operands) {
    if (o.b == BracketValue::B::kNull || o.b == BracketValue::B::kOther) return true;  // kept simple
    if (o.b != column_bracket || s.nonnull == 0) continue;  // never equal or ordered
    if (!s.has_minmax) {
      any = true;
      continue;
    }
    int lo, hi;
    if (o.b == BracketValue::B::kNum) {
      lo = CmpStatNum(s, false, o.num);
      hi = CmpStatNum(s, true, o.num);
    } else {
      lo = s.min_s < o.str ? -1 : (s.min_s == o.str ? 0 : 1);
      hi = s.max_s < o.str ? -1 : (s.max_s == o.str ? 0 : 1);
    }
    any = any || RangeMay(op.op, lo, hi);
  }
  if (!any || !eq || accel == nullptr) return any;
  // The bloom, probed once the statistics let the chunk through: a miss when every operand that
  // could equal a value of the column is absent from it (an operand without a hash may be there).
  auto it = accel->blooms.find(s.name);
  if (it == accel->blooms.end()) return true;
  for (const BracketValue& o : op.operands)
    if (o.b == column_bracket && (!o.hash || BloomFilter::MayContain(it->second, *o.hash))) return true;
  return false;
}

// False when the chunk statistics prove the term false for every row.
bool TermMay(const Node& n, const ChunkMeta& meta, const ChunkAccel* accel) {
  if (n.field != FieldKind::kPath) return ColumnTermMay(n, meta, accel);
  if (!n.scalar_ok) return true;
  const ColumnStats* s = meta.Column(n.path);
  // Every value of the path in the chunk is in the column (none in `_rest`, no array on a prefix).
  if (s == nullptr || s->rest_count > 0 || s->kind == ColumnKind::kBool) return true;
  for (const ScalarOp& op : n.scalar)
    if (!ScalarOpMay(op, *s, accel)) return false;
  return true;
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
  if (n.kind == Node::Kind::kTerm) {
    if (n.field != FieldKind::kPath) return n.op == TermOp::kEq || n.op == TermOp::kIn;
    for (const ScalarOp& s : n.scalar)
      if (s.op == TermOp::kEq || s.op == TermOp::kIn) return true;
    return false;
  }
  if (n.kind == Node::Kind::kNot) return false;
  for (const Node& k : n.kids)
    if (UsesBloom(k)) return true;
  return false;
}

// The hashes of an $eq / $in term on `column` whose every operand is a hashable string or number.
std::optional<std::vector<uint64_t>> TermHashes(const Node& n, std::string_view column) {
  std::vector<uint64_t> out;
  if (column == kIdColumn) {
    if (n.field != FieldKind::kId || (n.op != TermOp::kEq && n.op != TermOp::kIn)) return std::nullopt;
    for (size_t i = 0; i < n.values.size(); ++i) {
      if (!std::holds_alternative<std::string>(n.values[i]) || !n.hashes[i]) return std::nullopt;
      out.push_back(*n.hashes[i]);
    }
    return out;
  }
  if (n.field != FieldKind::kPath || n.path != column || !n.scalar_ok) return std::nullopt;
  for (const ScalarOp& op : n.scalar) {
    if (op.op != TermOp::kEq && op.op != TermOp::kIn) continue;
    out.clear();
    bool all = true;
    for (const BracketValue& o : op.operands) {
      all = all && (o.b == BracketValue::B::kStr || o.b == BracketValue::B::kNum) && o.hash.has_value();
      if (all) out.push_back(*o.hash);
    }
    if (all) return out;
  }
  return std::nullopt;
}

// The first term of the top-level conjunction (nested conjunctions included) that TermHashes takes.
std::optional<std::vector<uint64_t>> ConjunctionHashes(const Node& n, std::string_view column) {
  if (n.kind == Node::Kind::kTerm) return TermHashes(n, column);
  if (n.kind != Node::Kind::kAnd) return std::nullopt;
  for (const Node& k : n.kids)
    if (auto h = ConjunctionHashes(k, column)) return h;
  return std::nullopt;
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

std::optional<std::vector<uint64_t>> ColumnarFilter::EqualityHashes(std::string_view column) const {
  if (!root_) return std::nullopt;
  return ConjunctionHashes(*root_, column);
}

std::vector<std::string> ColumnarFilter::Paths() const {
  std::vector<std::string> out;
  if (root_) CollectPaths(*root_, out);
  return out;
}

}  // namespace dotdo::internal
