// DocumentStore::Update: partial updates on dotted paths with $set, $unset and $inc. The whole
// operator object is validated before anything is read, so bad input changes nothing.
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/json.h"
#include "document/document_internal.h"

namespace dotdo {

using internal::JsonPath;

namespace {

struct PathOp {
  enum class Kind { kSet, kUnset, kInc };
  Kind kind;
  JsonPath path;
  Json value;
};

// True when one path equals or contains the other ("a" and "a.b").
bool Overlaps(const JsonPath& a, const JsonPath& b) {
  const auto& x = a.segments();
  const auto& y = b.segments();
  const size_t n = std::min(x.size(), y.size());
  for (size_t i = 0; i < n; ++i)
    if (x[i] != y[i]) return false;
  return true;
}

Result<std::vector<PathOp>> ParseOps(const Json& ops) {
  if (!ops.is_object() || ops.empty())
    return InvalidArgumentError("an update must be a non-empty object of operators, e.g. "
                                "{\"$set\": {\"a.b\": 1}, \"$unset\": {\"c\": true}, \"$inc\": {\"n\": 2}}");
  std::vector<PathOp> out;
  for (auto it = ops.begin(); it != ops.end(); ++it) {
    const std::string& op = it.key();
    PathOp::Kind kind;
    if (op == "$set") kind = PathOp::Kind::kSet;
    else if (op == "$unset") kind = PathOp::Kind::kUnset;
    else if (op == "$inc") kind = PathOp::Kind::kInc;
    else
      return InvalidArgumentError("unknown update operator '" + op.substr(0, 80) + "' (use $set, $unset, $inc)");
    if (!it.value().is_object() || it.value().empty())
      return InvalidArgumentError(op + " takes a non-empty object of path: value");
    for (auto f = it.value().begin(); f != it.value().end(); ++f) {
      DOTDO_ASSIGN_OR_RETURN(JsonPath path, JsonPath::Parse(f.key()));
      const auto& first = path.segments().front();
      if (const auto* k = std::get_if<std::string>(&first); k && !k->empty() && (*k)[0] == '$')
        return InvalidArgumentError(op + " cannot change '" + path.ToDotted() +
                                    "': keys starting with '$' are system fields maintained by the store");
      if (!std::holds_alternative<std::string>(first))
        return InvalidArgumentError(op + " path '" + path.ToDotted() + "' must start with a field name");
      if (kind == PathOp::Kind::kInc && !f.value().is_number())
        return InvalidArgumentError("$inc on '" + path.ToDotted() + "' takes a number, got " + internal::DumpJson(f.value()).substr(0, 80));
      for (const PathOp& prev : out)
        if (Overlaps(prev.path, path))
          return InvalidArgumentError("update paths '" + prev.path.ToDotted() + "' and '" + path.ToDotted() +
                                      "' overlap; change each part of the document once per update");
      out.push_back({kind, std::move(path), f.value()});
    }
  }
  return out;
}

Result<Json> Add(const Json& cur, const Json& by, const std::string& path) {
  // Integers stay integers (nlohmann reads non-negative ones as unsigned) unless the sum overflows.
  auto fits = [](const Json& j) {
    return j.is_number_integer() && (!j.is_number_unsigned() || j.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX));
  };
  if (fits(cur) && fits(by)) {
    int64_t r;
    if (!__builtin_add_overflow(cur.get<int64_t>(), by.get<int64_t>(), &r)) return Json(r);
  }
  double r = cur.get<double>() + by.get<double>();
  if (!std::isfinite(r)) return InvalidArgumentError("$inc on '" + path + "' overflows");
  return Json(r);
}

}  // namespace

Result<Json> DocumentStore::Update(std::string_view id, const Json& ops, DocumentUpdateOptions options) {
  DOTDO_ASSIGN_OR_RETURN(std::vector<PathOp> parsed, ParseOps(ops));
  return WriteVersion(id, options.expected_version, [&](const StoredRowView&, Json& body) -> Status {
    for (const PathOp& op : parsed) {
      switch (op.kind) {
        case PathOp::Kind::kSet:
          DOTDO_RETURN_IF_ERROR(op.path.Set(body, op.value));
          break;
        case PathOp::Kind::kUnset:
          op.path.Erase(body);
          break;
        case PathOp::Kind::kInc: {
          const Json* cur = op.path.Find(body);
          if (cur == nullptr || cur->is_null()) {
            DOTDO_RETURN_IF_ERROR(op.path.Set(body, op.value));
          } else if (!cur->is_number()) {
            return InvalidArgumentError("$inc on '" + op.path.ToDotted() + "' needs a number there, found " +
                                        std::string(cur->type_name()));
          } else {
            DOTDO_ASSIGN_OR_RETURN(Json sum, Add(*cur, op.value, op.path.ToDotted()));
            DOTDO_RETURN_IF_ERROR(op.path.Set(body, std::move(sum)));
          }
          break;
        }
      }
    }
    return OkStatus();
  });
}

}  // namespace dotdo
