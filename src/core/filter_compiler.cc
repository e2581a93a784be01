// Filter compilation shared by every store: the operators, their type rules, the limits and the
// error messages, over the fields a store's FieldResolver declares (see filter_compiler.h).
#include "core/filter_compiler.h"

#include <cstdint>
#include <utility>
#include <variant>

#include "core/json.h"
#include "dotdo/clock.h"

namespace dotdo::internal {
namespace {

constexpr const char* kOperators = "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $like";

std::string Trunc(std::string_view s) { return std::string(s.substr(0, 80)); }

std::string Shown(const Json& v) { return Trunc(DumpJson(v)); }

bool IsScalar(const Json& v) { return v.is_null() || v.is_boolean() || v.is_number() || v.is_string(); }

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
  explicit Compiler(const FieldResolver& fields) : fields_(fields) {}

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
  // `top`: the object is a top-level conjunct (not under $or / $not), so its terms may be pruned.
  Result<std::string> Object(const Json& obj, bool top, int depth) {
    if (depth > kMaxFilterDepth)
      return InvalidArgumentError("filter nests deeper than " + std::to_string(kMaxFilterDepth) +
                                  " levels of $and, $or and $not");
    std::vector<std::string> terms;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string& key = it.key();
      const Json& v = it.value();
      if (key == "$and" || key == "$or") {
        if (!v.is_array() || v.empty()) return InvalidArgumentError(key + " takes a non-empty array of filters");
        std::vector<std::string> parts;
        for (const Json& sub : v) {
          if (!sub.is_object()) return InvalidArgumentError(key + " takes an array of filter objects");
          DOTDO_ASSIGN_OR_RETURN(std::string s, Object(sub, top && key == "$and", depth + 1));
          parts.push_back(std::move(s));
        }
        terms.push_back(Join(parts, key == "$and" ? " AND " : " OR "));
      } else if (key == "$not") {
        if (!v.is_object()) return InvalidArgumentError("$not takes a filter object");
        DOTDO_ASSIGN_OR_RETURN(std::string s, Object(v, false, depth + 1));
        terms.push_back("NOT IFNULL(" + s + ", 0)");
      } else {
        Result<FieldRef> field = fields_.Resolve(key);
        if (!field.ok()) {
          // "$nor" and friends: an operator where a field name belongs, not a field the store lacks.
          if (!key.empty() && key[0] == '$' && key.find('.') == std::string::npos)
            return InvalidArgumentError("unknown operator '" + Trunc(key) +
                                        "' in a filter object (use $and, $or, $not or a field name)");
          return field.status();
        }
        DOTDO_ASSIGN_OR_RETURN(std::string s, Field(*field, v, top));
        terms.push_back(std::move(s));
      }
    }
    if (terms.empty()) return std::string("1");
    return Join(terms, " AND ");
  }

  Result<std::string> Field(const FieldRef& f, const Json& v, bool top) {
    if (!v.is_object()) return Op(f, "$eq", v, top);
    if (v.empty())
      return InvalidArgumentError("empty operator object for field '" + f.name +
                                  "' (use a value or {\"$op\": value})");
    std::vector<std::string> terms;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key().empty() || it.key()[0] != '$') {
        if (!f.is_json())
          return InvalidArgumentError("'" + f.name + "' is compared with an object; compare it with a value or " +
                                      "operators such as {\"$gt\": value}");
        return InvalidArgumentError("'" + f.name + "' is compared with an object; to match nested fields, " +
                                    "filter on their paths (e.g. '" + f.name + "." + Trunc(it.key()) + "')");
      }
      DOTDO_ASSIGN_OR_RETURN(std::string s, Op(f, it.key(), it.value(), top));
      terms.push_back(std::move(s));
    }
    return Join(terms, " AND ");
  }

  // The SQL parameter for `v` compared with `f` by `op`; enforces the column kind's values (JSON
  // fields take any scalar). REQUIRES: v is not null and, for a JSON field, a scalar (the operator
  // checks that first).
  static Result<SqlValue> Value(const FieldRef& f, const std::string& op, const Json& v) {
    if (f.is_json()) return ToSqlValue(v);
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

  std::string Bind(SqlValue v) {
    out_.params.push_back(std::move(v));
    return "?";
  }

  Result<std::string> Op(const FieldRef& f, const std::string& op, const Json& v, bool top) {
    if (++terms_ > kMaxFilterTerms)
      return InvalidArgumentError("filter has more than " + std::to_string(kMaxFilterTerms) + " conditions");
    const std::string e = f.Expression();
    const bool prune = top && f.is_json();
    if (op == "$eq" || op == "$ne") {
      const bool eq = op == "$eq";
      if (f.is_json() && !IsScalar(v))
        return Takes(f, op, "a string, number, boolean or null", v,
                     " (a field must be compared with a scalar: filter nested values by path, e.g. '" + f.name +
                         ".0')");
      if (v.is_null()) return e + (eq ? " IS NULL" : " IS NOT NULL");
      if (f.is_json() && v.is_boolean())  // exactly that JSON boolean, not the numbers 1/0
        return f.JsonTypeExpression() + (eq ? " = " : " IS NOT ") + (v.get<bool>() ? "'true'" : "'false'");
      DOTDO_ASSIGN_OR_RETURN(SqlValue bound, Value(f, op, v));
      if (eq && prune) out_.prunable.push_back({f.path->ToDotted(), PrunableTerm::Op::kEq, {v}});
      return e + (eq ? " = " : " IS NOT ") + Bind(std::move(bound));
    }
    if (const char* sym = RangeSymbol(op)) {
      if (!v.is_number() && !v.is_string()) return Takes(f, op, "a number or a string", v);
      DOTDO_ASSIGN_OR_RETURN(SqlValue bound, Value(f, op, v));
      const bool number = !std::holds_alternative<std::string>(bound);
      if (prune) out_.prunable.push_back({f.path->ToDotted(), RangeTerm(op), {v}});
      std::string cmp = e + sym + Bind(std::move(bound));
      if (number) {
        // Numbers sort below every text value: bound the range so strings never match, in a form
        // an expression index still serves.
        if (op == "$gt" || op == "$gte") cmp += " AND " + e + " < ''";
      } else if (f.is_json()) {
        cmp += " AND " + f.JsonTypeExpression() + " = 'text'";
      }
      return "(" + cmp + ")";
    }
    if (op == "$in" || op == "$nin") {
      if (v.is_array() && v.size() > kMaxFilterInValues)
        return InvalidArgumentError(op + " on '" + f.name + "' takes at most " + std::to_string(kMaxFilterInValues) +
                                    " values, got " + std::to_string(v.size()) + " (split the query or use a range)");
      if (!v.is_array() || v.empty())
        return Takes(f, op, "a non-empty array of strings or numbers", v);
      std::string list;
      for (const Json& x : v) {
        if (!x.is_number() && !x.is_string()) return Takes(f, op, "an array of strings or numbers", x, " in the array");
        DOTDO_ASSIGN_OR_RETURN(SqlValue bound, Value(f, op, x));
        list += list.empty() ? "" : ", ";
        list += Bind(std::move(bound));
      }
      if (op == "$in") {
        if (prune) out_.prunable.push_back({f.path->ToDotted(), PrunableTerm::Op::kIn, v.get<std::vector<Json>>()});
        return "(" + e + " IN (" + list + "))";
      }
      return "(" + e + " IS NULL OR " + e + " NOT IN (" + list + "))";
    }
    if (op == "$exists") {
      if (!v.is_boolean()) return Takes(f, op, "true or false", v);
      if (!f.is_json()) return std::string(v.get<bool>() ? "1" : "0");  // a column is always there
      return f.JsonTypeExpression() + (v.get<bool>() ? " IS NOT NULL" : " IS NULL");
    }
    if (op == "$like") {
      if (!v.is_string()) return Takes(f, op, "a LIKE pattern string ('%' any run, '_' one character)", v);
      if (!f.is_json() && f.kind != ValueKind::kText)
        return InvalidArgumentError("$like on '" + f.name + "' needs a text field; it holds " + KindNoun(f.kind));
      std::string like = "(" + e + " LIKE " + Bind(v.get<std::string>());
      if (f.is_json()) like += " AND " + f.JsonTypeExpression() + " = 'text'";
      return like + ")";
    }
    return InvalidArgumentError("unknown operator '" + Trunc(op) + "' on '" + f.name + "' (use " + kOperators + ")");
  }

  const FieldResolver& fields_;
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

Result<CompiledFilter> CompileFilter(const Json& where, const FieldResolver& fields) {
  return CatchAll("invalid filter", [&] { return Compiler(fields).Run(where); });
}

}  // namespace dotdo::internal
