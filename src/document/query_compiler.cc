// Filter compilation for DocumentStore queries (see query_compiler.h for the semantics).
#include "document/query_compiler.h"

namespace dotdo::internal {
namespace {

constexpr int kMaxDepth = 16;
constexpr size_t kMaxTerms = 256;
constexpr size_t kMaxInValues = 1000;
constexpr const char* kOperators = "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $like";

std::string Trunc(std::string_view s) { return std::string(s.substr(0, 80)); }

class Compiler {
 public:
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
  Result<std::string> Object(const Json& obj, bool top, int depth) {
    if (depth > kMaxDepth) return InvalidArgumentError("filter nests deeper than 16 levels");
    std::vector<std::string> terms;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string& key = it.key();
      const Json& v = it.value();
      if (key == "$and" || key == "$or") {
        if (!v.is_array() || v.empty())
          return InvalidArgumentError(key + " takes a non-empty array of filters");
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
      } else if (!key.empty() && key[0] == '$' && key.find('.') == std::string::npos &&
                 key != "$id" && key != "$type" && key != "$version" && key != "$createdAt" && key != "$updatedAt") {
        return InvalidArgumentError("unknown operator '" + Trunc(key) + "' at the filter's top level (use $and, $or, $not or a path)");
      } else {
        DOTDO_ASSIGN_OR_RETURN(QueryPath path, ParseQueryPath(key));
        DOTDO_ASSIGN_OR_RETURN(std::string s, Field(path, v, top));
        terms.push_back(std::move(s));
      }
    }
    if (terms.empty()) return std::string("1");
    return Join(terms, " AND ");
  }

  static std::string Join(const std::vector<std::string>& parts, const char* sep) {
    if (parts.size() == 1) return parts[0];
    std::string out = "(";
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i) out += sep;
      out += parts[i];
    }
    return out + ")";
  }

  std::string Param(const Json& v) {
    out_.params.push_back(ToSqlValue(v));
    return "?";
  }

  Status CountTerm() {
    if (++terms_ > kMaxTerms) return InvalidArgumentError("filter has more than 256 conditions");
    return OkStatus();
  }

  // Condition that the path holds a value of a JSON type, for data paths; empty for columns.
  static std::string TypeIs(const QueryPath& p, const char* type) {
    if (!p.column.empty()) return "";
    return " AND json_type(data, " + p.path.ToSqlLiteral() + ") = '" + type + "'";
  }

  Result<std::string> Field(const QueryPath& p, const Json& v, bool top) {
    if (!v.is_object()) return Op(p, "$eq", v, top);
    if (v.empty()) return InvalidArgumentError("empty operator object for path '" + p.dotted + "'");
    std::vector<std::string> terms;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key().empty() || it.key()[0] != '$')
        return InvalidArgumentError("path '" + p.dotted + "' is compared with an object; to match nested fields, "
                                    "filter on their paths (e.g. '" + p.dotted + "." + Trunc(it.key()) + "')");
      DOTDO_ASSIGN_OR_RETURN(std::string s, Op(p, it.key(), it.value(), top));
      terms.push_back(std::move(s));
    }
    return Join(terms, " AND ");
  }

  static bool IsScalar(const Json& v) { return v.is_null() || v.is_boolean() || v.is_number() || v.is_string(); }

  Result<std::string> Op(const QueryPath& p, const std::string& op, const Json& v, bool top) {
    DOTDO_RETURN_IF_ERROR(CountTerm());
    const std::string e = PathExpression(p);
    auto need = [&](const char* what) {
      return InvalidArgumentError(op + " on '" + p.dotted + "' takes " + what + ", got " + v.dump().substr(0, 80));
    };
    if (op == "$eq" || op == "$ne") {
      const bool eq = op == "$eq";
      if (!IsScalar(v)) return need("a string, number, boolean or null (filter nested values by path)");
      if (v.is_null()) return e + (eq ? " IS NULL" : " IS NOT NULL");
      if (v.is_boolean() && p.column.empty()) {
        std::string t = v.get<bool>() ? "'true'" : "'false'";
        return "json_type(data, " + p.path.ToSqlLiteral() + ")" + (eq ? " = " : " IS NOT ") + t;
      }
      if (eq && top && p.column.empty()) out_.prunable.push_back({p.dotted, PrunableTerm::Op::kEq, {v}});
      return e + (eq ? " = " : " IS NOT ") + Param(v);
    }
    if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
      if (!v.is_number() && !v.is_string()) return need("a number or a string");
      const char* sql_op = op == "$gt" ? " > " : op == "$gte" ? " >= " : op == "$lt" ? " < " : " <= ";
      if (top && p.column.empty()) {
        auto k = op == "$gt" ? PrunableTerm::Op::kGt : op == "$gte" ? PrunableTerm::Op::kGte
                 : op == "$lt" ? PrunableTerm::Op::kLt : PrunableTerm::Op::kLte;
        out_.prunable.push_back({p.dotted, k, {v}});
      }
      std::string cmp = e + sql_op + Param(v);
      if (v.is_number()) {
        // Numbers sort below every text value: bound the range so strings never match.
        if (op == "$gt" || op == "$gte") cmp += " AND " + e + " < ''";
        return "(" + cmp + ")";
      }
      return "(" + cmp + TypeIs(p, "text") + ")";
    }
    if (op == "$in" || op == "$nin") {
      if (!v.is_array() || v.empty() || v.size() > kMaxInValues) return need("a non-empty array of at most 1000 values");
      std::string list;
      bool has_null = false;
      for (const Json& x : v) {
        if (x.is_null()) {
          has_null = true;
          continue;
        }
        if (!x.is_number() && !x.is_string()) return need("an array of strings, numbers or null");
        list += list.empty() ? "" : ", ";
        list += Param(x);
      }
      if (op == "$in") {
        if (top && !has_null && p.column.empty()) out_.prunable.push_back({p.dotted, PrunableTerm::Op::kIn, v.get<std::vector<Json>>()});
        if (list.empty()) return e + " IS NULL";
        return "(" + e + " IN (" + list + ")" + (has_null ? " OR " + e + " IS NULL" : "") + ")";
      }
      if (list.empty()) return e + " IS NOT NULL";
      if (has_null) return "(" + e + " IS NOT NULL AND " + e + " NOT IN (" + list + "))";
      return "(" + e + " IS NULL OR " + e + " NOT IN (" + list + "))";
    }
    if (op == "$exists") {
      if (!v.is_boolean()) return need("true or false");
      if (!p.column.empty()) return std::string(v.get<bool>() ? "1" : "0");
      return "json_type(data, " + p.path.ToSqlLiteral() + (v.get<bool>() ? ") IS NOT NULL" : ") IS NULL");
    }
    if (op == "$like") {
      if (!v.is_string()) return need("a LIKE pattern string ('%' any run, '_' one character)");
      return "(" + e + " LIKE " + Param(v) + TypeIs(p, "text") + ")";
    }
    return InvalidArgumentError("unknown operator '" + Trunc(op) + "' on path '" + p.dotted + "' (use " + kOperators + ")");
  }

  CompiledFilter out_;
  size_t terms_ = 0;
};

}  // namespace

Result<QueryPath> ParseQueryPath(std::string_view text) {
  QueryPath p;
  DOTDO_ASSIGN_OR_RETURN(p.path, JsonPath::Parse(text));
  p.dotted = p.path.ToDotted();
  if (p.dotted == "$id") p.column = "id";
  else if (p.dotted == "$type") p.column = "type";
  else if (p.dotted == "$version") p.column = "version";
  return p;
}

std::string PathExpression(const QueryPath& p) {
  if (!p.column.empty()) return p.column;
  return "json_extract(data, " + p.path.ToSqlLiteral() + ")";
}

std::string TypeClause(std::string_view type) { return "type = '" + std::string(type) + "' AND deleted = 0"; }

Result<CompiledFilter> CompileFilter(const Json& where) {
  try {
    return Compiler().Run(where);
  } catch (const Json::exception& e) {
    return InvalidArgumentError(std::string("invalid filter: ") + e.what());
  }
}

}  // namespace dotdo::internal
