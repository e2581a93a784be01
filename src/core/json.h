// The JSON adapter: the one place where nlohmann::json's exceptions become Status (after DuckDB's
// ErrorData). Parsing refuses malformed text, numbers that do not fit a double and nesting deeper
// than a limit (checked while parsing, so no deep value is ever built and nothing recurses on it);
// dumping either never fails (invalid UTF-8 shown as U+FFFD, for messages and logs) or refuses
// invalid UTF-8 with kInvalidArgument (for anything stored or sent on). Code that calls other
// throwing nlohmann operations (get<T>, at, patch, merge_patch) runs them under CatchAll, or calls
// StatusFromCurrentException in its own catch (...), so no exception leaves the public API.
//
// Invariants:
//   1. Every JSON exception maps to one code chosen by the caller: kInvalidArgument by default (the
//      JSON came from the user), kDataLoss where it was read back from storage.
//   2. Depth counts containers: a scalar or an empty top-level value is depth 0, `{}` and `[]` are
//      depth 1, `{"a":[1]}` is depth 2. ParseJson and CheckJsonDepth agree on it.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "dotdo/status.h"

namespace dotdo {
using Json = nlohmann::json;  // the same alias as include/dotdo/database.h
}  // namespace dotdo

namespace dotdo::internal {

// The documented nesting limit of documents and of everything else we parse from users.
inline constexpr int kMaxJsonDepth = 64;

inline constexpr int kNoDepthCheck = -1;

struct JsonParseOptions {
  // Containers nested deeper than this (invariant 2) are kInvalidArgument. Default 64.
  // kNoDepthCheck (-1) = no depth check, for text whose depth is bounded already (what SQLite's json() returns of a
  // stored value, limited by SQLite itself): it parses without the per-element callback, about
  // twice as fast.
  int max_depth = kMaxJsonDepth;
  // A text longer than this many bytes is kInvalidArgument before it is parsed; 0 (the default)
  // means no limit.
  size_t max_bytes = 0;
};

// Parses `text`; `what` names it in messages ("document", "type registry"). Malformed text is
// kInvalidArgument "<what> is not valid JSON at byte <n>: ..."; a number beyond a double's range
// (1e400), nesting deeper than options.max_depth and text over options.max_bytes are
// kInvalidArgument too; out of memory is kResourceExhausted.
Result<Json> ParseJson(std::string_view text, std::string_view what, JsonParseOptions options = {});

// Compact (indent < 0) or indented text. Never throws a JSON exception: invalid UTF-8 in strings
// is written as U+FFFD. For messages, logs and output that is only read by people.
// REQUIRES: value nests at most a few thousand levels (serialization recurses); values from
// ParseJson or checked with CheckJsonDepth do.
std::string DumpJson(const Json& value, int indent = -1);

// As DumpJson, but invalid UTF-8 in a string is kInvalidArgument "<what> is not valid UTF-8: ...":
// for text that is stored or sent on, where a replaced character would silently change data.
Result<std::string> DumpJsonChecked(const Json& value, std::string_view what, int indent = -1);

// OK when `text` is well-formed UTF-8 (the rule of DumpJsonChecked: no overlong forms, surrogates
// or truncated sequences); else kInvalidArgument "<what> is not valid UTF-8".
Status ValidateUtf8(std::string_view text, std::string_view what);

// kInvalidArgument "<what> nests deeper than <max_depth> levels" when value has more than
// max_depth nested containers (invariant 2). Iterative: safe on values of any depth built in code.
Status CheckJsonDepth(const Json& value, int max_depth, std::string_view what);

// The text of a JSON value a user stores (edge data, blob metadata, …): the same rules for all —
// nesting at most kMaxJsonDepth levels (checked before anything recurses on it), valid UTF-8, and
// at most max_bytes serialized. Each is kInvalidArgument naming `what`.
Result<std::string> SerializeStoredJson(const Json& value, std::string_view what, size_t max_bytes);

// The exception in flight as a Status "<context>: <what()>": a nlohmann::json exception (parse,
// type, out_of_range, invalid_iterator, other) is `json_code` (invariant 1), std::bad_alloc is
// kResourceExhausted, anything else kInternal.
// REQUIRES: called inside a catch block (otherwise kInternal "no exception in flight").
Status StatusFromCurrentException(std::string_view context, StatusCode json_code = StatusCode::kInvalidArgument);

template <typename T>
struct IsStatusOrResult : std::false_type {};
template <>
struct IsStatusOrResult<Status> : std::true_type {};
template <typename T>
struct IsStatusOrResult<Result<T>> : std::true_type {};

// Runs f (returning Status or Result<T>) and returns what it returns, or the exception it throws
// converted by StatusFromCurrentException(context, json_code).
template <typename F>
auto CatchAll(std::string_view context, F&& f, StatusCode json_code = StatusCode::kInvalidArgument)
    -> std::invoke_result_t<F&&> {
  using R = std::invoke_result_t<F&&>;
  static_assert(IsStatusOrResult<R>::value, "CatchAll runs functions that return Status or Result<T>");
  try {
    return std::forward<F>(f)();
  } catch (...) {
    return R(StatusFromCurrentException(context, json_code));
  }
}

}  // namespace dotdo::internal
