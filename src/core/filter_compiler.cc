// Filter compilation shared by every store: the operators, their type rules, the limits and the
// error messages, over the fields a store's FieldResolver declares (see filter_compiler.h).
#include "core/filter_compiler.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>
#include <variant>

#include "core/json.h"
#include "core/mql_match.h"
#include "dotdo/clock.h"

namespace dotdo::internal {
namespace {

constexpr const char* kOperators =
    "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $like, $regex, $type, $size, $all, $elemMatch, $not";

std::string Trunc(std::string_view s) { return std::string(s.substr(0, 80)); }

std::string Shown(const Json& v) { return Trunc(DumpJson(v)); }

// {"$gt": 1}: an object whose (first) key is an operator, as opposed to a literal object value.
bool IsOperatorObject(const Json& v) {
  return v.is_object() && !v.empty() && !v.begin().key().empty() && v.begin().key()[0] == '$';
}

// $type names and the json_type() results each stands for.
const std::map<std::string, std::vector<const char*>>& TypeAliases() {
  static const std::map<std::string, std::vector<const char*>> kAliases = {
      {"number", {"integer", "real"}}, {"double", {"real"}},    {"int", {"integer"}}, {"long", {"integer"}},
      {"string", {"text"}},            {"bool", {"true", "false"}}, {"null", {"null"}}, {"array", {"array"}},
      {"object", {"object"}}};
  return kAliases;
}

const char* KindNoun(ValueKind kind) {
  switch (kind) {
    case ValueKind::kText: return "text";
    case ValueKind::kInteger: return "integers";
    case ValueKind::kReal: return "numbers";
    case ValueKind::kTime: return "times";
  }
  return "values";
}

// The SQL comparison of a range operator, or nullptr.
const char* RangeSymbol(std::string_view op) {
  if (op == "$gt") return " > ";
  if (op == "$gte") return " >= ";
  if (op == "$lt") return " < ";
  if (op == "$lte") return " <= ";
  return nullptr;
}

PrunableTerm::Op RangeTerm(std::string_view op) {
  if (op == "$gt") return PrunableTerm::Op::kGt;
  if (op == "$gte") return PrunableTerm::Op::kGte;
  if (op == "$lt") return PrunableTerm::Op::kLt;
  return PrunableTerm::Op::kLte;
}

// "<op> on '<field>' takes <what>, got <value><detail>": the one shape of a type error.
Status Takes(const FieldRef& f, std::string_view op, std::string_view what, const Json& got,
             std::string_view detail = "") {
  return InvalidArgumentError(std::string(op) + " on '" + f.name + "' takes " + std::string(what) + ", got " +
                              Shown(got) + std::string(detail));
}

std::string Join(const std::vector<std::string>& parts, const char* sep) {
  if (parts.size() == 1) return parts[0];
  std::string out = "(";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out + ")";
}

class Compiler {
 public:
  Compiler(const FieldResolver& fields, const std::set<std::string>* scalar_paths)
      : fields_(fields), scalar_paths_(scalar_paths) {}

  Result<CompiledFilter> Run(const Json& where) {
    if (where.is_null()) {  // no filter
      out_.sql = "1";
      return std::move(out_);
    }
    if (!where.is_object())
      return InvalidArgumentError(std::string("a filter must be a JSON object, got ") + where.type_name());
    DOTDO_ASSIGN_OR_RETURN(out_.sql, Object(where, /*top=*/true, 0));
    return std::move(out_);
  }

 private:
  // `top`: the object is a top-level conjunct (not under $or / $nor / $not), so its terms may be pruned.
  Result<std::string> Object(const Json& obj, bool top, int depth) {
    if (depth > kMaxFilterDepth)
      return InvalidArgumentError("filter nests deeper than " + std::to_string(kMaxFilterDepth) +
                                  " levels of $and, $or, $nor, $not and $elemMatch");
    std::vector<std::string> terms;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string& key = it.key();
      const Json& v = it.value();
      if (key == "$and" || key == "$or" || key == "$nor") {
        if (!v.is_array() || v.empty()) return InvalidArgumentError(key + " takes a non-empty array of filters");
        std::vector<std::string> parts;
        for (const Json& sub : v) {
          if (!sub.is_object()) return InvalidArgumentError(key + " takes an array of filter objects");
          DOTDO_ASSIGN_OR_RETURN(std::string s, Object(sub, top && key == "$and", depth + 1));
          parts.push_back(key == "$nor" ? Not(s) : std::move(s));
        }
        terms.push_back(Join(parts, key == "$or" ? " OR " : " AND "));
      } else if (key == "$not") {
        if (!v.is_object()) return InvalidArgumentError("$not takes a filter object");
        DOTDO_ASSIGN_OR_RETURN(std::string s, Object(v, false, depth + 1));
        terms.push_back(Not(s));
      } else {
        Result<FieldRef> field = fields_.Resolve(key);
        if (!field.ok()) {
          // "$where" and friends: an operator where a field name belongs, not a field the store lacks.
          if (!key.empty() && key[0] == '$' && key.find('.') == std::string::npos)
            return InvalidArgumentError("unknown operator '" + Trunc(key) +
                                        "' in a filter object (use $and, $or, $nor, $not or a field name)");
          return field.status();
        }
        DOTDO_ASSIGN_OR_RETURN(std::string s, Field(*field, v, top, depth));
        terms.push_back(std::move(s));
      }
    }
    if (terms.empty()) return std::string("1");
    return Join(terms, " AND ");
  }

  // The condition a filter gives one field: a value (equality, also with an object or array) or
  // an operator object ({"$gt": 1, "$lt": 5}).
  Result<std::string> Field(const FieldRef& f, const Json& v, bool top, int depth) {
    if (depth > kMaxFilterDepth)
      return InvalidArgumentError("filter nests deeper than " + std::to_string(kMaxFilterDepth) +
                                  " levels of $and, $or, $nor, $not and $elemMatch");
    if (!IsOperatorObject(v)) {
      if (v.is_object() && !f.is_json())
        return InvalidArgumentError("'" + f.name + "' is compared with an object; compare it with a value or " +
                                    "operators such as {\"$gt\": value}");
      return Op(f, "$eq", v, v, top, depth);
    }
    std::vector<std::string> terms;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key().empty() || it.key()[0] != '$')
        return InvalidArgumentError("the condition on '" + f.name + "' mixes operators and field names ('" +
                                    Trunc(it.key()) + "'); to match nested fields, filter on their paths (e.g. '" +
                                    f.name + "." + Trunc(it.key()) + "')");
      if (it.key() == "$options") {
        if (!v.contains("$regex")) return InvalidArgumentError("$options on '" + f.name + "' needs a $regex beside it");
        continue;
      }
      DOTDO_ASSIGN_OR_RETURN(std::string s, Op(f, it.key(), it.value(), v, top, depth));
      terms.push_back(std::move(s));
    }
    return Join(terms, " AND ");
  }

  std::string Bind(SqlValue v) {
    out_.params.push_back(std::move(v));
    return "?";
  }

  Result<std::string> Op(const FieldRef& f, const std::string& op, const Json& v, const Json& all, bool top, int depth) {
    if (++terms_ > kMaxFilterTerms)
      return InvalidArgumentError("filter has more than " + std::to_string(kMaxFilterTerms) + " conditions");
    DOTDO_RETURN_IF_ERROR(CheckOperand(f, op, v, all, depth));
    // The negations are the complement of their positive operator (two-valued: unknown is false).
    if (op == "$ne") return Not(Positive(f, "$eq", v, v, false));
    if (op == "$nin") return Not(Positive(f, "$in", v, v, false));
    if (op == "$not") return Not(Field(f, v, false, depth + 1));
    return Positive(f, op, v, all, top);
  }

  Result<std::string> Positive(const FieldRef& f, const std::string& op, const Json& v, const Json& all, bool top) {
    if (!f.is_json()) return ColumnOp(f, op, v, all);
    if (top) Prune(f, op, v);
    if (scalar_paths_ != nullptr && scalar_paths_->count(f.name)) return ScalarJsonOp(f, op, v, all);
    // The scalar form is exact unless an array lies on the path; there the evaluator decides.
    Json condition = {{op, v}};
    if (op == "$regex" && all.contains("$options")) condition["$options"] = all["$options"];
    // Parameters are positional: each Bind is its own statement, in the order of the SQL text.
    std::string sql = "CASE WHEN " + ArrayOnPath(f) + " THEN dotdo_match(json(" + f.column + "), ";
    sql += Bind(f.path->ToDotted()) + ", ";
    sql += Bind(DumpJson(condition)) + ") ELSE ";
    DOTDO_ASSIGN_OR_RETURN(std::string scalar, ScalarJsonOp(f, op, v, all));
    return sql + scalar + " END";
  }

  Result<std::string> Not(Result<std::string> inner) {
    if (!inner.ok()) return inner.status();
    return Not(*inner);
  }
  static std::string Not(const std::string& inner) { return "NOT IFNULL(" + inner + ", 0)"; }

  // json_type(<column>, <prefix>) = 'array' for every prefix of the path, OR-ed.
  static std::string ArrayOnPath(const FieldRef& f) {
    std::vector<std::string> parts;
    std::string dotted;
    for (const auto& seg : f.path->segments()) {
      if (!dotted.empty()) dotted += '.';
      if (const auto* key = std::get_if<std::string>(&seg)) {
        dotted += *key;
      } else {
        dotted += std::to_string(std::get<int64_t>(seg));
      }
      // Prefixes of a validated path are valid paths.
      parts.push_back("json_type(" + f.column + ", " + JsonPath::Parse(dotted)->ToSqlLiteral() + ") = 'array'");
    }
    return Join(parts, " OR ");
  }

  void Prune(const FieldRef& f, const std::string& op, const Json& v) {
    auto recordable = [](const Json& x) { return x.is_number() || x.is_string(); };
    if (op == "$eq" && recordable(v)) out_.prunable.push_back({f.path->ToDotted(), PrunableTerm::Op::kEq, {v}});
    if (RangeSymbol(op) && recordable(v)) out_.prunable.push_back({f.path->ToDotted(), RangeTerm(op), {v}});
    if (op == "$in" && !v.empty() && std::all_of(v.begin(), v.end(), recordable))
      out_.prunable.push_back({f.path->ToDotted(), PrunableTerm::Op::kIn, v.get<std::vector<Json>>()});
  }

  // Equality with `x` for a JSON field whose path holds no array.
  std::string ScalarEq(const FieldRef& f, const Json& x) {
    const std::string e = f.Expression(), t = f.JsonTypeExpression();
    if (x.is_null()) return e + " IS NULL";
    if (x.is_boolean()) return t + (x.get<bool>() ? " = 'true'" : " = 'false'");
    if (x.is_number()) return "(" + e + " = " + Bind(ToSqlValue(x)) + " AND " + t + " IN ('integer', 'real'))";
    if (x.is_string()) return "(" + e + " = " + Bind(x.get<std::string>()) + " AND " + t + " = 'text')";
    if (x.is_array()) return "0";
    std::string sql = "(" + t + " = 'object' AND dotdo_match(json(" + f.column + "), ";
    sql += Bind(f.path->ToDotted()) + ", ";
    return sql + Bind(DumpJson(Json{{"$eq", x}})) + "))";
  }

  // A positive operator on a JSON field, in the form that is exact when no array lies on the path;
  // reads the field through FieldRef::Expression() so expression indexes serve it.
  Result<std::string> ScalarJsonOp(const FieldRef& f, const std::string& op, const Json& v, const Json& all) {
    const std::string e = f.Expression(), t = f.JsonTypeExpression();
    if (op == "$eq") return ScalarEq(f, v);
    if (const char* sym = RangeSymbol(op)) {
      if (v.is_boolean()) return "(" + t + " IN ('true', 'false') AND " + e + sym + Bind(ToSqlValue(v)) + ")";
      if (v.is_string()) return "(" + e + sym + Bind(v.get<std::string>()) + " AND " + t + " = 'text')";
      // Numbers sort below every text value: bounding the range keeps strings out in a form an
      // expression index still serves.
      std::string cmp = "(" + e + sym + Bind(ToSqlValue(v));
      if (op == "$gt" || op == "$gte") cmp += " AND " + e + " < ''";
      return cmp + " AND " + t + " IN ('integer', 'real'))";
    }
    if (op == "$in") {
      // Strings and numbers as one IN list each (what an index serves); other values one by one.
      // Bound in the order they appear in the text.
      std::vector<std::string> parts;
      std::vector<const Json*> strings, numbers;
      for (const Json& x : v) {
        if (x.is_string()) {
          strings.push_back(&x);
        } else if (x.is_number()) {
          numbers.push_back(&x);
        } else {
          parts.push_back(ScalarEq(f, x));
        }
      }
      auto in_list = [&](const std::vector<const Json*>& values, const char* types) {
        std::string sql = "(" + e + " IN (";
        for (size_t i = 0; i < values.size(); ++i) sql += (i ? ", " : "") + Bind(ToSqlValue(*values[i]));
        return sql + ") AND " + t + types + ")";
      };
      if (!strings.empty()) parts.push_back(in_list(strings, " = 'text'"));
      if (!numbers.empty()) parts.push_back(in_list(numbers, " IN ('integer', 'real')"));
      if (parts.empty()) return std::string("0");
      return Join(parts, " OR ");
    }
    if (op == "$exists") return t + (v.get<bool>() ? " IS NOT NULL" : " IS NULL");
    if (op == "$like") return "(" + e + " LIKE " + Bind(v.get<std::string>()) + " AND " + t + " = 'text')";
    if (op == "$regex")
    {
      std::string sql = "(" + t + " = 'text' AND dotdo_regexp(" + Bind(v.get<std::string>()) + ", ";
      return sql + Bind(all.value("$options", std::string())) + ", " + e + "))";
    }
    if (op == "$type") {
      std::string names;
      for (const Json& alias : v.is_array() ? v : Json::array({v}))
        for (const char* n : TypeAliases().at(alias.get<std::string>())) names += std::string(names.empty() ? "" : ", ") + "'" + n + "'";
      return "IFNULL(" + t + ", '') IN (" + names + ")";
    }
    if (op == "$all") {
      if (v.empty()) return std::string("0");
      std::vector<std::string> parts;
      for (const Json& x : v) parts.push_back(ScalarEq(f, x));
      return Join(parts, " AND ");
    }
    return std::string("0");  // $size, $elemMatch: only an array satisfies them
  }

  // The SQL parameter for `v` compared with column `f` by `op`: the values of the column's kind.
  static Result<SqlValue> ColumnValue(const FieldRef& f, const std::string& op, const Json& v) {
    switch (f.kind) {
      case ValueKind::kText:
        if (v.is_string()) return SqlValue(v.get<std::string>());
        return Takes(f, op, "a string (the field holds text)", v);
      case ValueKind::kInteger:
      case ValueKind::kReal:
        if (v.is_number()) return ToSqlValue(v);
        return Takes(f, op, std::string("a number (the field holds ") + KindNoun(f.kind) + ")", v);
      case ValueKind::kTime:
        if (v.is_number()) return ToSqlValue(v);
        if (v.is_string()) {
          Result<int64_t> ms = ParseIso8601(v.get<std::string>());
          if (ms.ok()) return SqlValue(*ms);
          return Takes(f, op, "ms since the epoch or an ISO-8601 time", v, ": " + ms.status().message());
        }
        return Takes(f, op, "ms since the epoch or an ISO-8601 time", v);
    }
    return InternalError("unhandled value kind");
  }

  // A positive operator on a typed column (never an array, never missing: NULL is its null).
  Result<std::string> ColumnOp(const FieldRef& f, const std::string& op, const Json& v, const Json& all) {
    const std::string& e = f.column;
    if (op == "$eq") {
      if (v.is_null()) return e + " IS NULL";
      DOTDO_ASSIGN_OR_RETURN(SqlValue bound, ColumnValue(f, op, v));
      return e + " = " + Bind(std::move(bound));
    }
    if (const char* sym = RangeSymbol(op)) {
      DOTDO_ASSIGN_OR_RETURN(SqlValue bound, ColumnValue(f, op, v));
      return e + sym + Bind(std::move(bound));
    }
    if (op == "$in") {
      std::string list;
      bool null = false;
      for (const Json& x : v) {
        if (x.is_null()) {
          null = true;
          continue;
        }
        DOTDO_ASSIGN_OR_RETURN(SqlValue bound, ColumnValue(f, op, x));
        list += (list.empty() ? "" : ", ") + Bind(std::move(bound));
      }
      std::vector<std::string> parts;
      if (!list.empty()) parts.push_back(e + " IN (" + list + ")");
      if (null) parts.push_back(e + " IS NULL");
      if (parts.empty()) return std::string("0");
      return Join(parts, " OR ");
    }
    if (op == "$exists") return std::string(v.get<bool>() ? "1" : "0");  // a column is always there
    if (op == "$like") {
      if (f.kind != ValueKind::kText)
        return InvalidArgumentError("$like on '" + f.name + "' needs a text field; it holds " + KindNoun(f.kind));
      return "(" + e + " LIKE " + Bind(v.get<std::string>()) + ")";
    }
    if (op == "$regex") {
      if (f.kind != ValueKind::kText)
        return InvalidArgumentError("$regex on '" + f.name + "' needs a text field; it holds " + KindNoun(f.kind));
      std::string sql = "dotdo_regexp(" + Bind(v.get<std::string>()) + ", ";
      return sql + Bind(all.value("$options", std::string())) + ", " +
             e + ")";
    }
    return InvalidArgumentError(op + " on '" + f.name + "' needs a JSON field; '" + f.name + "' is a column of " +
                                KindNoun(f.kind));
  }

  // Operand checks shared by columns and JSON fields; kind-specific values are checked where bound.
  Status CheckOperand(const FieldRef& f, const std::string& op, const Json& v, const Json& all, int depth) {
    if (op == "$eq" || op == "$ne") return OkStatus();  // a column checks its values where they are bound
    if (RangeSymbol(op)) {
      if (f.is_json() ? (!v.is_number() && !v.is_string() && !v.is_boolean()) : (!v.is_number() && !v.is_string()))
        return Takes(f, op, f.is_json() ? "a number, a string or a boolean" : "a number or a string", v);
      return OkStatus();
    }
    if (op == "$in" || op == "$nin" || op == "$all") {
      if (!v.is_array()) return Takes(f, op, "an array of values", v);
      if (v.size() > kMaxFilterInValues)
        return InvalidArgumentError(op + " on '" + f.name + "' takes at most " + std::to_string(kMaxFilterInValues) +
                                    " values, got " + std::to_string(v.size()) + " (split the query or use a range)");
      for (const Json& x : v)
        if (IsOperatorObject(x)) return Takes(f, op, "values, not operator objects", x, " in the array");
      return OkStatus();
    }
    if (op == "$exists") return v.is_boolean() ? OkStatus() : Takes(f, op, "true or false", v);
    if (op == "$like")
      return v.is_string() ? OkStatus() : Takes(f, op, "a LIKE pattern string ('%' any run, '_' one character)", v);
    if (op == "$regex") {
      if (!v.is_string()) return Takes(f, op, "a regular expression string (RE2 syntax)", v);
      const Json options = all.value("$options", Json(""));
      if (!options.is_string()) return Takes(f, "$options", "a string of the flags i, m and s", options);
      Status valid = ValidateRegex(v.get<std::string>(), options.get<std::string>());
      if (!valid.ok()) return InvalidArgumentError(valid.message() + " (on '" + f.name + "')");
      return OkStatus();
    }
    if (op == "$type") {
      const Json list = v.is_array() ? v : Json::array({v});
      if (list.empty() || list.size() > 16) return Takes(f, op, "a type name or an array of 1 to 16 of them", v);
      for (const Json& t : list)
        if (!t.is_string() || !TypeAliases().count(t.get<std::string>()))
          return Takes(f, op, "a type name (number, double, int, long, string, bool, null, array, object)", t);
      return OkStatus();
    }
    if (op == "$size") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
        return Takes(f, op, "a non-negative integer", v);
      return OkStatus();
    }
    if (op == "$elemMatch") {
      if (!v.is_object() || v.empty()) return Takes(f, op, "a non-empty filter or operator object", v);
      // Checked as the filter it is on an element; its SQL is not used (the evaluator runs it).
      static const JsonColumnFields kElement({}, "value");
      Compiler nested(kElement, nullptr);
      nested.terms_ = terms_;
      bool operators = true;
      for (auto it = v.begin(); it != v.end(); ++it)
        operators &= it.key()[0] == '$' && it.key() != "$and" && it.key() != "$or" && it.key() != "$nor";
      Result<std::string> checked = operators ? nested.Field(*kElement.Resolve("value"), v, false, depth + 1)
                                              : nested.Object(v, false, depth + 1);
      terms_ = nested.terms_;
      return checked.status();
    }
    if (op == "$not") {
      if (!IsOperatorObject(v))
        return Takes(f, op, "an operator object such as {\"$gt\": 1}", v, " (for a whole filter use the top-level $not)");
      return OkStatus();
    }
    return InvalidArgumentError("unknown operator '" + Trunc(op) + "' on '" + f.name + "' (use " + kOperators + ")");
  }

  const FieldResolver& fields_;
  const std::set<std::string>* scalar_paths_;
  CompiledFilter out_;
  size_t terms_ = 0;
};
}  // namespace

std::string FieldRef::Expression() const {
  if (!path) return column;
  return "json_extract(" + column + ", " + path->ToSqlLiteral() + ")";
}

std::string FieldRef::JsonTypeExpression() const { return "json_type(" + column + ", " + path->ToSqlLiteral() + ")"; }

JsonColumnFields::JsonColumnFields(std::vector<ColumnField> columns, std::string json_column, std::string json_prefix,
                                   std::vector<std::string> json_system_fields)
    : columns_(std::move(columns)),
      json_column_(std::move(json_column)),
      json_prefix_(std::move(json_prefix)),
      json_system_fields_(std::move(json_system_fields)) {}

Result<FieldRef> JsonColumnFields::Resolve(std::string_view name) const {
  for (const ColumnField& c : columns_)
    if (name == c.field) return FieldRef{c.field, c.column, std::nullopt, c.kind};
  if (json_prefix_.empty()) {
    DOTDO_ASSIGN_OR_RETURN(JsonPath path, JsonPath::Parse(name));
    if (path.segments().size() == 1 && name[0] == '$') {
      bool known = false;
      for (const std::string& s : json_system_fields_) known |= name == s;
      if (!known) {
        std::string system;
        for (const ColumnField& c : columns_)
          if (c.field[0] == '$') system += (system.empty() ? "" : ", ") + c.field;
        for (const std::string& s : json_system_fields_) system += (system.empty() ? "" : ", ") + s;
        return InvalidArgumentError("unknown query field '" + Trunc(name) + "': names starting with '$' are system " +
                                    "fields (" + system + ")");
      }
    }
    std::string dotted = path.ToDotted();
    return FieldRef{std::move(dotted), json_column_, std::move(path), ValueKind::kText};
  }
  if (name.substr(0, json_prefix_.size()) != json_prefix_) {
    std::string known;
    for (const ColumnField& c : columns_) known += c.field + ", ";
    if (!known.empty()) known.resize(known.size() - 2);
    return InvalidArgumentError("unknown query field '" + Trunc(name) + "': use " + known + " or " + json_prefix_ +
                                "<path>");
  }
  Result<JsonPath> path = JsonPath::Parse(name.substr(json_prefix_.size()));
  if (!path.ok())
    return InvalidArgumentError("invalid " + json_prefix_.substr(0, json_prefix_.size() - 1) + " path in '" +
                                Trunc(name) + "': " + path.status().message());
  return FieldRef{json_prefix_ + path->ToDotted(), json_column_, std::move(*path), ValueKind::kText};
}

SqlValue ToSqlValue(const Json& v) {
  if (v.is_boolean()) return static_cast<int64_t>(v.get<bool>() ? 1 : 0);
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(u);
    return static_cast<double>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) return v.get<double>();
  if (v.is_string()) return v.get<std::string>();
  return std::monostate{};
}

Result<CompiledFilter> CompileFilter(const Json& where, const FieldResolver& fields,
                                     const std::set<std::string>* scalar_paths) {
  return CatchAll("invalid filter", [&] { return Compiler(fields, scalar_paths).Run(where); });
}

}  // namespace dotdo::internal
