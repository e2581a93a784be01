// The filter language's semantics evaluated on a JSON document in C++: MongoDB's rules for paths
// that cross arrays, array-element matching, whole-value equality, $elemMatch, $all, $size, $type and
// $regex (docs/formats/document.md, "Filter semantics"). The filter compiler emits plain SQL where a
// field's values are scalars and calls this evaluator (through the SQL function dotdo_match) only
// for documents whose path holds an array, or for operators that only arrays can satisfy; document
// statistics enumerate a path's values with ForEachPathValue, so pruning sees what matching sees.
//
// Conditions handed to these functions were validated by CompileFilter (operators known, operand
// types checked, regexes compiled); an invalid condition evaluates to false rather than failing.
//
// Thread-safety: the functions are pure. RegisterMatchFunctions installs per-connection functions
// whose caches are used only under that connection's lock.
#pragma once

#include <functional>
#include <string_view>

#include "core/json.h"
#include "core/json_path.h"
#include "dotdo/status.h"

namespace dotdo::internal {

class Connection;

// Calls fn once per value the path reaches, MongoDB-style: a key segment applied to an array is
// applied to each element that is an object (elements that are not count as a missing value), an
// index segment applied to an array picks that element. fn(nullptr) marks a branch where the path
// is missing. Terminal arrays are passed whole (callers decide about element matching).
void ForEachPathValue(const Json& doc, const JsonPath& path, const std::function<void(const Json*)>& fn);

// True when the value at any prefix of the path (the path itself included) is an array, following
// index segments only (the condition under which the scalar SQL form may be wrong).
bool PathCrossesArray(const Json& doc, const JsonPath& path);

// Whether the document satisfies `condition` (a bare value, i.e. $eq, or an operator object) on
// the field at `path`.
bool MatchesFieldCondition(const Json& doc, const JsonPath& path, const Json& condition);

// Whether the document satisfies a filter object whose field names are all paths (no system
// columns): the element filter of $elemMatch.
bool MatchesFilter(const Json& doc, const Json& filter);

// SQL LIKE on strings: '%' any run, '_' one character (a UTF-8 code point), ASCII case-insensitive.
bool LikeMatches(std::string_view pattern, std::string_view text);

// The longest $regex pattern a filter may give.
inline constexpr size_t kMaxRegexBytes = 1024;
// kInvalidArgument unless `pattern` with `options` (a subset of "imsx") compiles with RE2.
Status ValidateRegex(std::string_view pattern, std::string_view options);
// RE2 partial match of `text`. REQUIRES: ValidateRegex(pattern, options) is OK.
bool RegexMatches(std::string_view pattern, std::string_view options, std::string_view text);

// Installs on a connection:
//   dotdo_match(doc_json, path, condition_json) -> 1 / 0: MatchesFieldCondition.
//   dotdo_regexp(pattern, options, text) -> 1 / 0 (NULL text → 0).
//   dotdo_array_on_path(doc_json, path) -> 1 / 0: PathCrossesArray (index and statistics upkeep).
// Parsed conditions and compiled regexes are cached per connection (a statement binds the same
// constants for every row).
Status RegisterMatchFunctions(Connection& conn);

}  // namespace dotdo::internal
