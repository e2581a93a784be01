// The JSON adapter: parsing with depth and size limits, dumping with and without UTF-8 checks, and
// the mapping of exceptions in flight to Status.
#include "core/json.h"

#include <exception>
#include <new>
#include <utility>
#include <vector>

namespace dotdo::internal {

namespace {

// Thrown by the parser callback to stop at the first container past the depth limit, so the parser
// neither builds nor scans the rest of a deep value.
struct TooDeep {};

std::string Cat(std::string_view a, std::string_view b) {
  std::string out;
  out.reserve(a.size() + b.size());
  out.append(a).append(b);
  return out;
}

std::string DeeperThan(std::string_view what, int max_depth) {
  return Cat(what, " nests deeper than " + std::to_string(max_depth) + " levels");
}

}  // namespace

Result<Json> ParseJson(std::string_view text, std::string_view what, JsonParseOptions options) {
  if (options.max_bytes != 0 && text.size() > options.max_bytes)
    return InvalidArgumentError(Cat(what, " is " + std::to_string(text.size()) + " bytes; the limit is " +
                                              std::to_string(options.max_bytes)));
  const int max_depth = options.max_depth;
  // `depth` is the number of containers already open around the event (invariant 2: the container
  // that starts here is at depth + 1).
  auto limit_depth = [max_depth](int depth, Json::parse_event_t event, Json&) {
    if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
        depth >= max_depth)
      throw TooDeep{};
    return true;
  };
  try {
    if (max_depth == kNoDepthCheck) return Json::parse(text.begin(), text.end());
    return Json::parse(text.begin(), text.end(), limit_depth, /*allow_exceptions=*/true);
  } catch (const TooDeep&) {
    return InvalidArgumentError(DeeperThan(what, max_depth));
  } catch (const Json::parse_error& e) {
    return InvalidArgumentError(Cat(what, " is not valid JSON at byte " + std::to_string(e.byte) + ": " + e.what()));
  } catch (const Json::out_of_range& e) {
    // 406: a number that overflows a double ("1e400").
    return InvalidArgumentError(Cat(what, std::string(" is not valid JSON: ") + e.what()));
  } catch (...) {
    return StatusFromCurrentException(Cat("cannot parse ", what));
  }
}

std::string DumpJson(const Json& value, int indent) {
  return value.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

Result<std::string> DumpJsonChecked(const Json& value, std::string_view what, int indent) {
  try {
    return value.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::strict);
  } catch (const Json::type_error& e) {
    return InvalidArgumentError(Cat(what, std::string(" is not valid UTF-8: ") + e.what()));
  } catch (...) {
    return StatusFromCurrentException(Cat("cannot serialize ", what));
  }
}

Status ValidateUtf8(std::string_view text, std::string_view what) {
  bool ascii = true;
  for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) return OkStatus();
  auto dumped = DumpJsonChecked(Json(std::string(text)), what);
  return dumped.ok() ? OkStatus() : dumped.status();
}

Result<std::string> SerializeStoredJson(const Json& value, std::string_view what, size_t max_bytes) {
  DOTDO_RETURN_IF_ERROR(CheckJsonDepth(value, kMaxJsonDepth, what));
  DOTDO_ASSIGN_OR_RETURN(std::string text, DumpJsonChecked(value, what));
  if (text.size() > max_bytes)
    return InvalidArgumentError(std::string(what) + " is " + std::to_string(text.size()) + " bytes serialized; the limit is " +
                                std::to_string(max_bytes));
  return text;
}

Status CheckJsonDepth(const Json& value, int max_depth, std::string_view what) {
  if (!value.is_structured()) return OkStatus();
  std::vector<std::pair<const Json*, int>> stack = {{&value, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (depth > max_depth) return InvalidArgumentError(DeeperThan(what, max_depth));
    for (const Json& child : *node)
      if (child.is_structured()) stack.emplace_back(&child, depth + 1);
  }
  return OkStatus();
}

Status StatusFromCurrentException(std::string_view context, StatusCode json_code) {
  auto message = [context](std::string_view detail) { return Cat(context, Cat(": ", detail)); };
  if (!std::current_exception()) return InternalError(message("no exception in flight"));
  try {
    throw;
  } catch (const Json::exception& e) {
    return Status(json_code == StatusCode::kOk ? StatusCode::kInvalidArgument : json_code, message(e.what()));
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError(message("out of memory"));
  } catch (const std::exception& e) {
    return InternalError(message(e.what()));
  } catch (...) {
    return InternalError(message("an exception that is not a std::exception"));
  }
}

}  // namespace dotdo::internal
