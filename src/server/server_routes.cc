// Route plumbing shared by every route family: query-parameter parsing with typed errors, the
// request JSON parser with the server's limits, the Status -> HTTP status table, the error body,
// and the list of route families.
#include <charconv>

#include "core/json.h"
#include "dotdo/clock.h"
#include "server/server_internal.h"

namespace dotdo::internal {

void InstallAllRoutes(RouteTable& table) {
  // One line per primitive; each family's routes live in routes_<family>.cc.
  InstallNamespaceRoutes(table);
  InstallDocumentRoutes(table);
  InstallGraphRoutes(table);
  InstallBlobRoutes(table);
  InstallEventRoutes(table);
  InstallStreamRoutes(table);
  InstallTimeSeriesRoutes(table);
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange: return 400;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted: return 409;
    case StatusCode::kFailedPrecondition: return 412;
    case StatusCode::kResourceExhausted: return 413;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded: return 503;
    default: return 500;
  }
}

std::string ErrorBody(std::string_view code, std::string_view message) {
  return DumpJson(Json{{"error", {{"code", code}, {"message", message}}}});
}

void AppendJsonString(std::string& out, std::string_view s) {
  const auto plain = [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x80 && c != '"' && c != '\\';
  };
  const size_t start = out.size();
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && plain(s[j])) ++j;  // runs of plain ASCII are copied at once
    out.append(s.data() + i, j - i);
    if (j == s.size()) break;
    const char c = s[j];
    if (static_cast<unsigned char>(c) >= 0x80) {  // non-ASCII: DumpJson's UTF-8 handling
      out.resize(start);
      out += DumpJson(Json(std::string(s)));
      return;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out += kHex[(c >> 4) & 0xf];
        out += kHex[c & 0xf];
      }
    }
    i = j + 1;
  }
  out += '"';
}

Result<Json> ParseRequestJson(const ServerOptions& options, std::string_view text, std::string_view what) {
  JsonParseOptions o;
  o.max_depth = options.max_json_depth;
  o.max_bytes = options.max_body_bytes;
  return ParseJson(text, what, o);
}

Result<int64_t> ParseTimeParam(const std::string& text, std::string_view what) {
  int64_t millis = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), millis);
  if (ec == std::errc() && end == text.data() + text.size()) {
    DOTDO_RETURN_IF_ERROR(ValidateTimestampMillis(millis, what));
    return millis;
  }
  auto parsed = ParseIso8601(text);
  if (!parsed.ok()) {
    return InvalidArgumentError(std::string(what) + " '" + text + "' is neither unix milliseconds nor ISO 8601 (" +
                                parsed.status().message() + ")");
  }
  return *parsed;
}

std::string ApiRequest::Param(const std::string& name, const std::string& fallback) const {
  return http.has_param(name) ? http.get_param_value(name) : fallback;
}

Result<std::optional<int64_t>> ApiRequest::OptionalIntParam(const std::string& name) const {
  if (!http.has_param(name)) return std::optional<int64_t>();
  const std::string text = http.get_param_value(name);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    return InvalidArgumentError("query parameter '" + name + "' must be an integer, got '" + text + "'");
  return std::optional<int64_t>(v);
}

Result<int64_t> ApiRequest::IntParam(const std::string& name, int64_t fallback) const {
  DOTDO_ASSIGN_OR_RETURN(auto v, OptionalIntParam(name));
  return v.value_or(fallback);
}

Result<bool> ApiRequest::BoolParam(const std::string& name, bool fallback) const {
  if (!http.has_param(name)) return fallback;
  const std::string v = http.get_param_value(name);
  if (v == "true" || v == "1" || v.empty()) return true;
  if (v == "false" || v == "0") return false;
  return InvalidArgumentError("query parameter '" + name + "' must be true or false, got '" + v + "'");
}

std::vector<std::string> ApiRequest::ListParam(const std::string& name) const {
  std::vector<std::string> out;
  for (size_t i = 0, n = http.get_param_value_count(name); i < n; ++i) {
    std::string_view v = http.get_param_value(name, i);
    while (!v.empty()) {
      const size_t comma = v.find(',');
      if (comma != 0) out.emplace_back(v.substr(0, comma));
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return out;
}

std::string ApiRequest::Capture(size_t i) const { return i < http.matches.size() ? http.matches[i].str() : ""; }

Result<Json> ApiRequest::JsonParam(const std::string& name, const Json& fallback) const {
  if (!http.has_param(name)) return fallback;
  return ParseRequestJson(server.options(), http.get_param_value(name), "query parameter '" + name + "'");
}

Result<Json> ApiRequest::BodyObject() const {
  if (body.is_null()) return Json::object();
  if (!body.is_object()) return InvalidArgumentError("the request body must be a JSON object");
  return body;
}

}  // namespace dotdo::internal
